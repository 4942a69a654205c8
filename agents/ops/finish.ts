import { ActionFailedError, ConductorError, errorMessage, PolicyViolation } from '../../src/errors.js';
import { summarizeLogTail } from '../../src/fleet/health/log.js';
import { checkDestroyAllowed } from '../../src/fleet/policy/destroy-guard.js';
import type { RunSpec } from '../../src/fleet/schema.js';
import { hostKeyId } from '../../src/infra/ssh/host-keys.js';
import type { OpsJob } from '../../src/queues/jobs.js';
import type { RunState } from '../../src/state/types.js';
import { type ProgressReporter, report, runTarget } from '../healer/deps.js';
import { rewriteContinuation } from './continuation.js';
import type { OpsDeps } from './deps.js';

/**
 * Ending a run (after approval): confirm on the host that it reached its target and wrote
 * final.pt, back final.pt up to the run's backup_source, mark the run complete and announce it,
 * then release the instance, which rule 7 allows only once the final checkpoint is backed up.
 * Without a backup_source the run is marked complete and the instance is KEPT (the report says
 * why). `destroy` releases a run's instance later under the same rule.
 */

export interface FinishResult {
  run: string;
  step: number | null;
  backedUp: boolean;
  destroyed: boolean;
  reason: string;
}

const FINAL = 'final.pt';
const backedUpKey = (run: string) => `ops:final-backed-up:${run}`;

/** Dollars of the current instance so far, to move into costAccrued when it goes. */
function currentCost(state: RunState, now: number): number {
  if (state.startedAt === null || now <= state.startedAt) return 0;
  return (state.costPerHr * (now - state.startedAt)) / 3_600_000;
}

/** Releases the run's instance when rule 7 allows it; journals and updates the run's state. */
async function releaseInstance(
  deps: OpsDeps,
  spec: RunSpec,
  state: RunState,
  backedUp: boolean,
  progress: ProgressReporter | undefined,
): Promise<{ destroyed: boolean; reason: string }> {
  const instanceId = state.instanceId;
  if (instanceId === null) return { destroyed: false, reason: `${spec.name} has no instance to release` };
  const guard = checkDestroyAllowed({
    run: spec.name,
    instanceId,
    runComplete: state.complete,
    finalCheckpointBackedUp: backedUp,
  });
  if (!guard.ok) throw new PolicyViolation('destroy_guard', guard.reason);
  const { alreadyGone } = await deps.vast.destroy(instanceId);
  if (state.sshHost && state.sshPort) await deps.hostKeys?.forget(hostKeyId(state.sshHost, state.sshPort));
  const now = deps.clock.now();
  await deps.store.putRunState({
    ...state,
    instanceId: null,
    sshHost: null,
    sshPort: null,
    costPerHr: 0,
    startedAt: null,
    costAccrued: state.costAccrued + currentCost(state, now),
  });
  await deps.store.journal.append({
    type: 'destroy',
    model: spec.name,
    message: `released instance ${instanceId}${alreadyGone ? ' (it was already gone)' : ''}: ${guard.reason}`,
    details: { instance: instanceId, reason: guard.reason, alreadyGone },
  });
  await report(progress, deps.logger, 'destroy', `Released instance ${instanceId}`);
  return { destroyed: true, reason: guard.reason };
}

export async function finishRun(
  deps: OpsDeps,
  job: OpsJob,
  spec: RunSpec,
  progress?: ProgressReporter,
): Promise<FinishResult> {
  const { store, hosts, logger } = deps;
  const state = await store.getRunState(spec.name);
  if (state?.complete && state.instanceId === null) {
    return { run: spec.name, step: null, backedUp: true, destroyed: false, reason: 'already finished' };
  }
  const target = runTarget(spec, state);
  if (!state || !target) throw new ActionFailedError(`${spec.name} has no host on record to finish on`);

  const probe = await hosts.probe(target, spec);
  const log = summarizeLogTail(probe.logTail);
  const step = probe.heartbeat?.step ?? log.lastStep;
  const atTarget = (step !== null && step >= spec.target_steps) || log.complete;
  const hasFinal = probe.checkpoints.some((f) => f.name === FINAL);
  if (!atTarget || !hasFinal) {
    throw new ActionFailedError(
      `${spec.name} is not finished: step ${step ?? '?'} of ${spec.target_steps}, ${hasFinal ? '' : 'no '}${FINAL}`,
    );
  }
  if (probe.processAlive === true) {
    // Still writing its last checkpoint or evaluation: a retry comes back later.
    throw new ConductorError(`${spec.name} reached its target but the trainer is still running`);
  }

  let backedUp = (await store.getMeta(backedUpKey(spec.name))) === '1';
  if (!backedUp && spec.backup_source) {
    try {
      await report(progress, logger, 'backup', `Backing up ${FINAL} to ${spec.backup_source}`);
      await hosts.backupCheckpoint(target, spec, FINAL, spec.backup_source);
      await store.setMeta(backedUpKey(spec.name), '1');
      backedUp = true;
    } catch (err) {
      logger.warn({ run: spec.name, err: errorMessage(err) }, 'backing up final.pt failed');
    }
  }

  const completed: RunState = { ...state, complete: true };
  if (!state.complete) {
    await store.putRunState(completed);
    await store.journal.append({
      type: 'COMPLETE',
      model: spec.name,
      message: `${spec.name} finished at step ${step}${log.bestValLoss === null ? '' : ` (best val loss ${log.bestValLoss})`}`,
      details: { step, bestValLoss: log.bestValLoss, backedUp, reason: job.reason },
    });
  }
  await report(
    progress,
    logger,
    'complete',
    `${spec.name} is complete at step ${step}. ${backedUp ? `${FINAL} is backed up.` : `${FINAL} is NOT backed up.`}`,
  );
  if (!backedUp) {
    const reason = spec.backup_source
      ? `backing up ${FINAL} to ${spec.backup_source} failed: the instance is kept`
      : `${spec.name} has no backup_source: the instance is kept so ${FINAL} is not lost`;
    await report(progress, logger, 'destroy', reason);
    await rewriteContinuation(deps, [
      `Copy ${FINAL} of ${spec.name} off ${target.host}, then release the instance.`,
    ]);
    return { run: spec.name, step, backedUp, destroyed: false, reason };
  }
  const released = await releaseInstance(deps, spec, completed, backedUp, progress);
  await rewriteContinuation(deps, [`${spec.name} is complete; its ${FINAL} is at ${spec.backup_source}.`]);
  return { run: spec.name, step, backedUp, ...released };
}

/** The `destroy` job: release the run's instance, under rule 7 like everything else. */
export async function destroyRunInstance(
  deps: OpsDeps,
  _job: OpsJob,
  spec: RunSpec,
  progress?: ProgressReporter,
): Promise<{ destroyed: boolean; reason: string }> {
  const state = await deps.store.getRunState(spec.name);
  if (!state) return { destroyed: false, reason: `${spec.name} has no state on record` };
  const backedUp = (await deps.store.getMeta(backedUpKey(spec.name))) === '1';
  const result = await releaseInstance(deps, spec, state, backedUp, progress);
  await rewriteContinuation(deps, [`${spec.name} has no instance now.`]);
  return result;
}
