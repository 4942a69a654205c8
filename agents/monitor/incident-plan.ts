import { isIncidentStatus } from '../../src/fleet/health/classify.js';
import type { HealthStatus, RunHealth, Severity } from '../../src/fleet/health/types.js';
import type { Incident, JournalType } from '../../src/state/types.js';

/**
 * What one sweep's classification means for a run's incidents: which one to open (or count again)
 * and which to resolve. Pure, so the rules that decide who gets woken at 3 a.m. are unit-tested.
 */

/** Statuses that prove the run is fine again, so its open incidents resolve. */
const RESOLVING_STATUSES: ReadonlySet<HealthStatus> = new Set(['healthy', 'complete', 'paused']);

export const JOURNAL_TYPE_BY_STATUS: Partial<Record<HealthStatus, JournalType>> = {
  slow: 'SLOW',
  stalled: 'STALL',
  crashed: 'CRASH',
  oom: 'OOM',
  nccl_hang: 'NCCL_HANG',
  nan: 'NAN',
  disk_warning: 'DISK_WARNING',
  disk_critical: 'DISK_CRITICAL',
  unreachable: 'UNREACHABLE',
  preempted: 'OUTBID',
};

export interface IncidentPlan {
  open: { kind: HealthStatus; severity: Severity; message: string } | null;
  resolve: Incident[];
}

export function planIncidents(health: RunHealth, openForRun: readonly Incident[]): IncidentPlan {
  // `unknown` and `provisioning` say nothing either way: never open, never resolve on them.
  if (isIncidentStatus(health.status)) {
    return {
      open: { kind: health.status, severity: health.severity, message: health.reason },
      // A run that went from stalled to crashed has one problem now, not two.
      resolve: openForRun.filter((i) => i.kind !== health.status && i.kind !== 'host_key_changed'),
    };
  }
  if (RESOLVING_STATUSES.has(health.status)) {
    return { open: null, resolve: openForRun.filter((i) => i.kind !== 'host_key_changed') };
  }
  return { open: null, resolve: [] };
}

/** A preempted run whose host is gone for good is INSTANCE_DOWN; an outbid one is OUTBID. */
export function journalTypeFor(kind: HealthStatus, reason: string): JournalType {
  if (kind === 'preempted' && /gone|offline|exited|unknown|vanished|missing/i.test(reason))
    return 'INSTANCE_DOWN';
  return JOURNAL_TYPE_BY_STATUS[kind] ?? 'DECISION';
}
