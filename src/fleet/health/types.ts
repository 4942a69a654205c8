import type { VastInstance } from '../../infra/vast/types.js';

/** The health statuses of a run, in DESIGN.md's words. `unknown` = we could not tell. */
export const HEALTH_STATUSES = [
  'healthy',
  'slow',
  'stalled',
  'crashed',
  'oom',
  'nccl_hang',
  'nan',
  'disk_warning',
  'disk_critical',
  'unreachable',
  'preempted',
  'provisioning',
  'complete',
  'paused',
  'unknown',
] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

export type Severity = 'info' | 'warning' | 'critical';

/** Failure signatures found in the training log (DESIGN.md "Error signatures worth classifying"). */
export const ERROR_SIGNATURES = [
  'oom',
  'nccl_hang',
  'killed',
  'disk_full',
  'nan',
  'no_kernel_image',
] as const;
export type ErrorSignature = (typeof ERROR_SIGNATURES)[number];

/** heartbeat.json as written by the trainer (every 30 s; keeps writing during a hang). */
export interface Heartbeat {
  step: number;
  loss: number | null;
  ppl: number | null;
  tok_s: number | null;
  gpu_util: number | null;
  disk_pct: number | null;
  /** Epoch seconds on the host's clock. */
  ts: number;
  pid: number | null;
  max_steps: number | null;
  model: string | null;
  /**
   * True when the trainer wrote the loss as a bare NaN/Infinity/-Infinity token. Numeric fields
   * that held such a token are null (so the heartbeat stays JSON-safe in Redis and status.json);
   * this flag is how a NaN loss stays detectable. Optional so hand-built heartbeats may omit it.
   */
  lossIsNaN?: boolean | undefined;
}

export interface GpuSample {
  index: number;
  utilPct: number;
  memUsedMb: number;
  memTotalMb: number;
  tempC: number;
}

export interface CheckpointFile {
  name: string;
  bytes: number;
  /** Step number for `step_<N>.pt`, else null. */
  step: number | null;
}

/** Everything one probe of a host returned. Each part may be missing when its command failed. */
export interface ProbeResult {
  /** Host clock, epoch seconds (`date +%s`). */
  hostTime: number | null;
  heartbeat: Heartbeat | null;
  /** Why the heartbeat could not be read or parsed, when it could not. */
  heartbeatError: string | null;
  processAlive: boolean | null;
  gpus: GpuSample[];
  disk: { usedPct: number; availBytes: number; totalBytes: number } | null;
  checkpoints: CheckpointFile[];
  logTail: string[];
  /** Epoch seconds on the host's clock. */
  logMtime: number | null;
  /** Exit code of each part of the probe, by part name. */
  exitCodes: Record<string, number>;
}

export type ProbeFailureKind = 'timeout' | 'refused' | 'auth' | 'host_key' | 'dropped' | 'other';

export type ProbeOutcome =
  | { ok: true; result: ProbeResult }
  | { ok: false; kind: ProbeFailureKind; error: string }
  /** Not probed (no instance, or the instance is not running). */
  | { ok: null };

/** One observation of one run, as assembled by the monitor for classify(). */
export interface Observation {
  run: string;
  /** Our clock, epoch ms. */
  at: number;
  /** The run's Vast instance if it has one: null when it has one on record but the list lacks it. */
  instance: VastInstance | null | undefined;
  probe: ProbeOutcome;
  targetSteps: number;
  /** The team paused supervision of this run. */
  paused: boolean;
  /** The conductor itself stopped the instance (so a stopped bid is not an outbid). */
  stoppedByUs: boolean;
}

/** The latest health of a run, carried from sweep to sweep. */
export interface RunHealth {
  run: string;
  status: HealthStatus;
  severity: Severity;
  /** Human-readable reason for the status. */
  reason: string;
  /** Our clock, epoch ms, when the status began. */
  since: number;
  /** Our clock, epoch ms, of this observation. */
  observedAt: number;
  step: number | null;
  /** Our clock, epoch ms, when the step last changed. */
  stepChangedAt: number | null;
  loss: number | null;
  ppl: number | null;
  tokS: number | null;
  gpuUtil: number | null;
  diskPct: number | null;
  processAlive: boolean | null;
  heartbeatAgeS: number | null;
  /** Recent tok/s samples (newest last) for the slow check. */
  tokSHistory: number[];
  /** Recent (our clock ms, step) samples (newest last) for steps/hour and ETA. */
  stepHistory: [number, number][];
  /** The loss is NaN or infinite (loss itself is then null). Set by classify(). */
  lossIsNaN?: boolean | undefined;
  /** The last failure signature in the log since the last resume, if any. Set by classify(). */
  errorSignature?: ErrorSignature | null | undefined;
  /** Vast instance id seen at this observation; a change resets the tok/s baseline. Set by classify(). */
  instanceId?: number | null | undefined;
}
