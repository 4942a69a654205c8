import { describe, expect, it } from 'vitest';
import { faultSchedule, type ScheduleOptions } from '../../../src/bench/campaign/schedule.js';
import { campaignSettings } from '../../../src/bench/campaign/settings.js';

const H = 3_600_000;
const options: ScheduleOptions = {
  seed: 7,
  runs: ['a', 'b', 'c'],
  fromMs: H,
  toMs: 30 * H,
  mix: { outbid: 3, stall: 2, crash_oom: 1, nan: 1, disk_fill: 1 },
  minGapPerRunMs: 3 * H,
};

describe('faultSchedule', () => {
  it('gives the same schedule for the same seed, and another for another seed', () => {
    expect(faultSchedule(options)).toEqual(faultSchedule(options));
    expect(faultSchedule({ ...options, seed: 8 })).not.toEqual(faultSchedule(options));
  });

  it('places every fault of the mix inside the window, in time order', () => {
    const faults = faultSchedule(options);
    expect(faults).toHaveLength(8);
    expect(faults.filter((f) => f.fault === 'outbid')).toHaveLength(3);
    expect(faults.filter((f) => f.fault === 'stall')).toHaveLength(2);
    for (const f of faults) {
      expect(f.atMs).toBeGreaterThanOrEqual(H);
      expect(f.atMs).toBeLessThan(30 * H);
      expect(options.runs).toContain(f.run);
    }
    expect([...faults].sort((x, y) => x.atMs - y.atMs)).toEqual(faults);
    expect(faults.find((f) => f.fault === 'disk_fill')?.pct).toBe(85);
  });

  it('keeps two faults of one run at least the minimum gap apart', () => {
    const faults = faultSchedule(options);
    for (const run of options.runs) {
      const times = faults.filter((f) => f.run === run).map((f) => f.atMs);
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(3 * H);
    }
  });

  it('refuses a schedule that cannot fit', () => {
    expect(() => faultSchedule({ ...options, runs: ['a'], toMs: 2 * H })).toThrow(/cannot place/);
    expect(() => faultSchedule({ ...options, runs: [] })).toThrow(RangeError);
  });
});

describe('campaignSettings', () => {
  it('runs the three runs from step 0 with every kind of fault; quick runs the last 5,000 steps', () => {
    const full = campaignSettings({ quick: false });
    expect(full.seeds.map((s) => s.run)).toEqual(['gpt2_reference', 'mosaic_dense', 'mosaic_moe']);
    expect(full.startStep).toBe(0);
    expect(new Set(full.faults.map((f) => f.fault))).toEqual(
      new Set([
        'outbid',
        'host_gone',
        'stall',
        'crash_oom',
        'crash_nccl',
        'crash_killed',
        'disk_fill',
        'nan',
      ]),
    );
    const quick = campaignSettings({ quick: true, approvalDelayMinutes: 2 });
    expect(quick.targetStep - quick.startStep).toBe(5000);
    expect(quick.approvalDelayMs).toBe(2 * 60_000);
  });
});
