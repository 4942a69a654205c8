/**
 * Steps/hour, ETA and cost from the (our clock ms, step) history that classify() carries.
 *
 * The rate comes from observed step counts over a trailing window, never from the log's tok/s,
 * which is a cumulative average since the process started. Restarts and migrations break the
 * history: a resume from an earlier checkpoint makes the step drop, and a migration leaves a gap
 * with no samples. Taking (last - first) / elapsed across those would make the ETA jump, so the
 * history is cut into segments at each drop and each gap, and the rate is the total progress of
 * the productive segments over their total duration.
 */

export interface ProgressOptions {
  /** Only samples this recent (relative to the newest) count. Default 6 h. */
  windowMs?: number;
  /** A silence longer than this between two samples is a discontinuity. Default 15 min. */
  gapMs?: number;
  /** Less productive time than this gives no rate (too noisy). Default 2 min. */
  minSpanMs?: number;
}

export interface Progress {
  /** Step of the newest sample. */
  currentStep: number | null;
  stepsPerHour: number | null;
  /** 0 when the target is reached; null when there is no rate (or the rate is zero). */
  etaHours: number | null;
  /** 0-100, or null without any sample. */
  pctComplete: number | null;
  remainingSteps: number | null;
  /** etaHours x cost per hour at the current price. */
  remainingCostUsd: number | null;
  /** Productive segments the rate was taken from. */
  segments: number;
}

const DEFAULTS = { windowMs: 6 * 3600_000, gapMs: 15 * 60_000, minSpanMs: 2 * 60_000 } as const;

/**
 * A silence is a gap only when it is also this many times the usual spacing of the samples: a
 * history sampled hourly (a slow sweep interval, an imported history) is not all gaps.
 */
const GAP_SPACINGS = 5;

export function progress(
  history: readonly (readonly [number, number])[],
  targetSteps: number,
  costPerHr: number,
  opts: ProgressOptions = {},
): Progress {
  const windowMs = opts.windowMs ?? DEFAULTS.windowMs;
  const gapMs = opts.gapMs ?? DEFAULTS.gapMs;
  const minSpanMs = opts.minSpanMs ?? DEFAULTS.minSpanMs;

  const samples = cleanSamples(history);
  const newest = samples.at(-1);
  if (newest === undefined) {
    return {
      currentStep: null,
      stepsPerHour: null,
      etaHours: null,
      pctComplete: null,
      remainingSteps: null,
      remainingCostUsd: null,
      segments: 0,
    };
  }

  const [newestMs, currentStep] = newest;
  const recent = samples.filter(([ms]) => ms >= newestMs - windowMs);
  const productive = splitSegments(recent, Math.max(gapMs, GAP_SPACINGS * medianSpacing(recent))).filter(
    (s) => segmentSteps(s) > 0,
  );
  const spanMs = productive.reduce((sum, s) => sum + segmentMs(s), 0);
  const steps = productive.reduce((sum, s) => sum + segmentSteps(s), 0);
  const stepsPerHour = spanMs >= minSpanMs && spanMs > 0 ? (steps / spanMs) * 3600_000 : null;

  const remainingSteps = Math.max(0, targetSteps - currentStep);
  const etaHours = remainingSteps === 0 ? 0 : stepsPerHour ? remainingSteps / stepsPerHour : null;
  return {
    currentStep,
    stepsPerHour,
    etaHours,
    pctComplete: targetSteps > 0 ? clamp((currentStep / targetSteps) * 100, 0, 100) : null,
    remainingSteps,
    remainingCostUsd: etaHours === null ? null : etaHours * costPerHr,
    segments: productive.length,
  };
}

/** What the run has cost: money already booked for earlier instances plus the current one. */
export function costSoFar(accruedUsd: number, costPerHr: number, hoursOnCurrent: number): number {
  return accruedUsd + Math.max(0, hoursOnCurrent) * costPerHr;
}

/** Cost so far plus the remaining hours at the current price; null without an ETA. */
export function projectedTotalCost(
  accruedUsd: number,
  costPerHr: number,
  hoursOnCurrent: number,
  etaHours: number | null,
): number | null {
  if (etaHours === null) return null;
  return costSoFar(accruedUsd, costPerHr, hoursOnCurrent) + etaHours * costPerHr;
}

type Sample = readonly [number, number];

function cleanSamples(history: readonly Sample[]): Sample[] {
  return history
    .filter(([ms, step]) => Number.isFinite(ms) && Number.isFinite(step) && step >= 0)
    .sort((a, b) => a[0] - b[0]);
}

/** A new segment starts where the step drops (resume from an earlier checkpoint) or after a gap. */
function splitSegments(samples: readonly Sample[], gapMs: number): Sample[][] {
  const segments: Sample[][] = [];
  let current: Sample[] = [];
  for (const sample of samples) {
    const last = current.at(-1);
    if (last !== undefined && (sample[1] < last[1] || sample[0] - last[0] > gapMs)) {
      segments.push(current);
      current = [];
    }
    current.push(sample);
  }
  if (current.length > 0) segments.push(current);
  return segments;
}

function medianSpacing(samples: readonly Sample[]): number {
  const spacings = samples
    .slice(1)
    .map((s, i) => s[0] - (samples[i]?.[0] ?? s[0]))
    .sort((a, b) => a - b);
  return spacings[Math.floor(spacings.length / 2)] ?? 0;
}

function segmentSteps(segment: readonly Sample[]): number {
  return segment.length < 2 ? 0 : segment.at(-1)![1] - segment[0]![1];
}

function segmentMs(segment: readonly Sample[]): number {
  return segment.length < 2 ? 0 : segment.at(-1)![0] - segment[0]![0];
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
