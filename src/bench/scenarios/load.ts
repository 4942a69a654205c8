import { ensureRedis } from '../../infra/redis/bootstrap.js';
import { type LoadReport, runLoad } from '../load/run-load.js';
import type { BenchRow, BenchScenario } from '../types.js';

function sweeper(r: LoadReport): string {
  const { process, firstForProcess } = r.sweepAtBurst;
  if (process === null) return 'process unknown';
  return firstForProcess ? `by ${process}, its first: connecting` : `by ${process}`;
}

/** The report as bench rows: ack latency, sweep time, and the nothing-dropped/nothing-twice counts. */
export function loadRows(r: LoadReport): BenchRow[] {
  const row = (metric: string, unit: string, value: number): BenchRow => ({
    scenario: 'load',
    metric,
    unit,
    value,
  });
  const o = r.effects.outcome;
  return [
    row(`p50 ack latency (${r.requests} concurrent)`, 'ms', r.ack.p50Ms),
    row(`p99 ack latency (${r.requests} concurrent)`, 'ms', r.ack.p99Ms),
    row('max ack latency', 'ms', r.ack.maxMs),
    row('p50 ack: /train status', 'ms', r.ack.byKind.status),
    row('p50 ack: /train journal', 'ms', r.ack.byKind.journal),
    row('p50 ack: Approve click', 'ms', r.ack.byKind.approve),
    row('not acked within 3 s (Slack shows the user an error)', 'count', o.notAcked),
    ...(r.botAcks
      ? [
          row('acks by the bot during the burst (its own clock)', 'count', r.botAcks.total),
          row('of which within 100 ms of arriving', 'count', r.botAcks.within100Ms),
        ]
      : []),
    row(`commands answered via response_url (of ${o.commands})`, 'count', o.commandsAnswered),
    row(`clicks with their effect (of ${o.clicks}, ${r.proposals} proposals)`, 'count', o.clicksWithEffect),
    row('dropped (no answer or no effect)', 'count', o.dropped),
    row('done twice (extra answers, ops jobs, starts, approvals)', 'count', o.doneTwice),
    row('answers refused by Slack', 'count', o.failedAnswers),
    row('all effects seen after the burst', 's', r.effects.settledMs / 1000),
    row(`${r.hosts} hosts, first sweep (connecting)`, 's', r.sweep.firstMs / 1000),
    row(`${r.hosts} hosts, sweep p50 (${r.sweep.count} sweeps)`, 's', r.sweep.p50Ms / 1000),
    row(`${r.hosts} hosts, sweep max`, 's', r.sweep.maxMs / 1000),
    row(`${r.hosts} hosts, sweep during the burst (${sweeper(r)})`, 's', r.sweep.duringBurstMs / 1000),
    row(`${r.hosts} hosts, probes ok in the last sweep`, 'count', r.sweep.lastProbesOk),
    row('overlapping sweeps', 'count', r.sweep.overlaps),
    row('machine load average (1 min) at the burst', 'load', r.loadAverage),
    ...r.perProcess.map((p) => row(`sweeps run by ${p.name}`, 'count', p.sweeps)),
    ...r.perProcess.map((p) => row(`resident memory of ${p.name}`, 'MB', p.rssMb)),
  ];
}

export const loadScenario: BenchScenario = {
  name: 'load',
  description:
    '1,000 hosts under sweep + 200 concurrent commands and Approve clicks; 1 bot and 2 worker processes on one Redis',
  async run({ quick, log }) {
    const redis = await ensureRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', false);
    try {
      const report = await runLoad({
        hosts: quick ? 200 : 1000,
        requests: quick ? 50 : 200,
        workers: 2,
        redisUrl: redis.url,
        log,
      });
      return loadRows(report);
    } finally {
      await redis.stop();
    }
  },
};
