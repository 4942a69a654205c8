import type { Redis } from 'ioredis';
import { LockBusyError } from '../../src/errors.js';
import { withLock } from '../../src/queues/instance-lock.js';
import type { MonitorJob } from '../../src/queues/jobs.js';
import { type SweepDeps, type SweepReport, sweep } from './sweep.js';

export interface MonitorProcessorDeps extends SweepDeps {
  redis: Redis;
  prefix: string;
  /** Called after each sweep, e.g. to answer a `/train status --refresh`. */
  onSweep?: (job: MonitorJob, report: SweepReport) => Promise<void>;
  /** Lease of the sweep lock (renewed every third of it while the sweep runs). */
  sweepLockTtlMs?: number;
}

/**
 * Short, because the lease is renewed while a sweep runs: a worker killed mid-sweep holds the
 * lock (and so delays the next sweep) for at most this long.
 */
export const SWEEP_LOCK_TTL_MS = 20_000;

/**
 * The monitor queue's processor. Sweeps never overlap, even across worker processes: a sweep that
 * finds another one running is skipped (the scheduler will fire again), not queued behind it.
 */
export function monitorProcessor(deps: MonitorProcessorDeps) {
  const lockKey = `${deps.prefix}:lock:sweep`;
  return async (job: MonitorJob): Promise<SweepReport | { skipped: true }> => {
    try {
      return await withLock(
        deps.redis,
        lockKey,
        async () => {
          const report = await sweep(deps, job.kind === 'sweep_run' ? [job.run] : undefined);
          await deps.onSweep?.(job, report);
          return report;
        },
        // An on-demand sweep waits for a running one; a scheduled one just skips.
        { ttlMs: deps.sweepLockTtlMs ?? SWEEP_LOCK_TTL_MS, waitMs: job.kind === 'sweep_run' ? 60_000 : 0 },
      );
    } catch (err) {
      if (err instanceof LockBusyError && job.kind === 'sweep') {
        deps.logger.info('previous sweep still running: skipping this one');
        return { skipped: true };
      }
      throw err;
    }
  };
}
