import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import { QUEUE_NAMES } from '../queues/jobs.js';
import type { Queues } from '../queues/queues.js';
import type { Store } from '../state/store.js';

export interface HealthReport {
  ok: boolean;
  redis: 'up' | 'down';
  lastSweepAgeS: number | null;
  sweepIntervalS: number;
  queues: Record<string, { waiting: number; active: number; failed: number; delayed: number }>;
  problems: string[];
}

export interface HealthDeps {
  redis: Redis;
  store: Store;
  queues: Queues;
  clock: Clock;
  sweepIntervalS: number;
}

/** /healthz: Redis reachable, queue depths, and a sweep within the last three intervals. */
export async function healthReport(deps: HealthDeps): Promise<HealthReport> {
  const problems: string[] = [];
  let redis: HealthReport['redis'] = 'up';
  try {
    await deps.redis.ping();
  } catch {
    redis = 'down';
    problems.push('redis unreachable');
  }
  const queues: HealthReport['queues'] = {};
  let lastSweepAgeS: number | null = null;
  if (redis === 'up') {
    for (const name of QUEUE_NAMES) {
      const c = await deps.queues.queue(name).getJobCounts('waiting', 'active', 'failed', 'delayed');
      queues[name] = {
        waiting: c.waiting ?? 0,
        active: c.active ?? 0,
        failed: c.failed ?? 0,
        delayed: c.delayed ?? 0,
      };
    }
    const last = await deps.store.getMeta('last_sweep');
    if (last !== null) lastSweepAgeS = Math.max(0, (deps.clock.now() - Number(last)) / 1000);
    if (lastSweepAgeS !== null && lastSweepAgeS > 3 * deps.sweepIntervalS) {
      problems.push(`last sweep ${Math.round(lastSweepAgeS)} s ago (interval ${deps.sweepIntervalS} s)`);
    }
  }
  return {
    ok: problems.length === 0,
    redis,
    lastSweepAgeS,
    sweepIntervalS: deps.sweepIntervalS,
    queues,
    problems,
  };
}
