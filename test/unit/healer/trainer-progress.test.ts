import { describe, expect, it } from 'vitest';
import { isAdvancing, sampleTrainer, verifyVerdict } from '../../../agents/healer/trainer-progress.js';
import type { ProbeResult } from '../../../src/fleet/health/types.js';

const LAUNCH_S = 1_767_225_600;

function probe(patch: Partial<ProbeResult> & { step?: number; ts?: number } = {}): ProbeResult {
  const { step, ts, ...rest } = patch;
  return {
    hostTime: LAUNCH_S + 100,
    heartbeat:
      step === undefined
        ? null
        : {
            step,
            loss: 3,
            ppl: 20,
            tok_s: 1,
            gpu_util: 90,
            disk_pct: 40,
            ts: ts ?? LAUNCH_S + 60,
            pid: 1,
            max_steps: 50_000,
            model: 'm',
          },
    heartbeatError: null,
    processAlive: true,
    gpus: [],
    disk: null,
    checkpoints: [],
    logTail: [],
    logMtime: null,
    exitCodes: {},
    ...rest,
  };
}

const resumedLog = (from: number, at: number) => [
  `[HEARTBEAT] RESUMED step=${from} max=50000 checkpoint=runs/x/latest.pt`,
  `step  ${at}/50000 | loss 3.1234 | ppl 22.7 | lr 2.91e-04 | grad_norm 0.87 | 48211 tok/s`,
];

describe('sampleTrainer', () => {
  it('ignores the heartbeat and log the previous attempt left behind', () => {
    const stale = probe({
      step: 12_340,
      ts: LAUNCH_S - 300,
      logTail: resumedLog(5000, 12_340),
      logMtime: LAUNCH_S - 300,
    });
    const sample = sampleTrainer(stale, LAUNCH_S);
    expect(sample).toMatchObject({ step: null, resumedStep: null });
  });

  it('does not take a heartbeat written in the very second of the launch for the new attempt', () => {
    const sameSecond = probe({ step: 12_340, ts: LAUNCH_S });
    expect(sampleTrainer(sameSecond, LAUNCH_S).step).toBeNull();
  });

  it('reads the new attempt from a fresh heartbeat and a fresh log', () => {
    const fresh = probe({
      step: 10_020,
      ts: LAUNCH_S + 60,
      logTail: resumedLog(10_000, 10_010),
      logMtime: LAUNCH_S + 50,
    });
    expect(sampleTrainer(fresh, LAUNCH_S)).toMatchObject({ alive: true, step: 10_020, resumedStep: 10_000 });
  });
});

describe('verifyVerdict', () => {
  const s = (step: number | null, resumedStep: number | null, alive: boolean | null = true) => ({
    alive,
    step,
    resumedStep,
    errorSignature: null,
    complete: false,
  });

  it('is advancing only once the step passes the resumed checkpoint', () => {
    expect(verifyVerdict([s(10_000, 10_000)]).kind).toBe('waiting');
    expect(verifyVerdict([s(10_000, 10_000), s(10_010, 10_000)])).toEqual({
      kind: 'advancing',
      resumedStep: 10_000,
      step: 10_010,
    });
  });

  it('without a RESUMED line, the first fresh step is the baseline', () => {
    expect(verifyVerdict([s(0, null)]).kind).toBe('waiting');
    expect(verifyVerdict([s(0, null), s(20, null)])).toMatchObject({ kind: 'advancing', resumedStep: 0 });
  });

  it('needs two dead samples in a row to call the trainer dead', () => {
    expect(verifyVerdict([s(null, null, false)]).kind).toBe('waiting');
    expect(verifyVerdict([s(null, null, false), s(null, null, false)]).kind).toBe('died');
  });

  it('a live trainer stuck at its resumed step is not advancing', () => {
    expect(verifyVerdict([s(10_000, 10_000), s(10_000, 10_000), s(10_000, 10_000)]).kind).toBe('waiting');
  });
});

describe('isAdvancing', () => {
  it('needs the process alive and the step higher on the second look', () => {
    expect(isAdvancing(probe({ step: 100 }), probe({ step: 120 }))).toBe(true);
    expect(isAdvancing(probe({ step: 100 }), probe({ step: 100 }))).toBe(false);
    expect(isAdvancing(probe({ step: 100 }), probe({ step: 120, processAlive: false }))).toBe(false);
  });
});
