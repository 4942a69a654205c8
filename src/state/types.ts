import type { HealthStatus, Severity } from '../fleet/health/types.js';

export const JOURNAL_TYPES = [
  'CRASH',
  'STALL',
  'SLOW',
  'OOM',
  'NCCL_HANG',
  'NAN',
  'DISK_WARNING',
  'DISK_CRITICAL',
  'UNREACHABLE',
  'AUTO_CLEANUP',
  'AUTO_RESTART',
  'RESTART_FAILED',
  'INSTANCE_DOWN',
  'OUTBID',
  'REPLACE',
  'ESCALATION',
  'FIX',
  'RESOLVED',
  'DECISION',
  'POLICY_REFUSED',
  'HOST_KEY_CHANGED',
  'COMPLETE',
  'APPROVED',
  'provision',
  'destroy',
  'start',
  'stop',
  'pause',
  'resume',
] as const;
export type JournalType = (typeof JOURNAL_TYPES)[number];

/** One journal line, exactly the shape of journal.jsonl. */
export interface JournalEntry {
  /** ISO-8601 UTC. */
  timestamp: string;
  type: JournalType;
  model: string;
  message: string;
  details?: Record<string, unknown>;
}

export interface Incident {
  id: string;
  run: string;
  kind: HealthStatus | 'host_key_changed';
  severity: Severity;
  message: string;
  /** Epoch ms (service clock). */
  firstSeen: number;
  lastSeen: number;
  /** Sweeps that observed it while open. */
  count: number;
  state: 'open' | 'resolved';
  resolvedAt?: number;
  ackedBy?: string;
  ackedAt?: number;
  escalated?: boolean;
  /** Slack message of its alert, once posted. */
  slack?: { channel: string; ts: string };
  lastPagedAt?: number;
}

export type ActionKind =
  | 'restart'
  | 'clean_disk'
  | 'collect_logs'
  | 'stop'
  | 'migrate'
  | 'destroy'
  | 'finish';

export interface Proposal {
  id: string;
  run: string;
  action: ActionKind;
  reason: string;
  /** Action-specific parameters (e.g. the chosen offer id), validated by the consumer. */
  params: Record<string, unknown>;
  createdAt: number;
  expiresAt: number;
  createdBy: string;
  incidentId?: string;
}

/** What the store remembers of a run between sweeps. */
export interface RunState {
  run: string;
  instanceId: number | null;
  /** For static hosts and after provisioning: where to SSH. */
  sshHost: string | null;
  sshPort: number | null;
  gpuName: string | null;
  numGpus: number | null;
  costPerHr: number;
  /** Epoch ms when the current instance started (our clock). */
  startedAt: number | null;
  /** Dollars paid on instances already gone. */
  costAccrued: number;
  paused: boolean;
  stoppedByUs: boolean;
  complete: boolean;
}

/** A journal entry as read back from the stream, with its stream id (ordering and export cursor). */
export interface JournalRecord {
  id: string;
  entry: JournalEntry;
}

/** One row of status.json's `instances`, exactly DESIGN.md's shape and key order. */
export interface StatusInstance {
  instance_id: number | null;
  /** The run name (the training project calls runs "models"). */
  model: string;
  status: HealthStatus;
  step: number | null;
  max_steps: number;
  loss: number | null;
  ppl: number | null;
  tok_s: number | null;
  gpu_util: number | null;
  disk_pct: number | null;
  process_alive: boolean | null;
  heartbeat_age_s: number | null;
  cost_per_hr: number;
  uptime_hrs: number;
  cost_total: number;
  eta_hrs: number | null;
  pct_complete: number | null;
}

/**
 * status.json. `updated` is the snapshot time as ISO-8601 UTC (for people), `timestamp` the same
 * instant in epoch seconds (for scripts comparing ages).
 */
export interface StatusSnapshot {
  updated: string;
  timestamp: number;
  instances: StatusInstance[];
  total_cost_hr: number;
}
