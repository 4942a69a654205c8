import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  assessOutcome,
  type CommandEvidence,
  type ProposalEvidence,
} from '../../../src/bench/load/effects.js';
import { fleetYaml, knownHostsText } from '../../../src/bench/load/fleet-file.js';
import { commandLine, percentile, planRequests } from '../../../src/bench/load/plan.js';
import { metricValue, summariseSweeps } from '../../../src/bench/load/sweeps.js';
import { loadFleetFile, parseFleet } from '../../../src/config.js';
import { parseKnownHosts } from '../../../src/infra/ssh/host-keys.js';
import { packageRoot } from '../../../src/package-root.js';

/** The load benchmark's own accounting: if it could not see a drop or a double, its zeros would mean nothing. */

const answered: CommandEvidence = { acked: true, answers: 1, failedAnswers: 0 };
const won: ProposalEvidence = {
  clicks: 2,
  refusals: 1,
  messageApproved: true,
  consumed: true,
  opsJobs: 1,
  opsStarts: 1,
  approvedEntries: 1,
};

describe('assessOutcome', () => {
  it('counts a clean burst as nothing dropped and nothing done twice', () => {
    const o = assessOutcome([answered, answered], [won, { ...won, clicks: 1, refusals: 0 }], 3);
    expect(o).toMatchObject({ commands: 2, commandsAnswered: 2, clicks: 3, clicksWithEffect: 3 });
    expect(o).toMatchObject({ dropped: 0, doneTwice: 0, notAcked: 0 });
  });

  it('sees an unanswered command and an approval that never happened', () => {
    const o = assessOutcome(
      [answered, { acked: true, answers: 0, failedAnswers: 0 }],
      [
        { ...won, messageApproved: false },
        { ...won, opsJobs: 0 },
      ],
      4,
    );
    expect(o.commandsAnswered).toBe(1);
    // Each proposal: the refused second click counts, the winning click had no effect.
    expect(o.clicksWithEffect).toBe(2);
    expect(o.dropped).toBe(3);
  });

  it('sees a second answer, a second ops job, a job started twice and a second approval', () => {
    expect(assessOutcome([{ ...answered, answers: 2 }], [], 0).doneTwice).toBe(1);
    expect(assessOutcome([], [{ ...won, opsJobs: 2, opsStarts: 2 }], 2).doneTwice).toBe(1);
    expect(assessOutcome([], [{ ...won, opsStarts: 2 }], 2).doneTwice).toBe(1);
    expect(assessOutcome([], [{ ...won, approvedEntries: 2 }], 2).doneTwice).toBe(1);
  });

  it('counts requests Slack gave up on and answers Slack refused', () => {
    const o = assessOutcome([{ acked: false, answers: 1, failedAnswers: 1 }], [won], 1);
    expect(o.notAcked).toBe(2);
    expect(o.failedAnswers).toBe(1);
  });
});

describe('planRequests', () => {
  const runs = ['run_0', 'run_1', 'run_2'];

  it('mixes commands and clicks, with double clicks, and is the same for the same seed', () => {
    const plan = planRequests(200, runs);
    expect(plan.requests).toHaveLength(200);
    const clicks = plan.requests.filter((r) => r.kind === 'approve');
    expect(clicks.length).toBeGreaterThan(plan.proposals);
    expect(new Set(clicks.map((c) => (c.kind === 'approve' ? c.proposal : -1))).size).toBe(plan.proposals);
    expect(plan.requests.some((r) => r.kind === 'journal')).toBe(true);
    expect(plan.requests.some((r) => r.kind === 'status' && r.run === null)).toBe(true);
    expect(plan.requests.some((r) => r.kind === 'status' && r.run !== null)).toBe(true);
    expect(planRequests(200, runs)).toEqual(plan);
  });

  it('keeps the total for small bursts', () => {
    for (const n of [1, 2, 5, 40, 50]) expect(planRequests(n, runs).requests).toHaveLength(n);
  });

  it('writes the command lines a person would type', () => {
    expect(commandLine({ kind: 'journal' })).toBe('/train journal');
    expect(commandLine({ kind: 'status', run: null })).toBe('/train status');
    expect(commandLine({ kind: 'status', run: 'run_1' })).toBe('/train status run_1');
  });

  it('takes nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 200 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(100);
    expect(percentile(sorted, 99)).toBe(198);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('sweep figures', () => {
  const sweep = (startedAt: number, finishedAt: number, runs = 10) => ({
    startedAt,
    finishedAt,
    durationMs: finishedAt - startedAt,
    runs,
    probesOk: runs,
  });

  it('finds the first sweep, the one during the burst, and overlaps', () => {
    const history = {
      sweeps: [sweep(0, 900), sweep(1000, 1400), sweep(2000, 2300), sweep(2200, 2500)],
      skipped: 2,
    };
    const s = summariseSweeps(history, 10, { start: 1100, end: 1200 });
    expect(s).toMatchObject({ count: 4, skipped: 2, firstMs: 900, duringBurstMs: 400, overlaps: 1 });
    expect(summariseSweeps(history, 10, { start: 5000, end: 5100 }).duringBurstMs).toBeNaN();
    expect(summariseSweeps(history, 11, { start: 0, end: 1 }).count).toBe(0);
  });

  it('sums a metric over its labels from Prometheus text', () => {
    const text = [
      '# HELP tc_sweeps_total Sweeps',
      'tc_sweeps_total{outcome="ok"} 3',
      'tc_sweeps_total{outcome="partial"} 1',
      'tc_sweep_duration_seconds_count 4',
    ].join('\n');
    expect(metricValue(text, 'tc_sweeps_total')).toBe(4);
    expect(metricValue(text, 'tc_sweep_duration_seconds_count')).toBe(4);
    expect(metricValue(text, 'tc_missing')).toBe(0);
  });
});

describe('fleet and known_hosts files', () => {
  it('round-trips a fleet through YAML, with thresholds overridden', () => {
    const fleet = loadFleetFile(path.join(packageRoot(), 'fleet.example.yaml'));
    const again = parseFleet(parseYaml(fleetYaml(fleet, { sweep_interval_s: 5 })), 'round trip');
    expect(again.runs).toEqual(fleet.runs);
    expect(again.policy).toEqual(fleet.policy);
    expect(again.thresholds).toEqual({ ...fleet.thresholds, sweep_interval_s: 5 });
  });

  it('writes pins the known_hosts parser reads back', () => {
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJiJRAl5/6nUsM3a3alvOPHa5/cGuLWQNz6z3LWSFVoh';
    const parsed = parseKnownHosts(knownHostsText({ '[127.0.0.1]:40279': key }));
    expect(parsed.get('[127.0.0.1]:40279')).toEqual([key]);
  });
});
