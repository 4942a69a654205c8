/**
 * The campaign's bookkeeping, from a timeline of samples. Pure: the same function scores the
 * three strategies and the fault-free ideal.
 *
 * A sample is what one instance looked like at one clock time: billed or not, its GPUs and price,
 * and its trainer's step. Between two samples of an instance the earlier one's state holds:
 * - paid GPU-hours: GPUs x hours while billed (rented and not stopped, outbid, gone or destroyed);
 * - steps trained: how far the same trainer process advanced;
 * - productive GPU-hours: the share of that time spent on NEW valid steps, i.e. above the highest
 *   valid step the run ever reached (re-doing steps lost since the last checkpoint is not
 *   progress, and steps trained on a NaN loss are not valid);
 * - goodput = productive / paid; steps lost = steps trained - new valid progress.
 * A run's billing is counted until it completes (no strategy here releases an instance by itself
 * at completion, so what happens after is left out for all of them alike), else until `endAt`.
 */

export interface InstanceSample {
  /** Clock ms. */
  t: number;
  instanceId: number;
  run: string;
  gpus: number;
  /** Dollars per hour while billed. */
  dph: number;
  billed: boolean;
  /** The newest trainer's pid on the instance (null: none launched, or the host is gone). */
  pid: number | null;
  /** That trainer's step. */
  step: number | null;
  /** The step that trainer started from (its checkpoint's, 0 without one). */
  resumedFrom: number | null;
  /** The part of `step` that is valid progress: `step`, or the step its loss turned NaN at. */
  validStep: number | null;
}

export interface RunTarget {
  run: string;
  /** Step the campaign starts the run from. */
  startStep: number;
  /** Step at which the run is complete. */
  targetStep: number;
}

export interface RunAccount {
  run: string;
  completed: boolean;
  /** Clock ms the run reached its target (interpolated between samples), or null. */
  completedAt: number | null;
  /** Highest valid step reached. */
  progress: number;
  stepsTrained: number;
  stepsLost: number;
  paidGpuMs: number;
  productiveGpuMs: number;
  dollars: number;
}

export interface StrategyAccount {
  runs: RunAccount[];
  completedRuns: number;
  /** Clock hours from the start until the last run completed; null while any run is incomplete. */
  wallHours: number | null;
  paidGpuHours: number;
  productiveGpuHours: number;
  /** productive / paid (0 when nothing was paid). */
  goodput: number;
  stepsLost: number;
  dollars: number;
}

const HOUR_MS = 3_600_000;

interface Interval {
  a: InstanceSample;
  b: InstanceSample;
}

/** Consecutive samples of each instance, in order of their start. */
function intervalsOf(samples: readonly InstanceSample[]): Interval[] {
  const byInstance = new Map<number, InstanceSample[]>();
  for (const s of samples) {
    const list = byInstance.get(s.instanceId) ?? [];
    list.push(s);
    byInstance.set(s.instanceId, list);
  }
  const out: Interval[] = [];
  for (const list of byInstance.values()) {
    list.sort((x, y) => x.t - y.t);
    for (let i = 1; i < list.length; i++) out.push({ a: list[i - 1]!, b: list[i]! });
  }
  return out.sort((x, y) => x.a.t - y.a.t || x.b.t - y.b.t);
}

/**
 * Steps trained between two samples: how far the same process advanced, or, for a trainer first
 * seen stepping in `b`, how far it got from the step it started from.
 */
export function stepsTrained(a: InstanceSample, b: InstanceSample): number {
  if (b.pid === null || b.step === null) return 0;
  if (a.pid === b.pid && a.step !== null) return Math.max(0, b.step - a.step);
  return b.resumedFrom === null ? 0 : Math.max(0, b.step - b.resumedFrom);
}

interface Progress {
  /** Per interval (same order): new valid steps it made. */
  fresh: number[];
  trained: number[];
  highWater: Map<string, number>;
  completedAt: Map<string, number>;
}

/** First pass: the high-water mark of valid steps per run, and when each run reached its target. */
function trackProgress(intervals: readonly Interval[], targets: readonly RunTarget[]): Progress {
  const highWater = new Map(targets.map((t) => [t.run, t.startStep]));
  const targetOf = new Map(targets.map((t) => [t.run, t.targetStep]));
  const completedAt = new Map<string, number>();
  const fresh: number[] = [];
  const trained: number[] = [];
  for (const { a, b } of intervals) {
    const done = stepsTrained(a, b);
    const before = highWater.get(b.run) ?? 0;
    // Never more new steps than this trainer actually made in the interval.
    const gained = b.validStep === null ? 0 : Math.min(done, Math.max(0, b.validStep - before));
    trained.push(done);
    fresh.push(gained);
    if (b.validStep !== null && b.validStep > before) highWater.set(b.run, b.validStep);
    const target = targetOf.get(b.run);
    const after = highWater.get(b.run) ?? 0;
    if (target !== undefined && !completedAt.has(b.run) && after >= target) {
      // Interpolated within the interval: the sample cadence should not decide the finish time.
      const need = target - before;
      const share = gained > 0 ? Math.min(1, Math.max(0, need / gained)) : 1;
      completedAt.set(b.run, a.t + (b.t - a.t) * share);
    }
  }
  return { fresh, trained, highWater, completedAt };
}

function overlap(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
}

/**
 * Scores one strategy's timeline. `startAt`/`endAt` bound the campaign in clock ms; samples of
 * runs not in `targets` are ignored.
 */
export function accountStrategy(
  samples: readonly InstanceSample[],
  targets: readonly RunTarget[],
  window: { startAt: number; endAt: number },
): StrategyAccount {
  const known = new Set(targets.map((t) => t.run));
  const intervals = intervalsOf(samples.filter((s) => known.has(s.run)));
  const progress = trackProgress(intervals, targets);
  const acc = new Map<string, RunAccount>(
    targets.map((t) => [
      t.run,
      {
        run: t.run,
        completed: progress.completedAt.has(t.run),
        completedAt: progress.completedAt.get(t.run) ?? null,
        progress: progress.highWater.get(t.run) ?? t.startStep,
        stepsTrained: 0,
        stepsLost: 0,
        paidGpuMs: 0,
        productiveGpuMs: 0,
        dollars: 0,
      },
    ]),
  );
  intervals.forEach(({ a, b }, i) => {
    const run = acc.get(a.run)!;
    const end = run.completedAt ?? window.endAt;
    const billedMs = a.billed ? overlap(a.t, b.t, window.startAt, end) : 0;
    run.paidGpuMs += billedMs * a.gpus;
    run.dollars += (billedMs * a.dph) / HOUR_MS;
    const trained = progress.trained[i] ?? 0;
    const fresh = progress.fresh[i] ?? 0;
    run.stepsTrained += trained;
    if (trained > 0 && a.billed) run.productiveGpuMs += billedMs * a.gpus * (fresh / trained);
  });
  const runs = targets.map((t) => {
    const r = acc.get(t.run)!;
    return { ...r, stepsLost: Math.max(0, r.stepsTrained - (r.progress - t.startStep)) };
  });
  const paid = runs.reduce((s, r) => s + r.paidGpuMs, 0);
  const productive = runs.reduce((s, r) => s + r.productiveGpuMs, 0);
  const allDone = runs.every((r) => r.completedAt !== null);
  const lastDone = Math.max(...runs.map((r) => r.completedAt ?? 0));
  return {
    runs,
    completedRuns: runs.filter((r) => r.completed).length,
    wallHours: allDone ? (lastDone - window.startAt) / HOUR_MS : null,
    paidGpuHours: paid / HOUR_MS,
    productiveGpuHours: productive / HOUR_MS,
    goodput: paid > 0 ? productive / paid : 0,
    stepsLost: runs.reduce((s, r) => s + r.stepsLost, 0),
    dollars: runs.reduce((s, r) => s + r.dollars, 0),
  };
}

export interface IdealRun extends RunTarget {
  gpus: number;
  dph: number;
  /** Clock ms from the rent until the trainer's first step (image start, trainer start-up). */
  startupMs: number;
  /** Training speed on its first instance, steps per clock ms. */
  stepsPerMs: number;
}

/**
 * The fault-free timeline: each run rented at `startAt` on its first instance, starting up, then
 * training straight to its target at the speed it trained at there. Scored by accountStrategy,
 * its goodput is the ceiling: 100% minus the unavoidable start-up.
 */
export function idealTimeline(runs: readonly IdealRun[], startAt: number): InstanceSample[] {
  return runs.flatMap((r, i) => {
    const instanceId = -(i + 1);
    const trainStart = startAt + r.startupMs;
    const trainEnd = trainStart + (r.targetStep - r.startStep) / r.stepsPerMs;
    const base = {
      instanceId,
      run: r.run,
      gpus: r.gpus,
      dph: r.dph,
      billed: true,
      pid: 1,
      resumedFrom: r.startStep,
    };
    return [
      { ...base, t: startAt, step: null, validStep: null },
      { ...base, t: trainStart, step: r.startStep, validStep: r.startStep },
      { ...base, t: trainEnd, step: r.targetStep, validStep: r.targetStep },
      { ...base, t: trainEnd + 1, billed: false, step: r.targetStep, validStep: r.targetStep },
    ];
  });
}

/**
 * How a run trained on its first instance before anything went wrong: start-up and speed, for
 * the ideal. `until` is the clock ms of the first fault that touched the run (or the end).
 */
export function measureFirstInstance(
  samples: readonly InstanceSample[],
  target: RunTarget,
  startAt: number,
  until: number,
): Pick<IdealRun, 'gpus' | 'dph' | 'startupMs' | 'stepsPerMs'> | null {
  const mine = samples.filter((s) => s.run === target.run).sort((a, b) => a.t - b.t);
  const first = mine[0];
  const pid = mine.find((s) => s.instanceId === first?.instanceId && s.pid !== null)?.pid;
  if (!first || pid === undefined) return null;
  const clean = mine.filter(
    (s) => s.instanceId === first.instanceId && s.t <= until && s.step !== null && s.pid === pid,
  );
  const moving = clean.filter((s) => (s.step ?? 0) > target.startStep);
  const a = moving[0];
  const b = moving.at(-1);
  if (!a || !b || b.t <= a.t || b.step === null || a.step === null || b.step <= a.step) return null;
  const stepsPerMs = (b.step - a.step) / (b.t - a.t);
  const startupMs = Math.max(0, a.t - (a.step - target.startStep) / stepsPerMs - startAt);
  return { gpus: first.gpus, dph: first.dph, startupMs, stepsPerMs };
}
