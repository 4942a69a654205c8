import { ValidationError } from '../../src/errors.js';
import { instanceLockKey, withLock } from '../../src/queues/instance-lock.js';
import type { HealerJob } from '../../src/queues/jobs.js';
import { requireApproval } from './approval-gate.js';
import { type CleanDiskResult, cleanDisk } from './clean-disk.js';
import { collectLogs } from './collect-logs.js';
import { findRun, type HealerDeps, type ProgressReporter } from './deps.js';
import { recordRefusal } from './escalate.js';
import { type RestartResult, restartRun } from './restart.js';
import { stopRun } from './stop.js';

/**
 * The healer queue's processor: routine repairs on a run's current host, one action per run at
 * a time (the per-run lock, shared with ops). Job data arrives zod-validated by the queue layer.
 * Policy refusals are journaled POLICY_REFUSED and thrown (permanent: never retried).
 */

export interface HealerProcessorDeps extends HealerDeps {
  /** Progress for the job's Slack thread (the notify side posts it). */
  onProgress?: (job: HealerJob, step: string, text: string) => Promise<void> | void;
}

export type HealerResult =
  | ({ action: 'restart' } & RestartResult)
  | ({ action: 'clean_disk' } & CleanDiskResult)
  | { action: 'collect_logs'; lines: string[] }
  | { action: 'stop'; stopped: true; step: number | null };

/** Long enough for a lock holder between renewals; renewed while the action runs. */
const LOCK_TTL_MS = 60_000;

export function healerProcessor(deps: HealerProcessorDeps) {
  return async (job: HealerJob): Promise<HealerResult> => {
    const spec = findRun(deps.fleet, job.run);
    if (!spec) throw new ValidationError(`no run named ${job.run} in the fleet`);
    const onProgress = deps.onProgress;
    const progress: ProgressReporter | undefined =
      onProgress && ((step, text) => onProgress(job, step, text));
    try {
      requireApproval(job.action, job, deps.fleet.policy);
      return await withLock(
        deps.redis,
        instanceLockKey(deps.prefix, job.run),
        async (signal): Promise<HealerResult> => {
          switch (job.action) {
            case 'restart':
              return { action: 'restart', ...(await restartRun(deps, job, spec, progress, signal)) };
            case 'clean_disk':
              return { action: 'clean_disk', ...(await cleanDisk(deps, job, spec, progress)) };
            case 'collect_logs':
              return { action: 'collect_logs', ...(await collectLogs(deps, spec, progress)) };
            case 'stop':
              return { action: 'stop', ...(await stopRun(deps, job, spec, progress)) };
          }
        },
        { ttlMs: LOCK_TTL_MS, waitMs: deps.lockWaitMs ?? 30_000 },
      );
    } catch (err) {
      await recordRefusal(deps, job, err);
      throw err;
    }
  };
}
