import { describe, expect, it } from 'vitest';
import {
  accountStrategy,
  type InstanceSample,
  idealTimeline,
  measureFirstInstance,
  type RunTarget,
  stepsTrained,
} from '../../../src/bench/campaign/accounting.js';

const H = 3_600_000;
const T0 = 1_000_000;
const target: RunTarget = { run: 'r', startStep: 0, targetStep: 1000 };

/** A sample of instance `id` at hour `h`. */
function at(h: number, step: number | null, more: Partial<InstanceSample> = {}): InstanceSample {
  return {
    t: T0 + h * H,
    instanceId: 1,
    run: 'r',
    gpus: 4,
    dph: 2,
    billed: true,
    pid: step === null ? null : 100,
    step,
    resumedFrom: step,
    validStep: step,
    ...more,
  };
}

describe('stepsTrained', () => {
  it('counts only advances of the same trainer process', () => {
    expect(stepsTrained(at(0, 10), at(1, 50))).toBe(40);
    expect(stepsTrained(at(0, 50), at(1, 20, { pid: 101 }))).toBe(0);
    expect(stepsTrained(at(0, 50), at(1, null))).toBe(0);
    expect(stepsTrained(at(0, null), at(1, 20))).toBe(0);
    expect(stepsTrained(at(0, 50), at(1, 50))).toBe(0);
  });

  it('counts a trainer first seen stepping from the step it started from', () => {
    expect(stepsTrained(at(0, null), at(1, 1300, { resumedFrom: 1000 }))).toBe(300);
    expect(stepsTrained(at(0, 900), at(1, 1300, { pid: 101, resumedFrom: 1000 }))).toBe(300);
    expect(stepsTrained(at(0, 900), at(1, 1300, { pid: 101, resumedFrom: null }))).toBe(0);
  });
});

describe('accountStrategy', () => {
  it('scores a clean run: every paid hour productive, finished when the target is reached', () => {
    const samples = [at(0, 0), at(1, 500), at(2, 1000), at(3, 1000)];
    const acc = accountStrategy(samples, [target], { startAt: T0, endAt: T0 + 3 * H });
    expect(acc.completedRuns).toBe(1);
    expect(acc.wallHours).toBeCloseTo(2);
    // Billing stops at completion: the idle hour after it is nobody's here.
    expect(acc.paidGpuHours).toBeCloseTo(8);
    expect(acc.productiveGpuHours).toBeCloseTo(8);
    expect(acc.goodput).toBeCloseTo(1);
    expect(acc.stepsLost).toBe(0);
    expect(acc.dollars).toBeCloseTo(4);
  });

  it('interpolates the finish inside the sampling interval', () => {
    const samples = [at(0, 0), at(1, 800), at(2, 1000)];
    const acc = accountStrategy(samples, [{ ...target, targetStep: 900 }], {
      startAt: T0,
      endAt: T0 + 2 * H,
    });
    expect(acc.runs[0]?.completedAt).toBeCloseTo(T0 + 1.5 * H);
  });

  it('counts the steps redone after a crash as lost and their hours as unproductive', () => {
    const samples = [
      at(0, 0),
      at(1, 600),
      // Crashed at 600 and relaunched from the checkpoint at 400 (new pid).
      at(2, 400, { pid: 200 }),
      at(3, 600, { pid: 200 }),
      at(4, 1000, { pid: 200 }),
    ];
    const acc = accountStrategy(samples, [target], { startAt: T0, endAt: T0 + 4 * H });
    expect(acc.runs[0]?.stepsTrained).toBe(600 + 200 + 400);
    expect(acc.stepsLost).toBe(200);
    expect(acc.completedRuns).toBe(1);
    // Hours 0-1 and 3-4 made new steps; 1-2 (down) and 2-3 (redoing 400-600) did not.
    expect(acc.paidGpuHours).toBeCloseTo(16);
    expect(acc.productiveGpuHours).toBeCloseTo(8);
    expect(acc.goodput).toBeCloseTo(0.5);
  });

  it('stops paying when the instance stops billing (outbid) or disappears (destroyed)', () => {
    const samples = [
      at(0, 0),
      at(1, 300, { billed: false }),
      at(2, 300, { billed: false }),
      { ...at(0, null), instanceId: 2, t: T0 + 2 * H, gpus: 8, dph: 1 },
      { ...at(0, 300), instanceId: 2, t: T0 + 3 * H, gpus: 8, dph: 1 },
      { ...at(0, null), instanceId: 2, t: T0 + 4 * H, gpus: 8, dph: 1, billed: false },
    ];
    const acc = accountStrategy(samples, [target], { startAt: T0, endAt: T0 + 5 * H });
    expect(acc.paidGpuHours).toBeCloseTo(4 + 8 + 8);
    expect(acc.dollars).toBeCloseTo(2 + 2);
    expect(acc.completedRuns).toBe(0);
    expect(acc.wallHours).toBeNull();
  });

  it('keeps charging an idle instance whose trainer died, until the campaign ends', () => {
    const samples = [at(0, 0), at(1, 300), at(2, 300), at(10, 300)];
    const acc = accountStrategy(samples, [target], { startAt: T0, endAt: T0 + 6 * H });
    expect(acc.paidGpuHours).toBeCloseTo(24);
    expect(acc.productiveGpuHours).toBeCloseTo(4);
  });

  it('does not count steps trained on a NaN loss as progress', () => {
    const samples = [
      at(0, 0),
      at(1, 500, { validStep: 500 }),
      // NaN from step 501: the trainer runs on to the target, all of it invalid.
      at(2, 1000, { validStep: 500 }),
    ];
    const acc = accountStrategy(samples, [target], { startAt: T0, endAt: T0 + 2 * H });
    expect(acc.completedRuns).toBe(0);
    expect(acc.runs[0]?.progress).toBe(500);
    expect(acc.stepsLost).toBe(500);
    expect(acc.goodput).toBeCloseTo(0.5);
  });

  it('ignores samples of runs it was not asked about and keeps runs apart', () => {
    const other = { ...at(0, 0), run: 'x', instanceId: 9 };
    const samples = [at(0, 0), at(1, 1000), other, { ...other, t: T0 + H, step: 5, validStep: 5 }];
    const acc = accountStrategy(samples, [target], { startAt: T0, endAt: T0 + H });
    expect(acc.runs).toHaveLength(1);
    expect(acc.paidGpuHours).toBeCloseTo(4);
  });
});

describe('the fault-free ideal', () => {
  it('loses only the start-up: goodput = training / (start-up + training)', () => {
    const samples = idealTimeline(
      [{ ...target, gpus: 4, dph: 2, startupMs: 0.1 * H, stepsPerMs: 1000 / (9.9 * H) }],
      T0,
    );
    const acc = accountStrategy(samples, [target], { startAt: T0, endAt: Number.POSITIVE_INFINITY });
    expect(acc.completedRuns).toBe(1);
    expect(acc.wallHours).toBeCloseTo(10);
    expect(acc.goodput).toBeCloseTo(0.99);
  });

  it('measures start-up and speed on the first instance before its first fault', () => {
    const samples = [
      at(0, null),
      at(1, 100),
      at(2, 300),
      at(3, 500),
      // After the fault (at 3.5 h) the speed changes: not part of the measurement.
      at(4, 505),
    ];
    const m = measureFirstInstance(samples, target, T0, T0 + 3.5 * H);
    expect(m?.stepsPerMs).toBeCloseTo(200 / H);
    expect(m?.startupMs).toBeCloseTo(0.5 * H);
    expect(m?.gpus).toBe(4);
    expect(measureFirstInstance([at(0, null)], target, T0, T0 + H)).toBeNull();
  });
});
