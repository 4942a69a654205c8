import type { Job } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { PolicyViolation } from '../../../src/errors.js';
import { silentLogger } from '../../../src/logger.js';
import type { HealerJob } from '../../../src/queues/jobs.js';
import { Queues } from '../../../src/queues/queues.js';
import { deleteKeys, newRedis, redisUrl, uniquePrefix } from '../../helpers/redis.js';

const redis = newRedis();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function setup() {
  const prefix = uniquePrefix('queues');
  const queues = new Queues({ redisUrl: redisUrl(), prefix, logger: silentLogger });
  cleanups.push(async () => {
    await queues.close();
    await deleteKeys(redis, prefix);
  });
  return queues;
}

const restart: HealerJob = {
  action: 'restart',
  run: 'mosaic_moe',
  reason: 'stalled',
  requestedBy: 'monitor',
};

describe('queues', () => {
  it('refuses invalid job data at enqueue with a clear error', async () => {
    const queues = setup();
    await expect(
      queues.enqueue('healer', 'restart', { ...restart, run: 'x; rm -rf /' } as HealerJob),
    ).rejects.toThrow(/invalid healer job data/);
    await expect(queues.enqueue('healer', 'restart', restart, { jobId: 'a:b' })).rejects.toThrow(
      /cannot contain/,
    );
  });

  it('delivers validated data to the processor and dedupes by job id', async () => {
    const queues = setup();
    const seen: HealerJob[] = [];
    const done = new Promise<void>((resolve) => {
      queues.work('healer', async (data) => {
        seen.push(data);
        resolve();
      });
    });
    await Promise.all(
      Array.from({ length: 10 }, () =>
        queues.enqueue('healer', 'restart', restart, { jobId: 'proposal-abc' }),
      ),
    );
    await done;
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual([restart]);
  });

  it('fails malformed jobs (written around enqueue) and permanent errors without retrying', async () => {
    const queues = setup();
    let calls = 0;
    const failed: Job[] = [];
    const worker = queues.work('healer', async () => {
      calls++;
      throw new PolicyViolation('no_profile', 'no profile for RTX 5090');
    });
    worker.on('failed', (job) => job && failed.push(job));
    // Bypass validation the way a stale producer would.
    await queues.queue('healer').add('restart', { action: 'explode' });
    await queues.enqueue('healer', 'restart', restart, {
      attempts: 5,
      backoff: { type: 'fixed', delay: 10 },
    });
    await expect.poll(() => failed.length, { timeout: 5000 }).toBe(2);
    await new Promise((r) => setTimeout(r, 200));
    expect(calls).toBe(1);
    expect(failed.map((j) => j.attemptsMade)).toEqual([1, 1]);
    expect(failed.map((j) => j.failedReason).join('\n')).toMatch(
      /invalid healer job data[\s\S]*PolicyViolation/,
    );
  });

  it('registers one sweep scheduler however many processes call it', async () => {
    const queues = setup();
    const other = new Queues({
      redisUrl: redisUrl(),
      prefix: queues.prefix.replace(/:bull$/, ''),
      logger: silentLogger,
    });
    await Promise.all([
      queues.scheduleSweep(60_000),
      other.scheduleSweep(60_000),
      queues.scheduleSweep(60_000),
    ]);
    const schedulers = await queues.queue('monitor').getJobSchedulers();
    expect(schedulers).toHaveLength(1);
    expect(schedulers[0]?.every).toBe(60_000);
    await other.close();
  });

  it('close() is idempotent and waits for the active job', async () => {
    const queues = setup();
    let finished = false;
    let started!: () => void;
    const startedP = new Promise<void>((r) => {
      started = r;
    });
    queues.work('healer', async () => {
      started();
      await new Promise((r) => setTimeout(r, 300));
      finished = true;
    });
    await queues.enqueue('healer', 'restart', restart);
    await startedP;
    const a = queues.close();
    const b = queues.close();
    expect(a).toBe(b);
    await a;
    expect(finished).toBe(true);
  });
});
