import { ValidationError } from '../../src/errors.js';
import { instanceLockKey, withLock } from '../../src/queues/instance-lock.js';
import type { OpsJob } from '../../src/queues/jobs.js';
import { requireApproval } from '../healer/approval-gate.js';
import { findRun, type ProgressReporter } from '../healer/deps.js';
import { recordRefusal } from '../healer/escalate.js';
import type { OpsDeps } from './deps.js';
import { destroyRunInstance, type FinishResult, finishRun } from './finish.js';
import { type MigrationResult, migrateRun } from './migrate.js';
import { type OffersResult, proposeMigration } from './offers.js';

/**
 * The ops queue's processor: infrastructure changes that cost money or can lose state. `offers`
 * only stores a proposal; `migrate`, `finish` and `destroy` run after a human approved (the
 * approval gate refuses them otherwise) and hold the per-run lock for their whole duration.
 * Policy refusals are journaled POLICY_REFUSED and thrown (permanent: never retried).
 */

export type OpsResult =
  | ({ action: 'offers' } & OffersResult)
  | ({ action: 'migrate' } & MigrationResult)
  | ({ action: 'finish' } & FinishResult)
  | { action: 'destroy'; destroyed: boolean; reason: string };

const LOCK_TTL_MS = 60_000;

export function opsProcessor(deps: OpsDeps) {
  return async (job: OpsJob, meta: { id?: string | undefined } = {}): Promise<OpsResult> => {
    const spec = findRun(deps.fleet, job.run);
    if (!spec) throw new ValidationError(`no run named ${job.run} in the fleet`);
    const onProgress = deps.onProgress;
    const progress: ProgressReporter | undefined =
      onProgress && ((step, text) => onProgress(job, step, text));
    try {
      if (job.action === 'offers')
        return { action: 'offers', ...(await proposeMigration(deps, job, spec, progress)) };
      requireApproval(job.action, job, deps.fleet.policy);
      return await withLock(
        deps.redis,
        instanceLockKey(deps.prefix, job.run),
        async (): Promise<OpsResult> => {
          switch (job.action) {
            case 'migrate':
              return {
                action: 'migrate',
                ...(await migrateRun(deps, job, spec, { jobId: meta.id, progress })),
              };
            case 'finish':
              return { action: 'finish', ...(await finishRun(deps, job, spec, progress)) };
            case 'destroy':
              return { action: 'destroy', ...(await destroyRunInstance(deps, job, spec, progress)) };
            default:
              throw new ValidationError(`unknown ops action ${job.action}`);
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
