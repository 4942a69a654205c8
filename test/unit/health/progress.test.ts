import { describe, expect, it } from 'vitest';
import { costSoFar, progress, projectedTotalCost } from '../../../src/fleet/health/progress.js';

const T0 = Date.UTC(2026, 0, 1, 12);
const MIN = 60_000;
const TARGET = 50_000;

/** One sample per minute from `startMin` for `minutes`, at `perHour` steps/hour from `fromStep`. */
function samples(startMin: number, minutes: number, fromStep: number, perHour: number): [number, number][] {
  return Array.from({ length: minutes + 1 }, (_, i) => [
    T0 + (startMin + i) * MIN,
    Math.round(fromStep + (perHour * i) / 60),
  ]);
}

/** What a naive (last - first) / elapsed would say: the thing that must NOT be used. */
function naiveRate(history: [number, number][]): number {
  const [t1, s1] = history[0]!;
  const [t2, s2] = history.at(-1)!;
  return ((s2 - s1) / (t2 - t1)) * 3600_000;
}

describe('progress', () => {
  it('computes steps/hour, ETA, % complete and remaining cost from a steady history', () => {
    const p = progress(samples(0, 120, 10_000, 1200), TARGET, 0.5);
    expect(p.currentStep).toBe(12_400);
    expect(p.stepsPerHour).toBeCloseTo(1200, 6);
    expect(p.etaHours).toBeCloseTo((TARGET - 12_400) / 1200, 6);
    expect(p.pctComplete).toBeCloseTo(24.8, 6);
    expect(p.remainingSteps).toBe(TARGET - 12_400);
    expect(p.remainingCostUsd).toBeCloseTo(p.etaHours! * 0.5, 6);
    expect(p.segments).toBe(1);
  });

  it('only uses the trailing window', () => {
    // Two hours at 600/h, then one hour at 1800/h: the last hour is what the run does now.
    const history = [...samples(0, 120, 0, 600), ...samples(121, 59, 1210, 1800)];
    const p = progress(history, TARGET, 1, { windowMs: 55 * MIN });
    expect(p.stepsPerHour).toBeCloseTo(1800, -1);
  });

  it('keeps the rate across a resume from an earlier checkpoint (step drops)', () => {
    // 1 h to step 11,000, crash, resume from step_10000.pt, 1 h back to 11,000.
    const history = [...samples(0, 60, 10_000, 1000), ...samples(62, 60, 10_000, 1000)];
    expect(naiveRate(history)).toBeLessThan(500);
    const p = progress(history, TARGET, 0.4);
    expect(p.stepsPerHour).toBeCloseTo(1000, 0);
    expect(p.etaHours).toBeCloseTo(39, 1);
    expect(p.segments).toBe(2);
  });

  it('keeps the ETA steady across a migration gap', () => {
    // 1 h at 1000/h to 11,000; a 2 h migration with no samples; resume from 10,500 and run 30 min.
    const before = samples(0, 60, 10_000, 1000);
    const after = [...before, ...samples(180, 30, 10_500, 1000)];
    expect(naiveRate(after)).toBeLessThan(400);
    const etaBefore = progress(before, TARGET, 0.4).etaHours!;
    const etaAfter = progress(after, TARGET, 0.4).etaHours!;
    expect(etaBefore).toBeCloseTo(39, 1);
    expect(etaAfter).toBeCloseTo(etaBefore, 1);
  });

  it('treats a long gap without a step drop as a break too (time off is not training time)', () => {
    // The host kept training while unreachable: the rate is still the rate while observed.
    const history = [...samples(0, 30, 10_000, 1000), ...samples(90, 30, 11_000, 1000)];
    expect(progress(history, TARGET, 0).stepsPerHour).toBeCloseTo(1000, 0);
  });

  it('reads a sparse history (one sample an hour) as steady training, not as a chain of gaps', () => {
    const hourly: [number, number][] = Array.from({ length: 6 }, (_, i) => [
      T0 + i * 60 * MIN,
      10_000 + i * 900,
    ]);
    expect(progress(hourly, TARGET, 0).stepsPerHour).toBeCloseTo(900, 6);
    // A real gap still counts as one: six hours of silence among hourly samples.
    const gapped: [number, number][] = [
      ...hourly,
      [T0 + 11 * 60 * MIN, 20_000],
      [T0 + 12 * 60 * MIN, 20_900],
    ];
    expect(progress(gapped, TARGET, 0, { windowMs: 24 * 60 * MIN }).segments).toBe(2);
  });

  it('ignores a history that made no progress at all', () => {
    const flat = samples(0, 60, 12_340, 0);
    expect(progress(flat, TARGET, 1)).toMatchObject({
      stepsPerHour: null,
      etaHours: null,
      currentStep: 12_340,
    });
  });

  it('needs enough productive time for a rate', () => {
    const two = samples(0, 1, 100, 600);
    expect(progress(two, TARGET, 1).stepsPerHour).toBeNull();
    expect(progress(two, TARGET, 1, { minSpanMs: 30_000 }).stepsPerHour).toBeCloseTo(600, 6);
  });

  it('reports nothing but nulls for an empty history, and sorts unsorted samples', () => {
    expect(progress([], TARGET, 1)).toMatchObject({
      currentStep: null,
      stepsPerHour: null,
      pctComplete: null,
    });
    const shuffled = samples(0, 60, 0, 600).reverse();
    expect(progress(shuffled, TARGET, 1)).toMatchObject({ currentStep: 600 });
  });

  it('reports ETA 0 and 100% once the target is reached', () => {
    const p = progress(samples(0, 60, 49_500, 1000), TARGET, 1);
    expect(p).toMatchObject({ currentStep: 50_500, etaHours: 0, pctComplete: 100, remainingSteps: 0 });
    expect(p.remainingCostUsd).toBe(0);
  });

  it('drops non-finite samples instead of poisoning the rate', () => {
    const history: [number, number][] = [...samples(0, 30, 0, 1200), [T0 + 31 * MIN, Number.NaN]];
    expect(progress(history, TARGET, 1).stepsPerHour).toBeCloseTo(1200, 6);
  });
});

describe('cost helpers', () => {
  it('adds the hours on the current instance to what earlier instances cost', () => {
    expect(costSoFar(12.5, 0.4, 10)).toBeCloseTo(16.5, 9);
    expect(costSoFar(3, 0.4, -1)).toBe(3);
  });

  it('projects the total cost from the ETA at the current price', () => {
    expect(projectedTotalCost(12.5, 0.4, 10, 39)).toBeCloseTo(16.5 + 15.6, 9);
    expect(projectedTotalCost(12.5, 0.4, 10, null)).toBeNull();
  });
});
