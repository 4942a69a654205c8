import { describe, expect, it } from 'vitest';
import { runLoad } from '../../../src/bench/load/run-load.js';
import { newRedis, redisUrl, uniquePrefix } from '../../helpers/redis.js';

/**
 * A small version of `npm run bench -- load`: the real deployment shape (one `conductor start`,
 * two `conductor worker` child processes, one Redis) sweeping 50 simulated hosts while 40 signed
 * commands and Approve clicks (some of them double clicks) arrive at once.
 */
describe('load: one bot and two worker processes under a burst', () => {
  it('answers every command, carries out every approval once, and never overlaps sweeps', async () => {
    const prefix = uniquePrefix('load');
    const report = await runLoad({
      hosts: 50,
      requests: 40,
      workers: 2,
      redisUrl: redisUrl(),
      prefix,
      minSweeps: 2,
      // Warm SSH pools in every process matter for the latency figures, not for this test.
      warmTimeoutMs: 0,
    });

    expect(report.processes).toBe(3);
    const o = report.effects.outcome;
    expect(o.commands + o.clicks).toBe(40);
    // Double clicks are part of the burst, so "once" is tested, not assumed.
    expect(o.clicks).toBeGreaterThan(report.proposals);
    expect(o.commandsAnswered).toBe(o.commands);
    expect(o.clicksWithEffect).toBe(o.clicks);
    expect(o.dropped).toBe(0);
    expect(o.doneTwice).toBe(0);
    expect(o.failedAnswers).toBe(0);
    expect(report.effects.opsFinished).toBe(true);
    expect(Number.isFinite(report.ack.p50Ms)).toBe(true);

    expect(report.sweepRunningAtBurst).toBe(true);
    expect(report.sweep.count).toBeGreaterThanOrEqual(2);
    expect(report.sweep.lastProbesOk).toBe(50);
    expect(report.sweep.overlaps).toBe(0);
    expect(report.perProcess.reduce((n, p) => n + p.sweeps, 0)).toBeGreaterThanOrEqual(report.sweep.count);

    // Everything the run wrote under its prefix is gone.
    const redis = newRedis();
    try {
      expect(await redis.keys(`${prefix}:*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  }, 120_000);
});
