import { summarizeLogTail } from '../../src/fleet/health/log.js';
import type { ErrorSignature, ProbeResult } from '../../src/fleet/health/types.js';

/**
 * What a probe says about the trainer we just launched. Pure. Only evidence written after the
 * launch counts: the heartbeat file and the log of the previous attempt stay on disk, so a
 * heartbeat (or log) is "fresh" only when its host-clock time is after the launch's host time. The launch truncates the log, so a fresh log holds only the new attempt.
 */
export interface TrainerSample {
  alive: boolean | null;
  /** Newest step of the new attempt (fresh heartbeat or fresh log), null when none yet. */
  step: number | null;
  /** Step of the new attempt's RESUMED line, when the fresh log has one. */
  resumedStep: number | null;
  errorSignature: ErrorSignature | null;
  complete: boolean;
}

function maxOrNull(values: readonly (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return known.length === 0 ? null : Math.max(...known);
}

export function sampleTrainer(probe: ProbeResult, sinceHostTime: number | null): TrainerSample {
  // Strictly after: the killed trainer may have written its last heartbeat in the very second
  // the launch's host time was read, and that file must not pass for the new attempt.
  const fresh = (ts: number | null | undefined) =>
    ts !== null && ts !== undefined && (sinceHostTime === null || ts > sinceHostTime);
  const heartbeatStep = probe.heartbeat && fresh(probe.heartbeat.ts) ? probe.heartbeat.step : null;
  const log = fresh(probe.logMtime) ? summarizeLogTail(probe.logTail) : null;
  return {
    alive: probe.processAlive,
    step: maxOrNull([heartbeatStep, log?.lastStep ?? null]),
    resumedStep: log?.resumedAt ?? null,
    errorSignature: log?.errorSignature ?? null,
    complete: log?.complete ?? false,
  };
}

/** The step the new attempt started from: its RESUMED line, else the first fresh step we saw. */
export function baselineStep(samples: readonly TrainerSample[]): number | null {
  for (const s of samples) if (s.resumedStep !== null) return s.resumedStep;
  for (const s of samples) if (s.step !== null) return s.step;
  return null;
}

export type VerifyVerdict =
  | { kind: 'advancing'; resumedStep: number; step: number }
  | { kind: 'died'; signature: ErrorSignature | null }
  | { kind: 'waiting' };

/** Two dead samples in a row: one could be the instant between launch and the process showing up. */
const DEAD_SAMPLES = 2;

/**
 * Verified training means the process is alive and the step moved PAST the step it resumed from
 * (rule 7's definition, the one checkDestroyAllowed applies).
 */
export function verifyVerdict(samples: readonly TrainerSample[]): VerifyVerdict {
  const last = samples[samples.length - 1];
  if (!last) return { kind: 'waiting' };
  const tail = samples.slice(-DEAD_SAMPLES);
  if (tail.length === DEAD_SAMPLES && tail.every((s) => s.alive === false)) {
    return { kind: 'died', signature: last.errorSignature };
  }
  const base = baselineStep(samples);
  if (last.alive === true && base !== null && last.step !== null && last.step > base) {
    return { kind: 'advancing', resumedStep: base, step: last.step };
  }
  return { kind: 'waiting' };
}

/** Whether a trainer already running (not launched by us just now) is making progress. */
export function isAdvancing(first: ProbeResult, second: ProbeResult): boolean {
  const a = first.heartbeat?.step ?? summarizeLogTail(first.logTail).lastStep;
  const b = second.heartbeat?.step ?? summarizeLogTail(second.logTail).lastStep;
  return second.processAlive === true && a !== null && b !== null && b > a;
}
