import { describe, expect, it } from 'vitest';
import { journalTypeFor, planIncidents } from '../../../agents/monitor/incident-plan.js';
import type { HealthStatus, RunHealth } from '../../../src/fleet/health/types.js';
import type { Incident } from '../../../src/state/types.js';

function health(status: HealthStatus): RunHealth {
  return {
    run: 'mosaic_moe',
    status,
    severity: 'critical',
    reason: `${status} reason`,
    since: 0,
    observedAt: 0,
    step: 100,
    stepChangedAt: 0,
    loss: 3,
    ppl: 20,
    tokS: 1000,
    gpuUtil: 90,
    diskPct: 40,
    processAlive: true,
    heartbeatAgeS: 10,
    tokSHistory: [],
    stepHistory: [],
  };
}

function incident(kind: Incident['kind']): Incident {
  return {
    id: `i-${kind}`,
    run: 'mosaic_moe',
    kind,
    severity: 'critical',
    message: '',
    firstSeen: 0,
    lastSeen: 0,
    count: 1,
    state: 'open',
  };
}

describe('planIncidents', () => {
  it('opens an incident for every problem status', () => {
    for (const s of [
      'stalled',
      'crashed',
      'oom',
      'nccl_hang',
      'nan',
      'disk_warning',
      'disk_critical',
      'unreachable',
      'preempted',
      'slow',
    ] as const) {
      expect(planIncidents(health(s), []).open?.kind).toBe(s);
    }
  });

  it('never opens nor resolves on unknown or provisioning (no false incidents)', () => {
    const open = [incident('crashed')];
    for (const s of ['unknown', 'provisioning'] as const) {
      expect(planIncidents(health(s), open)).toEqual({ open: null, resolve: [] });
    }
  });

  it('resolves open incidents when the run is healthy, complete or paused', () => {
    const open = [incident('crashed'), incident('disk_warning')];
    for (const s of ['healthy', 'complete', 'paused'] as const) {
      expect(planIncidents(health(s), open).resolve.map((i) => i.kind)).toEqual(['crashed', 'disk_warning']);
    }
  });

  it('replaces a different open problem and keeps the same one open', () => {
    const plan = planIncidents(health('crashed'), [incident('stalled'), incident('crashed')]);
    expect(plan.open?.kind).toBe('crashed');
    expect(plan.resolve.map((i) => i.kind)).toEqual(['stalled']);
  });

  it('leaves a host key incident for a human', () => {
    expect(planIncidents(health('healthy'), [incident('host_key_changed')]).resolve).toEqual([]);
  });
});

describe('journalTypeFor', () => {
  it('maps statuses to the journal types of the legacy journal', () => {
    expect(journalTypeFor('crashed', '')).toBe('CRASH');
    expect(journalTypeFor('stalled', '')).toBe('STALL');
    expect(journalTypeFor('disk_critical', '')).toBe('DISK_CRITICAL');
    expect(journalTypeFor('preempted', 'bid instance stopped by the market (outbid)')).toBe('OUTBID');
    expect(journalTypeFor('preempted', 'instance is offline: host gone')).toBe('INSTANCE_DOWN');
  });
});
