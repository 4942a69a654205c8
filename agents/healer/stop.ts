import { ActionFailedError } from '../../src/errors.js';
import type { RunSpec } from '../../src/fleet/schema.js';
import type { HealerJob } from '../../src/queues/jobs.js';
import { type HealerDeps, type ProgressReporter, report, runTarget } from './deps.js';
import { stopTrainer } from './trainer-launch.js';

/**
 * Stops training on purpose (rule 4's command). The run is marked stoppedByUs so that neither
 * the decisions (which leave such a run alone) nor the monitor (a stopped bid instance is not an
 * outbid) treat the stop as a failure. The instance itself keeps running.
 */
export async function stopRun(
  deps: HealerDeps,
  job: HealerJob,
  spec: RunSpec,
  progress?: ProgressReporter,
): Promise<{ stopped: true; step: number | null }> {
  const { store } = deps;
  const state = await store.getRunState(spec.name);
  const target = runTarget(spec, state);
  if (!target || !state) throw new ActionFailedError(`${spec.name} has no host on record to stop`);
  const probe = await stopTrainer(deps, target, spec);
  const step = probe.heartbeat?.step ?? null;
  await store.putRunState({ ...((await store.getRunState(spec.name)) ?? state), stoppedByUs: true });
  await store.journal.append({
    type: 'stop',
    model: spec.name,
    message: `training stopped on ${target.host}${step === null ? '' : ` at step ${step}`}: ${job.reason}`,
    details: { reason: job.reason, requestedBy: job.requestedBy, step },
  });
  await report(
    progress,
    deps.logger,
    'stop',
    `Stopped ${spec.name}${step === null ? '' : ` at step ${step}`}`,
  );
  return { stopped: true, step };
}
