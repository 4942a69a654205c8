import { describe, expect, it } from 'vitest';
import type { RunAccount, StrategyAccount } from '../../../src/bench/campaign/accounting.js';
import type { CampaignResult } from '../../../src/bench/campaign/campaign.js';
import { campaignRows } from '../../../src/bench/campaign/rows.js';
import { campaignSettings } from '../../../src/bench/campaign/settings.js';

const H = 3_600_000;

function run(name: string, completedAt: number | null, progress: number): RunAccount {
  return {
    run: name,
    completed: completedAt !== null,
    completedAt,
    progress,
    stepsTrained: progress,
    stepsLost: 0,
    paidGpuMs: 0,
    productiveGpuMs: 0,
    dollars: 0,
  };
}

function account(runs: RunAccount[], more: Partial<StrategyAccount>): StrategyAccount {
  return {
    runs,
    completedRuns: runs.filter((r) => r.completed).length,
    wallHours: null,
    paidGpuHours: 100,
    productiveGpuHours: 90,
    goodput: 0.9,
    stepsLost: 100,
    dollars: 50,
    ...more,
  };
}

const result: CampaignResult = {
  settings: campaignSettings({ quick: false }),
  startAt: 0,
  endAt: 40 * H,
  realSeconds: 200,
  accounts: {
    conductor: account([run('a', 30 * H, 50_000), run('b', 35 * H, 50_000)], {
      wallHours: 35,
      goodput: 0.96,
      paidGpuHours: 200,
      dollars: 80,
    }),
    legacy: account([run('a', null, 10_000), run('b', null, 20_000)], { goodput: 0.48, paidGpuHours: 100 }),
    none: account([run('a', null, 5_000), run('b', null, 5_000)], { goodput: 0.2 }),
  },
  ideal: account([run('a', 25 * H, 50_000), run('b', 30 * H, 50_000)], { goodput: 0.999 }),
  pages: { conductor: 4, legacy: 0, none: 0 },
  injected: [],
  approvals: [],
  acks: 0,
  legacyRestarts: 0,
  hubUploads: 0,
  sweeps: { count: 0, meanRealMs: 0 },
  journal: [],
  views: [],
  samples: { conductor: [], legacy: [], none: [] },
};

describe('campaignRows', () => {
  const rows = campaignRows(result);
  const row = (metric: string) => rows.find((r) => r.metric === metric);

  it("gives Train Conductor's figures with the legacy loop as baseline, ratio = times better", () => {
    expect(row('Train Conductor: goodput (productive / paid GPU-hours)')).toMatchObject({
      value: 96,
      baseline: 48,
      ratio: 2,
    });
    // Less is better for money: twice the dollars is half as good.
    expect(row('Train Conductor: GPU-hours paid')?.ratio).toBeCloseTo(0.5);
    expect(row('Train Conductor: valid steps trained (all runs)')).toMatchObject({
      value: 100_000,
      baseline: 30_000,
    });
    // A zero baseline has no meaningful ratio.
    expect(row('Train Conductor: pages sent')).toMatchObject({ value: 4, baseline: 0 });
    expect(row('Train Conductor: pages sent')?.ratio).toBeUndefined();
  });

  it('says when a strategy did not finish every run, with the hour the campaign ended', () => {
    expect(row('Train Conductor: wall hours to finish every run')?.value).toBe(35);
    expect(row('legacy loop: not every run finished (campaign ended at)')?.value).toBe(40);
    expect(row('legacy loop: wall hours to finish every run')).toBeUndefined();
  });

  it("compares Train Conductor's goodput with the fault-free ideal's", () => {
    expect(row('fault-free ideal: goodput')?.value).toBeCloseTo(99.9);
    expect(row('Train Conductor goodput / fault-free ideal (goal >= 95%)')?.value).toBeCloseTo(96.096, 2);
    expect(row('Train Conductor: a finished after (ideal as baseline)')).toMatchObject({
      value: 30,
      baseline: 25,
    });
  });
});
