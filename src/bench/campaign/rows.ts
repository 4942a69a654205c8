import type { BenchRow } from '../types.js';
import type { StrategyAccount } from './accounting.js';
import type { CampaignResult, StrategyName } from './campaign.js';

/**
 * The campaign's figures as bench rows. Train Conductor's rows carry the legacy loop as their
 * baseline; `ratio` is how many times better Train Conductor did (baseline / value where less is
 * better, value / baseline where more is better), left out when either side is zero.
 */

const LABEL: Record<StrategyName, string> = {
  conductor: 'Train Conductor',
  legacy: 'legacy loop',
  none: 'no supervision',
};

/** Valid steps gained over the campaign, every run together. */
function progressOf(account: StrategyAccount, result: CampaignResult): number {
  return account.runs.reduce((s, r) => s + r.progress - result.settings.startStep, 0);
}

interface Metric {
  name: string;
  unit: string;
  better: 'more' | 'less';
  /** What the row says when the value does not exist (no row when absent). */
  missing?: string;
  of(account: StrategyAccount, result: CampaignResult, strategy: StrategyName): number | null;
}

const METRICS: readonly Metric[] = [
  { name: 'completed runs', unit: 'runs', better: 'more', of: (a) => a.completedRuns },
  {
    name: 'wall hours to finish every run',
    unit: 'h',
    better: 'less',
    missing: 'not every run finished (campaign ended at)',
    of: (a) => a.wallHours,
  },
  {
    name: 'valid steps trained (all runs)',
    unit: 'steps',
    better: 'more',
    of: (a, r) => progressOf(a, r),
  },
  { name: 'GPU-hours paid', unit: 'GPU-h', better: 'less', of: (a) => a.paidGpuHours },
  { name: 'goodput (productive / paid GPU-hours)', unit: '%', better: 'more', of: (a) => a.goodput * 100 },
  { name: 'steps lost', unit: 'steps', better: 'less', of: (a) => a.stepsLost },
  { name: 'dollars', unit: '$', better: 'less', of: (a) => a.dollars },
  {
    name: 'dollars per 10,000 valid steps',
    unit: '$',
    better: 'less',
    of: (a, r) => {
      const steps = progressOf(a, r);
      return steps > 0 ? (a.dollars / steps) * 10_000 : null;
    },
  },
  { name: 'pages sent', unit: 'count', better: 'less', of: (_a, r, s) => r.pages[s] },
];

function ratioOf(value: number, baseline: number, better: Metric['better']): number | undefined {
  if (value === 0 || baseline === 0 || !Number.isFinite(value) || !Number.isFinite(baseline))
    return undefined;
  return better === 'more' ? value / baseline : baseline / value;
}

export function campaignRows(result: CampaignResult, scenario = 'campaign'): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const strategy of ['conductor', 'legacy', 'none'] as const) {
    for (const m of METRICS) {
      const value = m.of(result.accounts[strategy], result, strategy);
      const metric = `${LABEL[strategy]}: ${m.name}`;
      if (value === null) {
        if (m.missing) {
          rows.push({
            scenario,
            metric: `${LABEL[strategy]}: ${m.missing}`,
            unit: m.unit,
            value: (result.endAt - result.startAt) / 3_600_000,
          });
        }
        continue;
      }
      const baseline = strategy === 'conductor' ? m.of(result.accounts.legacy, result, 'legacy') : null;
      const ratio = baseline === null ? undefined : ratioOf(value, baseline, m.better);
      rows.push({
        scenario,
        metric,
        unit: m.unit,
        value,
        ...(baseline !== null && { baseline }),
        ...(ratio !== undefined && { ratio }),
      });
    }
  }
  const hoursOf = (at: number | null) => (at === null ? null : (at - result.startAt) / 3_600_000);
  for (const run of result.accounts.conductor.runs) {
    const hours = hoursOf(run.completedAt);
    const idealHours = hoursOf(result.ideal.runs.find((r) => r.run === run.run)?.completedAt ?? null);
    rows.push({
      scenario,
      metric: `${LABEL.conductor}: ${run.run} ${hours === null ? 'NOT finished, valid step reached' : 'finished after (ideal as baseline)'}`,
      unit: hours === null ? 'step' : 'h',
      value: hours ?? run.progress,
      ...(hours !== null && idealHours !== null && { baseline: idealHours, ratio: idealHours / hours }),
    });
    rows.push({
      scenario,
      metric: `${LABEL.conductor}: ${run.run} goodput`,
      unit: '%',
      value: run.paidGpuMs > 0 ? (run.productiveGpuMs / run.paidGpuMs) * 100 : 0,
    });
  }
  const ideal = result.ideal.goodput;
  const tc = result.accounts.conductor.goodput;
  rows.push({ scenario, metric: 'fault-free ideal: goodput', unit: '%', value: ideal * 100 });
  rows.push({
    scenario,
    metric: 'Train Conductor goodput / fault-free ideal (goal >= 95%)',
    unit: '%',
    value: ideal > 0 ? (tc / ideal) * 100 : 0,
  });
  rows.push({
    scenario,
    metric: 'faults injected (same in every world)',
    unit: 'count',
    value: result.injected.length,
  });
  rows.push({ scenario, metric: 'real time for the whole campaign', unit: 's', value: result.realSeconds });
  return rows;
}
