import { isPreempted, type VastInstance } from '../../infra/vast/types.js';
import type { Thresholds } from '../schema.js';
import { type LogSummary, summarizeLogTail } from './log.js';
import type {
  ErrorSignature,
  HealthStatus,
  Heartbeat,
  Observation,
  ProbeResult,
  RunHealth,
  Severity,
} from './types.js';

/**
 * classify(previous, observation, now, thresholds) -> the run's health. Pure: same inputs, same
 * answer; the monitor does all I/O and opens incidents from the status alone.
 *
 * Precedence, first match wins (each rule is tested in test/unit/health/classify.test.ts):
 *   1. paused         the team paused supervision
 *   2. preempted      the Vast record says preempted/outbid, or the instance vanished from the list
 *                     (exception: a complete run that was not probed stays complete unless its
 *                     Vast record says preempted: releasing the instance ends a finished run)
 *   3. provisioning   the instance exists but is not running yet (loading, null, rebooting...)
 *   4. unreachable    the probe failed although the instance says running (never suppressed:
 *                     one timeout right after healthy is still unreachable)
 *   5. complete       step >= target or "Training complete" in the log, and the process is not alive
 *   6. nan            the current loss is NaN/inf (even while alive), or the process died on a NaN
 *   7. oom | nccl_hang | crashed   the process is dead: by the log's signature since the last
 *                     resume (killed, disk_full, no_kernel_image and none at all are `crashed`);
 *                     nccl_hang also while alive when the watchdog fired and the step is frozen
 *   8. stalled        process alive and the step unchanged for >= stall_minutes by OUR clock
 *                     (the heartbeat thread keeps writing during a hang, so a fresh heartbeat
 *                     proves nothing)
 *   9. disk_critical  disk used >= disk_critical_pct
 *  10. unknown        the probe answered but nothing usable: no heartbeat, no step and no
 *                     signature in the log (after disk_critical: a full disk truncates files)
 *  11. disk_warning   disk used >= disk_warn_pct
 *  12. slow           tok/s below (1 - slow_fraction) x median of the last samples (>= 5 needed)
 *  13. healthy
 * Without any probe or instance (not probed, no instance on record), the status is unknown.
 */
export function classify(
  previous: RunHealth | null,
  obs: Observation,
  now: number,
  thresholds: Thresholds,
): RunHealth {
  const verdict = decide(previous, obs, now, thresholds);
  return finish(previous, obs, now, verdict);
}

export const TOKS_HISTORY_MAX = 30;
export const STEP_HISTORY_MAX = 120;
export const STEP_HISTORY_MAX_AGE_MS = 24 * 3600 * 1000;
/** The slow check needs this many earlier tok/s samples before it judges. */
export const SLOW_MIN_SAMPLES = 5;

const SEVERITY: Record<HealthStatus, Severity> = {
  healthy: 'info',
  provisioning: 'info',
  complete: 'info',
  paused: 'info',
  slow: 'warning',
  disk_warning: 'warning',
  unreachable: 'warning',
  unknown: 'warning',
  stalled: 'critical',
  crashed: 'critical',
  oom: 'critical',
  nccl_hang: 'critical',
  nan: 'critical',
  disk_critical: 'critical',
  preempted: 'critical',
};

// `unknown` means the probe told us nothing usable: opening an incident on it would page on noise.
const NOT_INCIDENTS: ReadonlySet<HealthStatus> = new Set([
  'healthy',
  'provisioning',
  'complete',
  'paused',
  'unknown',
]);

export function severityOf(status: HealthStatus): Severity {
  return SEVERITY[status];
}

/** Statuses the monitor opens incidents for. */
export function isIncidentStatus(status: HealthStatus): boolean {
  return !NOT_INCIDENTS.has(status);
}

/** What one probe measured, reduced to the numbers classify() reasons about. */
interface Snapshot {
  step: number | null;
  loss: number | null;
  lossIsNaN: boolean;
  ppl: number | null;
  tokS: number | null;
  gpuUtil: number | null;
  diskPct: number | null;
  processAlive: boolean | null;
  heartbeatAgeS: number | null;
  errorSignature: ErrorSignature | null;
  /** Earlier tok/s samples comparable with this one (same instance, same attempt). */
  tokSBaseline: number[];
}

interface Verdict {
  status: HealthStatus;
  reason: string;
  /** Present when the host was probed successfully; otherwise the previous values are carried. */
  snapshot: Snapshot | null;
}

function decide(previous: RunHealth | null, obs: Observation, now: number, t: Thresholds): Verdict {
  if (obs.paused) return { status: 'paused', reason: 'supervision paused by the team', snapshot: null };

  if (previous?.status === 'complete' && obs.probe.ok === null && !preemptedOnRecord(obs)) {
    return { status: 'complete', reason: previous.reason, snapshot: null };
  }

  const cloud = judgeInstance(obs);
  if (cloud !== null) return cloud;

  if (obs.probe.ok === false) {
    return {
      status: 'unreachable',
      reason: `probe failed (${obs.probe.kind}): ${obs.probe.error}`,
      snapshot: null,
    };
  }
  if (obs.probe.ok === null) {
    const reason = obs.instance ? 'the instance is running but was not probed' : 'no instance on record';
    return { status: 'unknown', reason, snapshot: null };
  }
  return judgeProbe(previous, obs.probe.result, obs, now, t);
}

function preemptedOnRecord(obs: Observation): boolean {
  return obs.instance != null && isPreempted(obs.instance, obs.stoppedByUs);
}

function judgeInstance(obs: Observation): Verdict | null {
  const instance = obs.instance;
  if (instance === undefined) return null;
  if (instance === null) {
    return {
      status: 'preempted',
      reason: 'the instance is gone from the Vast instance list',
      snapshot: null,
    };
  }
  if (isPreempted(instance, obs.stoppedByUs)) {
    return { status: 'preempted', reason: describePreemption(instance), snapshot: null };
  }
  if (instance.actual_status !== 'running') {
    const state = instance.actual_status ?? 'not yet reported';
    const msg = instance.status_msg ? `: ${instance.status_msg}` : '';
    return { status: 'provisioning', reason: `instance ${instance.id} is ${state}${msg}`, snapshot: null };
  }
  return null;
}

function describePreemption(instance: VastInstance): string {
  if (instance.actual_status !== 'stopped' && instance.actual_status !== null) {
    return `instance ${instance.id} is ${instance.actual_status} and will not return to running`;
  }
  return `bid instance ${instance.id} was stopped by Vast (outbid)`;
}

function judgeProbe(
  previous: RunHealth | null,
  result: ProbeResult,
  obs: Observation,
  now: number,
  t: Thresholds,
): Verdict {
  const targetSteps = obs.targetSteps;
  const log = summarizeLogTail(result.logTail);
  const heartbeat = result.heartbeat;
  const measured = takeSnapshot(result, heartbeat, log, t);
  const baseline = tokSBaseline(previous, measured.step, instanceIdOf(previous, obs));
  const snapshot: Snapshot = { ...measured, tokSBaseline: baseline };
  const verdict = (status: HealthStatus, reason: string): Verdict => ({ status, reason, snapshot });
  const { step, processAlive: alive } = snapshot;
  const signature = log.errorSignature;

  const reachedTarget = step !== null && step >= targetSteps;
  if ((reachedTarget || log.complete) && alive !== true) {
    const best = log.bestValLoss === null ? '' : `, best val loss ${log.bestValLoss}`;
    return verdict('complete', `training complete at step ${step ?? '?'}/${targetSteps}${best}`);
  }

  if (snapshot.lossIsNaN) return verdict('nan', `loss is NaN at step ${step ?? '?'}`);
  if (alive === false && signature === 'nan')
    return verdict('nan', `process died after NaN loss: ${log.errorLine}`);

  if (alive === false) {
    const dead = judgeDeadProcess(log, step, heartbeat !== null);
    if (dead !== null) return verdict(dead.status, dead.reason);
  }

  const frozen = previous !== null && step !== null && previous.step === step;
  if (alive === true && signature === 'nccl_hang' && (frozen || previous === null)) {
    return verdict('nccl_hang', `NCCL watchdog timeout and step ${step ?? '?'} frozen: ${log.errorLine}`);
  }

  const stalledForMs = stallDuration(previous, step, now);
  if (alive === true && stalledForMs !== null && stalledForMs >= t.stall_minutes * 60_000) {
    const age = snapshot.heartbeatAgeS === null ? '' : ` (heartbeat ${snapshot.heartbeatAgeS} s old)`;
    return verdict(
      'stalled',
      `step ${step} unchanged for ${Math.round(stalledForMs / 60_000)} min while the process is alive${age}`,
    );
  }

  const disk = snapshot.diskPct;
  if (disk !== null && disk >= t.disk_critical_pct) {
    return verdict('disk_critical', `disk ${disk}% used (critical at ${t.disk_critical_pct}%)`);
  }

  if (heartbeat === null && log.lastStep === null && signature === null && !log.sigterm) {
    const why = result.heartbeatError ?? 'no heartbeat';
    return verdict('unknown', `nothing usable from the host: ${why}; no step in the log`);
  }

  if (disk !== null && disk >= t.disk_warn_pct) {
    return verdict('disk_warning', `disk ${disk}% used (warning at ${t.disk_warn_pct}%)`);
  }

  const slow = judgeSlow(snapshot.tokSBaseline, snapshot.tokS, t);
  if (slow !== null) return verdict('slow', slow);

  return verdict(
    'healthy',
    `step ${step ?? '?'}/${targetSteps}${snapshot.tokS === null ? '' : `, ${snapshot.tokS} tok/s`}`,
  );
}

/** Null when there is no evidence the trainer ever ran (that is `unknown`, not `crashed`). */
function judgeDeadProcess(
  log: LogSummary,
  step: number | null,
  hasHeartbeat: boolean,
): { status: HealthStatus; reason: string } | null {
  const line = log.errorLine ?? '';
  switch (log.errorSignature) {
    case 'oom':
      return { status: 'oom', reason: `CUDA out of memory: ${line}` };
    case 'nccl_hang':
      return { status: 'nccl_hang', reason: `NCCL collective timed out: ${line}` };
    case 'killed':
      return { status: 'crashed', reason: `process was killed: ${line}` };
    case 'disk_full':
      return { status: 'crashed', reason: `no space left on device: ${line}` };
    case 'no_kernel_image':
      return { status: 'crashed', reason: `GPU not supported by this PyTorch build: ${line}` };
    case 'nan':
    case null:
      break;
  }
  if (log.sigterm) return { status: 'crashed', reason: 'process exited after SIGTERM (checkpoint saved)' };
  if (step === null && !hasHeartbeat) return null;
  return {
    status: 'crashed',
    reason: `process not running at step ${step ?? '?'}; no error signature in the log`,
  };
}

/** How long the step has been unchanged by our clock, or null when it just changed / is unknown. */
function stallDuration(previous: RunHealth | null, step: number | null, now: number): number | null {
  if (previous === null || step === null || previous.step !== step) return null;
  const since = previous.stepChangedAt ?? previous.observedAt;
  return now - since;
}

function judgeSlow(history: readonly number[], tokS: number | null, t: Thresholds): string | null {
  if (tokS === null || history.length < SLOW_MIN_SAMPLES) return null;
  const baseline = median(history);
  const floor = (1 - t.slow_fraction) * baseline;
  if (tokS >= floor) return null;
  return `${tokS} tok/s is below ${Math.round(floor)} (${Math.round((1 - t.slow_fraction) * 100)}% of the recent median ${Math.round(baseline)})`;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[mid]!;
  return (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The heartbeat and the log both carry the step. The heartbeat is preferred while it is current
 * (younger than heartbeat_stale_minutes on the host's clock): switching sources from sweep to
 * sweep would make the step jitter backwards by up to the 10-step log interval. A stale heartbeat
 * (its thread died, or it is the previous process's file) yields to the log.
 */
function takeSnapshot(
  result: ProbeResult,
  heartbeat: Heartbeat | null,
  log: LogSummary,
  t: Thresholds,
): Omit<Snapshot, 'tokSBaseline'> {
  const heartbeatAgeS = ageOnHostClock(result.hostTime, heartbeat);
  const fromLog = log.lastStep !== null && !heartbeatIsCurrent(heartbeat, heartbeatAgeS, result.logMtime, t);
  const step = fromLog ? log.lastStep : (heartbeat?.step ?? null);
  const hbLossIsNaN = !fromLog && heartbeat !== null && heartbeatLossIsNaN(heartbeat);
  // A NaN step line at or after the current step is current too, whichever source gave the step.
  const logLossIsNaN = log.lossIsNaN && (log.lastStep ?? -1) >= (step ?? 0);
  const lossIsNaN = hbLossIsNaN || logLossIsNaN;
  return {
    step,
    loss: lossIsNaN ? null : fromLog ? log.lastLoss : finiteOrNull(heartbeat?.loss),
    lossIsNaN,
    ppl: finiteOrNull(heartbeat?.ppl),
    tokS: positiveOrNull(heartbeat?.tok_s) ?? positiveOrNull(log.lastTokS),
    gpuUtil: finiteOrNull(heartbeat?.gpu_util) ?? meanGpuUtil(result),
    diskPct: result.disk?.usedPct ?? finiteOrNull(heartbeat?.disk_pct),
    processAlive: judgeAlive(result.processAlive, heartbeatAgeS, t),
    heartbeatAgeS,
    errorSignature: log.errorSignature,
  };
}

function heartbeatIsCurrent(
  heartbeat: Heartbeat | null,
  ageS: number | null,
  logMtime: number | null,
  t: Thresholds,
): heartbeat is Heartbeat {
  if (heartbeat === null) return false;
  const staleS = t.heartbeat_stale_minutes * 60;
  if (ageS !== null) return ageS <= staleS;
  // Without the host's time, compare with the log's mtime (also the host's clock).
  return logMtime === null || logMtime <= heartbeat.ts + staleS;
}

/** Host time minus heartbeat time, both on the host's clock: our clock may be hours off. */
function ageOnHostClock(hostTime: number | null, heartbeat: Heartbeat | null): number | null {
  if (hostTime === null || heartbeat === null) return null;
  return Math.max(0, Math.round(hostTime - heartbeat.ts));
}

/**
 * When the process check itself failed, the heartbeat thread (which lives in the trainer) is the
 * next best witness: fresher than heartbeat_stale_minutes means alive, older means dead.
 */
function judgeAlive(
  processAlive: boolean | null,
  heartbeatAgeS: number | null,
  t: Thresholds,
): boolean | null {
  if (processAlive !== null) return processAlive;
  if (heartbeatAgeS === null) return null;
  return heartbeatAgeS <= t.heartbeat_stale_minutes * 60;
}

function heartbeatLossIsNaN(heartbeat: Heartbeat): boolean {
  return heartbeat.lossIsNaN === true || (heartbeat.loss !== null && !Number.isFinite(heartbeat.loss));
}

function finiteOrNull(value: number | null | undefined): number | null {
  return value !== null && value !== undefined && Number.isFinite(value) ? value : null;
}

function positiveOrNull(value: number | null | undefined): number | null {
  const v = finiteOrNull(value);
  return v !== null && v > 0 ? v : null;
}

function meanGpuUtil(result: ProbeResult): number | null {
  if (result.gpus.length === 0) return null;
  return result.gpus.reduce((sum, g) => sum + g.utilPct, 0) / result.gpus.length;
}

/**
 * Builds the carried state. Without a fresh measurement the last known step, loss and histories
 * are kept (status.json shows the last known step, and a stall spanning a brief outage is still
 * measured from when the step really last changed); live-only facts become null.
 */
function finish(previous: RunHealth | null, obs: Observation, now: number, verdict: Verdict): RunHealth {
  const { status, reason, snapshot } = verdict;
  const instanceId = instanceIdOf(previous, obs);
  const base = {
    run: obs.run,
    status,
    severity: severityOf(status),
    reason,
    since: previous !== null && previous.status === status ? previous.since : now,
    observedAt: obs.at,
    instanceId,
  };
  if (snapshot === null) {
    return {
      ...base,
      step: previous?.step ?? null,
      stepChangedAt: previous?.stepChangedAt ?? null,
      loss: previous?.loss ?? null,
      lossIsNaN: previous?.lossIsNaN ?? false,
      ppl: previous?.ppl ?? null,
      tokS: previous?.tokS ?? null,
      gpuUtil: null,
      diskPct: previous?.diskPct ?? null,
      processAlive: null,
      heartbeatAgeS: null,
      errorSignature: previous?.errorSignature ?? null,
      tokSHistory: previous?.tokSHistory ?? [],
      stepHistory: previous?.stepHistory ?? [],
    };
  }
  const stepChanged = previous === null || previous.step !== snapshot.step;
  return {
    ...base,
    step: snapshot.step,
    stepChangedAt: stepChanged
      ? snapshot.step === null
        ? null
        : obs.at
      : (previous.stepChangedAt ?? obs.at),
    loss: snapshot.loss,
    lossIsNaN: snapshot.lossIsNaN,
    ppl: snapshot.ppl,
    tokS: snapshot.tokS,
    gpuUtil: snapshot.gpuUtil,
    diskPct: snapshot.diskPct,
    processAlive: snapshot.processAlive,
    heartbeatAgeS: snapshot.heartbeatAgeS,
    errorSignature: snapshot.errorSignature,
    tokSHistory: nextTokSHistory(snapshot),
    stepHistory: nextStepHistory(previous, snapshot.step, obs.at),
  };
}

function instanceIdOf(previous: RunHealth | null, obs: Observation): number | null {
  return obs.instance?.id ?? previous?.instanceId ?? null;
}

/**
 * A new instance (another GPU) or a resume (the step went back) starts a new tok/s baseline:
 * comparing a 3090's rate with an A100's would call a healthy run slow.
 */
function tokSBaseline(previous: RunHealth | null, step: number | null, instanceId: number | null): number[] {
  if (previous === null) return [];
  const movedHost = previous.instanceId != null && instanceId !== null && previous.instanceId !== instanceId;
  const wentBack = previous.step !== null && step !== null && step < previous.step;
  return movedHost || wentBack ? [] : previous.tokSHistory;
}

function nextTokSHistory(snapshot: Snapshot): number[] {
  const kept = snapshot.tokSBaseline;
  if (snapshot.tokS === null || snapshot.processAlive === false) return kept.slice(-TOKS_HISTORY_MAX);
  return [...kept, snapshot.tokS].slice(-TOKS_HISTORY_MAX);
}

/** One pass and one new array: this runs for every run on every sweep. */
function nextStepHistory(previous: RunHealth | null, step: number | null, at: number): [number, number][] {
  const history = previous?.stepHistory ?? [];
  const oldest = at - STEP_HISTORY_MAX_AGE_MS;
  const kept: [number, number][] = [];
  for (const sample of history) if (sample[0] > oldest && sample[0] < at) kept.push(sample);
  if (step !== null) kept.push([at, step]);
  return kept.length > STEP_HISTORY_MAX ? kept.slice(-STEP_HISTORY_MAX) : kept;
}
