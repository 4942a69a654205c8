import { z } from 'zod';
import { ActionFailedError, errorMessage } from '../../src/errors.js';
import type { ProbeResult } from '../../src/fleet/health/types.js';
import { buildTrainerArgv } from '../../src/fleet/policy/launch.js';
import type { RunSpec } from '../../src/fleet/schema.js';
import type { SshTarget } from '../../src/infra/ssh/types.js';
import type { HealerJob } from '../../src/queues/jobs.js';
import { type HealerDeps, type ProgressReporter, report, runGpu, runTarget } from './deps.js';
import { escalate } from './escalate.js';
import { RemoteCommandError } from './host-commands.js';
import {
  checkHostConfig,
  cleanDiskPerPolicy,
  describeFailure,
  stopTrainer,
  verifyLaunch,
  verifyWindowMs,
} from './trainer-launch.js';
import { isAdvancing } from './trainer-progress.js';

/**
 * Restart a run's trainer on its current host: policy checks first (nothing is touched when the
 * launch would be refused), then stop -> disk clean-up -> launch -> verify the step advances past
 * the resumed checkpoint within verify_window_minutes. The caller holds the per-run lock.
 *
 * Retried after a crash, it must not launch twice: a launch marker (host, time) is stored before
 * verification starts, so a retry that finds the trainer alive resumes verifying instead of
 * launching again; and a trainer that is alive and advancing without our marker is left alone.
 * Nor does it launch over a trainer that survived the stop (stuck in the kernel, or respawned by
 * something on the host): two trainers on one run dir corrupt its checkpoints, so a human is paged.
 */

export interface RestartResult {
  outcome: 'restarted' | 'already_running';
  resumedStep?: number;
  step?: number;
  deletedCheckpoints?: string[];
}

const LaunchMarkerSchema = z.object({
  target: z.string(),
  /** Our clock, epoch ms. */
  at: z.number(),
  /** Host clock at launch, epoch s. */
  hostTime: z.number().nullable(),
});
type LaunchMarker = z.infer<typeof LaunchMarkerSchema>;

/** Clock ms between the two looks that tell a running trainer is advancing (3 heartbeats). */
const ADVANCE_SAMPLE_MS = 90_000;

const markerKey = (run: string) => `healer:launch:${run}`;
const targetId = (t: SshTarget) => `${t.host}:${t.port}`;

async function readMarker(deps: HealerDeps, run: string, target: SshTarget): Promise<LaunchMarker | null> {
  const raw = await deps.store.getMeta(markerKey(run));
  if (raw === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  const parsed = LaunchMarkerSchema.safeParse(value);
  return parsed.success && parsed.data.target === targetId(target) ? parsed.data : null;
}

async function writeMarker(deps: HealerDeps, run: string, marker: LaunchMarker): Promise<void> {
  // Redis expiry is real time; the marker only matters while its verification window is open.
  const ttlMs = (verifyWindowMs(deps.fleet) * 2) / deps.clock.speed;
  await deps.store.setMeta(markerKey(run), JSON.stringify(marker), ttlMs);
}

export async function restartRun(
  deps: HealerDeps,
  job: HealerJob,
  spec: RunSpec,
  progress?: ProgressReporter,
  signal?: AbortSignal,
): Promise<RestartResult> {
  const { store, hosts, clock, logger } = deps;
  const state = await store.getRunState(spec.name);
  const target = runTarget(spec, state);
  const gpu = runGpu(spec, state);
  if (!target || !gpu) throw new ActionFailedError(`${spec.name} has no host on record to restart on`);
  // Rules 1-3 before anything is touched: a refused launch must not leave the run stopped.
  const argv = buildTrainerArgv(spec, deps.fleet, gpu);

  const before = await hosts.probe(target, spec);
  const marker = await readMarker(deps, spec.name, target);
  if (before.processAlive === true) {
    if (marker) {
      logger.info({ run: spec.name }, 'restart retried after its launch: verifying, not launching again');
      return verifyRestart(deps, job, spec, target, marker, [], progress, signal);
    }
    await clock.sleep(ADVANCE_SAMPLE_MS, signal);
    const after = await hosts.probe(target, spec);
    // A trainer whose loss went NaN keeps stepping: advancing proves nothing then, restart it.
    const nan = before.heartbeat?.lossIsNaN === true || after.heartbeat?.lossIsNaN === true;
    if (!nan && isAdvancing(before, after)) {
      const message = 'the trainer is already running and advancing: not restarting it';
      await store.journal.append({
        type: 'DECISION',
        model: spec.name,
        message,
        details: { reason: job.reason },
      });
      await report(progress, logger, 'skipped', message);
      return { outcome: 'already_running' };
    }
  }
  await checkHostConfig(hosts, target, spec);

  await report(progress, logger, 'stop', `Stopping the trainer on ${target.host}`);
  const stopped = await stopBeforeLaunch(deps, job, spec, target, progress);
  const plan = await cleanDiskPerPolicy(hosts, target, spec, stopped, deps.fleet);
  const deleted = plan.delete.map((f) => f.name);
  if (deleted.length > 0) {
    await store.journal.append({
      type: 'AUTO_CLEANUP',
      model: spec.name,
      message: `before restarting: ${plan.reason}`,
      details: { deleted, freedBytes: plan.freedBytes, diskPct: stopped.disk?.usedPct ?? null },
    });
  }

  await report(progress, logger, 'launch', `Launching: ${argv.join(' ')}`);
  const launched: LaunchMarker = { target: targetId(target), at: clock.now(), hostTime: stopped.hostTime };
  await hosts.launch(target, argv);
  await writeMarker(deps, spec.name, launched);
  return verifyRestart(deps, job, spec, target, launched, deleted, progress, signal);
}

/** The probe after a stop that left no trainer; a stop that did not, fails the restart (escalated). */
async function stopBeforeLaunch(
  deps: HealerDeps,
  job: HealerJob,
  spec: RunSpec,
  target: SshTarget,
  progress: ProgressReporter | undefined,
): Promise<ProbeResult> {
  let why: string;
  try {
    const stopped = await stopTrainer(deps, target, spec);
    if (stopped.processAlive !== true) return stopped;
    why = 'a trainer is still running after the stop';
  } catch (err) {
    // The stop ran and reported a survivor; SSH failures stay transient and are retried.
    if (!(err instanceof RemoteCommandError)) throw err;
    why = errorMessage(err);
  }
  const message = `restart on ${target.host} stopped before launching: the old trainer could not be stopped (${why})`;
  await deps.store.journal.append({
    type: 'RESTART_FAILED',
    model: spec.name,
    message,
    details: { reason: job.reason, outcome: 'stop_failed' },
  });
  await escalate(deps, {
    run: spec.name,
    incidentId: job.incidentId,
    message: `${spec.name}: the trainer on ${target.host} survives kill -9 (${why}); not launching a second one. A human should look (reboot or replace the instance).`,
    details: { reason: why },
  });
  await report(
    progress,
    deps.logger,
    'failed',
    `Restart failed: the old trainer could not be stopped. Escalated.`,
  );
  throw new ActionFailedError(
    `restart of ${spec.name} failed: the old trainer could not be stopped (${why})`,
  );
}

async function verifyRestart(
  deps: HealerDeps,
  job: HealerJob,
  spec: RunSpec,
  target: SshTarget,
  marker: LaunchMarker,
  deleted: string[],
  progress: ProgressReporter | undefined,
  signal: AbortSignal | undefined,
): Promise<RestartResult> {
  const { store, logger } = deps;
  const windowMs = verifyWindowMs(deps.fleet);
  await report(
    progress,
    logger,
    'verify',
    `Waiting for the step to advance (up to ${windowMs / 60_000} min)`,
  );
  const outcome = await verifyLaunch(deps, target, spec, {
    sinceHostTime: marker.hostTime,
    deadline: marker.at + windowMs,
    signal,
  });
  await deps.redis.del(store.keys.meta(markerKey(spec.name)));

  if (outcome.kind === 'advancing') {
    const state = await store.getRunState(spec.name);
    if (state?.stoppedByUs) await store.putRunState({ ...state, stoppedByUs: false });
    const details = {
      reason: job.reason,
      requestedBy: job.requestedBy,
      resumedStep: outcome.resumedStep,
      step: outcome.step,
      ...(job.incidentId !== undefined && { incident: job.incidentId }),
    };
    await store.journal.append({
      type: 'AUTO_RESTART',
      model: spec.name,
      message: `restarted on ${target.host}: resumed at step ${outcome.resumedStep}, now at ${outcome.step}`,
      details,
    });
    await store.journal.append({
      type: 'FIX',
      model: spec.name,
      message: `restart fixed it (${job.reason}): training advancing past step ${outcome.resumedStep}`,
      details,
    });
    await report(
      progress,
      logger,
      'verified',
      `Training again: step ${outcome.step} (resumed at ${outcome.resumedStep})`,
    );
    return {
      outcome: 'restarted',
      resumedStep: outcome.resumedStep,
      step: outcome.step,
      deletedCheckpoints: deleted,
    };
  }

  const why = describeFailure(outcome, windowMs / 60_000);
  await store.journal.append({
    type: 'RESTART_FAILED',
    model: spec.name,
    message: `restart on ${target.host} failed: ${why}`,
    details: {
      reason: job.reason,
      outcome: outcome.kind,
      ...(outcome.kind === 'timeout' && { lastStep: outcome.lastStep }),
    },
  });
  await escalate(deps, {
    run: spec.name,
    incidentId: job.incidentId,
    message: `automatic restart did not bring ${spec.name} back (${why}): a human should look`,
    details: { reason: why },
  });
  await report(progress, logger, 'failed', `Restart failed: ${why}. Escalated.`);
  throw new ActionFailedError(`restart of ${spec.name} failed: ${why}`);
}
