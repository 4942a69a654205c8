import { ActionFailedError } from '../../src/errors.js';
import type { RunSpec } from '../../src/fleet/schema.js';
import type { HealerJob } from '../../src/queues/jobs.js';
import { type HealerDeps, type ProgressReporter, report, runTarget } from './deps.js';
import { cleanDiskPerPolicy } from './trainer-launch.js';

/**
 * Rule 5 as an action: above the policy's threshold, delete the old `step_<N>.pt` files, keeping
 * the newest ones and never latest/best/final (planDiskCleanup decides, the template refuses any
 * other name). Reports what was freed; the trainer keeps running.
 */

export interface CleanDiskResult {
  needed: boolean;
  deleted: string[];
  freedBytes: number;
  diskPctBefore: number | null;
  diskPctAfter: number | null;
  reason: string;
}

export async function cleanDisk(
  deps: HealerDeps,
  job: HealerJob,
  spec: RunSpec,
  progress?: ProgressReporter,
): Promise<CleanDiskResult> {
  const { store, hosts, logger } = deps;
  const target = runTarget(spec, await store.getRunState(spec.name));
  if (!target) throw new ActionFailedError(`${spec.name} has no host on record to clean`);
  const before = await hosts.probe(target, spec);
  const plan = await cleanDiskPerPolicy(hosts, target, spec, before, deps.fleet);
  const deleted = plan.delete.map((f) => f.name);
  const diskPctBefore = before.disk?.usedPct ?? null;
  if (deleted.length === 0) {
    if (plan.needed) {
      await store.journal.append({
        type: 'DECISION',
        model: spec.name,
        message: `disk clean-up found nothing it may delete: ${plan.reason}`,
        details: { reason: plan.reason, diskPct: diskPctBefore },
      });
    }
    await report(progress, logger, 'clean_disk', plan.reason);
    return {
      needed: plan.needed,
      deleted,
      freedBytes: 0,
      diskPctBefore,
      diskPctAfter: diskPctBefore,
      reason: plan.reason,
    };
  }
  const after = await hosts.probe(target, spec).catch(() => null);
  const diskPctAfter = after?.disk?.usedPct ?? null;
  const freedGb = (plan.freedBytes / 1e9).toFixed(1);
  await store.journal.append({
    type: 'AUTO_CLEANUP',
    model: spec.name,
    message: `deleted ${deleted.length} old checkpoints (${freedGb} GB): disk ${diskPctBefore}% -> ${diskPctAfter ?? '?'}%`,
    details: {
      reason: job.reason,
      deleted,
      freedBytes: plan.freedBytes,
      diskPctBefore,
      diskPctAfter,
      kept: plan.keep.map((f) => f.name),
    },
  });
  await report(progress, logger, 'clean_disk', `Deleted ${deleted.join(', ')}: freed ${freedGb} GB`);
  return {
    needed: true,
    deleted,
    freedBytes: plan.freedBytes,
    diskPctBefore,
    diskPctAfter,
    reason: plan.reason,
  };
}
