import {
  ActionFailedError,
  ConductorError,
  errorMessage,
  PolicyViolation,
  ValidationError,
  VastApiError,
  VastRentUnknownError,
} from '../../src/errors.js';
import { checkDestroyAllowed } from '../../src/fleet/policy/destroy-guard.js';
import { buildTrainerArgv } from '../../src/fleet/policy/launch.js';
import type { RunSpec } from '../../src/fleet/schema.js';
import { hostKeyId } from '../../src/infra/ssh/host-keys.js';
import type { SshTarget } from '../../src/infra/ssh/types.js';
import type { VastInstance } from '../../src/infra/vast/types.js';
import type { OpsJob } from '../../src/queues/jobs.js';
import type { RunState } from '../../src/state/types.js';
import { type ProgressReporter, report } from '../healer/deps.js';
import { escalate } from '../healer/escalate.js';
import {
  checkHostConfig,
  cleanDiskPerPolicy,
  describeFailure,
  verifyLaunch,
  verifyWindowMs,
} from '../healer/trainer-launch.js';
import { replacementGrant } from './budget-gate.js';
import { rewriteContinuation } from './continuation.js';
import type { OpsDeps } from './deps.js';
import {
  loadMigrationRecord,
  type MigrationCandidate,
  type MigrationRecord,
  saveMigrationRecord,
} from './migration-record.js';
import { offerByIdQuery } from './offer-query.js';
import { evaluateOffer, type RankedOffer, requiredDiskGb } from './offer-ranking.js';
import { searchAndRank } from './search.js';

/**
 * The approved migration of a run to a new instance, as a resumable job (see migration-record.ts
 * for the steps). Exactly one instance is rented per migration however often the job is killed:
 * before renting, the instances are listed and one carrying this migration's label is adopted;
 * a rent whose answer was lost is resolved by the same lookup. The old instance is destroyed only
 * after the new one is verified training past the step it resumed from (rule 7), and only then
 * is the run's state switched over.
 */

export interface MigrationResult {
  run: string;
  instanceId: number;
  offerId: number;
  oldInstanceId: number | null;
  resumedStep: number;
  step: number;
  checkpointSource: string | null;
}

/** At most this many offers are tried before a human is asked. */
const MAX_CANDIDATES = 3;
const DEFAULT_LOADING_POLL_MS = 15_000;
/** Lookups by label after a rent whose answer was lost (the listing may lag a moment). */
const LOST_RENT_LOOKUPS = 3;
const LOST_RENT_LOOKUP_MS = 5_000;
const GONE_STATUSES = new Set(['exited', 'offline', 'unknown']);

/** A step could not be completed and trying again will not help: the migration stops here. */
class MigrationAbort extends ConductorError {
  override readonly name = 'MigrationAbort';
}

interface StepContext {
  deps: OpsDeps;
  job: OpsJob;
  spec: RunSpec;
  progress: ProgressReporter | undefined;
}

export function migrationKey(job: OpsJob, jobId: string | undefined): string {
  if (job.proposalId !== undefined) return job.proposalId;
  if (jobId !== undefined) return `job-${jobId}`;
  throw new ValidationError('a migration needs a proposal id or a job id to persist its progress under');
}

export function migrationLabel(run: string, key: string): string {
  return `tc-${run}-${key}`;
}

function candidateOf(ranked: RankedOffer): MigrationCandidate {
  return {
    offerId: ranked.offer.id,
    gpuName: ranked.offer.gpu_name,
    numGpus: ranked.offer.num_gpus,
    dph: ranked.pricePerHour,
    bid: ranked.bid ?? null,
    profileKey: ranked.profileKey,
  };
}

function newTarget(rec: MigrationRecord): SshTarget {
  const i = rec.instance;
  if (!i?.sshHost || !i.sshPort) throw new MigrationAbort('the new instance has no SSH endpoint on record');
  return { host: i.sshHost, port: i.sshPort };
}

function oldTarget(rec: MigrationRecord): SshTarget | null {
  return rec.old.sshHost && rec.old.sshPort ? { host: rec.old.sshHost, port: rec.old.sshPort } : null;
}

// --- planning ------------------------------------------------------------------------------

/** The offer the approver chose, checked against every rule; null when it is gone from the market. */
async function chosenOffer(ctx: StepContext, ranked: readonly RankedOffer[], currentStep: number) {
  const { deps, job, spec } = ctx;
  const offerId = job.offerId;
  if (offerId === undefined) return null;
  const listed = ranked.find((r) => r.offer.id === offerId);
  if (listed) return listed;
  const [offer] = await deps.vast.searchOffers(offerByIdQuery(offerId, spec.billing));
  if (!offer || offer.id !== offerId) {
    await deps.store.journal.append({
      type: 'DECISION',
      model: spec.name,
      message: `offer ${offerId} is no longer available: trying the next best offer`,
      details: { reason: 'offer vanished', offer: offerId },
    });
    return null;
  }
  const evaluation = evaluateOffer(offer, { run: spec, fleet: deps.fleet, currentStep });
  if (!evaluation.ok) {
    throw new PolicyViolation(evaluation.rejected.rule, `offer ${offerId}: ${evaluation.rejected.reason}`);
  }
  return evaluation.value;
}

/** Candidates that can actually launch the run (the launch policy holds for their GPU). */
function launchable(spec: RunSpec, deps: OpsDeps, offer: RankedOffer): boolean {
  try {
    buildTrainerArgv(spec, deps.fleet, { name: offer.offer.gpu_name, count: offer.offer.num_gpus });
    return true;
  } catch {
    return false;
  }
}

async function planMigration(ctx: StepContext, key: string): Promise<MigrationRecord> {
  const { deps, job, spec } = ctx;
  if (spec.host) {
    throw new PolicyViolation(
      'static_host',
      `${spec.name} runs on static host ${spec.host.host}: nothing to rent`,
    );
  }
  const { ranking, currentStep } = await searchAndRank(deps, spec);
  const chosen = await chosenOffer(ctx, ranking.ranked, currentStep);
  if (chosen) {
    // The approver's choice must launch: a forbidden config or a missing profile refuses it.
    buildTrainerArgv(spec, deps.fleet, { name: chosen.offer.gpu_name, count: chosen.offer.num_gpus });
  }
  const others = ranking.ranked.filter((r) => r.offer.id !== chosen?.offer.id && launchable(spec, deps, r));
  const candidates = [...(chosen ? [chosen] : []), ...others].slice(0, MAX_CANDIDATES).map(candidateOf);
  if (candidates.length === 0) {
    throw new MigrationAbort(`no acceptable offer to move ${spec.name} to`);
  }
  const state = await deps.store.getRunState(spec.name);
  const health = await deps.store.getHealth(spec.name);
  const now = deps.clock.now();
  return {
    version: 1,
    key,
    run: spec.name,
    proposalId: job.proposalId ?? null,
    label: migrationLabel(spec.name, key),
    reason: job.reason,
    phase: 'planned',
    old: {
      instanceId: state?.instanceId ?? null,
      sshHost: state?.sshHost ?? null,
      sshPort: state?.sshPort ?? null,
      gpuName: state?.gpuName ?? null,
      costPerHr: state?.costPerHr ?? 0,
      startedAt: state?.startedAt ?? null,
      costAccrued: state?.costAccrued ?? 0,
      step: health?.step ?? null,
      downSince: health?.status === 'preempted' ? health.since : null,
    },
    candidates,
    attempt: 0,
    abandoned: [],
    tried: [],
    instance: null,
    checkpointSource: null,
    oldStopped: false,
    launch: null,
    verified: null,
    oldDestroyedAt: null,
    failure: null,
    createdAt: now,
    updatedAt: now,
  };
}

// --- getting an instance -------------------------------------------------------------------

function adoptable(rec: MigrationRecord, instances: readonly VastInstance[]): VastInstance | undefined {
  return instances
    .filter((i) => i.label === rec.label && !rec.abandoned.includes(i.id))
    .sort((a, b) => (b.start_date ?? 0) - (a.start_date ?? 0))[0];
}

async function findByLabel(ctx: StepContext, rec: MigrationRecord): Promise<VastInstance | undefined> {
  return adoptable(rec, await ctx.deps.vast.listInstances());
}

function withInstance(
  ctx: StepContext,
  rec: MigrationRecord,
  candidate: MigrationCandidate,
  found: { id: number; start_date?: number | null },
  adopted: boolean,
): MigrationRecord {
  const now = ctx.deps.clock.now();
  const started = found.start_date ? found.start_date * 1000 : now;
  return {
    ...rec,
    phase: 'rented',
    instance: {
      id: found.id,
      offerId: candidate.offerId,
      gpuName: candidate.gpuName,
      numGpus: candidate.numGpus,
      dph: candidate.dph,
      rentedAt: Math.min(now, started),
      adopted,
      sshHost: null,
      sshPort: null,
    },
  };
}

function nextCandidate(rec: MigrationRecord, offerId: number, outcome: string): MigrationRecord {
  return {
    ...rec,
    phase: 'planned',
    attempt: rec.attempt + 1,
    instance: null,
    tried: [...rec.tried, { offerId, outcome }],
  };
}

/** Vast's answers that are about the offer (gone, price moved, too small), not about us. */
const OFFER_REFUSALS = new Set(['no_such_ask', 'invalid_price', 'invalid_args']);

/** A rent the API refused for this offer: try the next one. Auth and other errors are not that. */
function offerRefused(err: unknown): err is VastApiError {
  return (
    err instanceof VastApiError &&
    !(err instanceof VastRentUnknownError) &&
    (OFFER_REFUSALS.has(err.code ?? '') || err.status === 404)
  );
}

async function lookupAfterLostRent(
  ctx: StepContext,
  rec: MigrationRecord,
): Promise<VastInstance | undefined> {
  for (let i = 0; i < LOST_RENT_LOOKUPS; i++) {
    const found = await findByLabel(ctx, rec);
    if (found) return found;
    await ctx.deps.clock.sleep(LOST_RENT_LOOKUP_MS);
  }
  return undefined;
}

async function acquireInstance(ctx: StepContext, rec: MigrationRecord): Promise<MigrationRecord> {
  const { deps, spec, progress } = ctx;
  const candidate = rec.candidates[rec.attempt];
  if (!candidate) {
    const tried = rec.tried.map((t) => `${t.offerId} (${t.outcome})`).join(', ');
    throw new MigrationAbort(`no offer could be brought up${tried ? `: tried ${tried}` : ''}`);
  }
  // Never rent twice: an instance with our label means an earlier attempt already rented it.
  const existing = await findByLabel(ctx, rec);
  if (existing) {
    await report(
      progress,
      deps.logger,
      'rent',
      `Found instance ${existing.id} from an earlier attempt: using it`,
    );
    await journalProvision(ctx, existing.id, candidate, true);
    return withInstance(ctx, rec, candidate, existing, true);
  }
  const grant = await replacementGrant(deps, spec, candidate.dph);
  if (!grant.granted)
    throw new PolicyViolation('budget', `renting for ${spec.name} refused: ${grant.reason}`);

  await report(
    progress,
    deps.logger,
    'rent',
    `Renting offer ${candidate.offerId}: ${candidate.numGpus}x ${candidate.gpuName} at $${candidate.dph.toFixed(3)}/h`,
  );
  let instanceId: number;
  try {
    const rented = await deps.vast.rent(candidate.offerId, {
      image: deps.fleet.image,
      disk: requiredDiskGb(spec, deps.fleet),
      label: rec.label,
      runtype: 'ssh',
      ...(candidate.bid !== null && { price: candidate.bid }),
    });
    instanceId = rented.instanceId;
  } catch (err) {
    if (err instanceof VastRentUnknownError) {
      const found = await lookupAfterLostRent(ctx, rec);
      // Not found: the rent did not happen; the job's retry looks again before renting.
      if (!found)
        throw new ConductorError(
          `rent of offer ${candidate.offerId} had an unknown outcome and no instance labelled ${rec.label} exists`,
          { cause: err },
        );
      await journalProvision(ctx, found.id, candidate, true);
      return withInstance(ctx, rec, candidate, found, true);
    }
    if (offerRefused(err)) {
      await deps.store.journal.append({
        type: 'DECISION',
        model: spec.name,
        message: `offer ${candidate.offerId} could not be rented (${err.code ?? err.status}): trying the next offer`,
        details: { reason: err.message, offer: candidate.offerId },
      });
      await report(
        progress,
        deps.logger,
        'rent',
        `Offer ${candidate.offerId} is gone (${err.code}): trying the next one`,
      );
      return nextCandidate(rec, candidate.offerId, `rent refused: ${err.code ?? err.status}`);
    }
    throw err;
  }
  await journalProvision(ctx, instanceId, candidate, false);
  return withInstance(ctx, rec, candidate, { id: instanceId }, false);
}

async function journalProvision(ctx: StepContext, id: number, c: MigrationCandidate, adopted: boolean) {
  await ctx.deps.store.journal.append({
    type: 'provision',
    model: ctx.spec.name,
    message: `${adopted ? 'found' : 'rented'} instance ${id}: ${c.numGpus}x ${c.gpuName} at $${c.dph.toFixed(3)}/h${c.bid === null ? '' : ' (bid)'}`,
    details: { instance: id, offer: c.offerId, dph: c.dph, bid: c.bid, profile: c.profileKey, adopted },
  });
}

// --- bringing it up ------------------------------------------------------------------------

async function abandonInstance(
  ctx: StepContext,
  rec: MigrationRecord,
  why: string,
): Promise<MigrationRecord> {
  const { deps, spec, progress } = ctx;
  const instance = rec.instance;
  if (!instance) return rec;
  await deps.vast.destroy(instance.id);
  await deps.store.journal.append({
    type: 'destroy',
    model: spec.name,
    message: `destroyed new instance ${instance.id} before use: ${why}`,
    details: { instance: instance.id, offer: instance.offerId, reason: why },
  });
  await report(
    progress,
    deps.logger,
    'rent',
    `Instance ${instance.id} ${why}: destroyed it, trying the next offer`,
  );
  return {
    ...nextCandidate(rec, instance.offerId, why),
    abandoned: [...rec.abandoned, instance.id],
  };
}

async function waitRunning(ctx: StepContext, rec: MigrationRecord): Promise<MigrationRecord> {
  const { deps } = ctx;
  const instance = rec.instance;
  if (!instance) return { ...rec, phase: 'planned' };
  const timeoutMin = deps.fleet.thresholds.loading_timeout_minutes;
  const deadline = instance.rentedAt + timeoutMin * 60_000;
  const pollMs = deps.loadingPollMs ?? DEFAULT_LOADING_POLL_MS;
  for (;;) {
    const seen = await deps.vast.getInstance(instance.id);
    if (seen === null) return abandonInstance(ctx, rec, 'vanished while loading');
    if (seen.actual_status === 'running' && seen.ssh_host && seen.ssh_port) {
      await report(ctx.progress, deps.logger, 'running', `Instance ${instance.id} is running`);
      return {
        ...rec,
        phase: 'running',
        instance: { ...instance, sshHost: seen.ssh_host, sshPort: seen.ssh_port },
      };
    }
    if (GONE_STATUSES.has(seen.actual_status ?? '')) {
      return abandonInstance(ctx, rec, `went ${seen.actual_status} while loading`);
    }
    if (deps.clock.now() >= deadline) {
      return abandonInstance(ctx, rec, `did not reach running within ${timeoutMin} min`);
    }
    await deps.clock.sleep(Math.min(pollMs, Math.max(1, deadline - deps.clock.now())));
  }
}

async function pinHostKey(ctx: StepContext, rec: MigrationRecord): Promise<MigrationRecord> {
  await ctx.deps.hosts.pinHostKey(newTarget(rec));
  return { ...rec, phase: 'host_ready' };
}

/**
 * Stops the trainer on the old host and marks the run stoppedByUs, so the rules do not restart
 * it there while the migration runs (the switch to the new instance clears the mark; a failed
 * migration clears it too, see `fail`). Only while the run still points at the old instance.
 */
async function stopOldTrainer(ctx: StepContext, rec: MigrationRecord, from: SshTarget): Promise<void> {
  const { deps, spec } = ctx;
  const state = await deps.store.getRunState(spec.name);
  const onOld = state !== null && state.instanceId === rec.old.instanceId;
  const mark = onOld && !state.stoppedByUs;
  if (mark) await deps.store.putRunState({ ...state, stoppedByUs: true });
  try {
    await deps.hosts.stop(from);
  } catch (err) {
    const now = await deps.store.getRunState(spec.name);
    if (mark && now?.stoppedByUs) await deps.store.putRunState({ ...now, stoppedByUs: false });
    throw err;
  }
  await deps.store.journal.append({
    type: 'stop',
    model: spec.name,
    message: `stopped the trainer on old instance ${rec.old.instanceId ?? from.host} before copying latest.pt`,
    details: { instance: rec.old.instanceId, migration: rec.key },
  });
}

/** latest.pt onto the new host: already there, from the old host, or from the backup. */
async function ensureCheckpoint(ctx: StepContext, rec: MigrationRecord): Promise<MigrationRecord> {
  const { deps, spec, progress } = ctx;
  const target = newTarget(rec);
  const hasLatest = async () =>
    (await deps.hosts.probe(target, spec)).checkpoints.some((f) => f.name === 'latest.pt');
  if (await hasLatest()) return { ...rec, phase: 'checkpoint_ready', checkpointSource: 'already present' };

  const from = oldTarget(rec);
  let stopped = rec.oldStopped;
  if (from) {
    try {
      // A trainer still running there would write latest.pt during the upload (a torn copy) and
      // go on training beside the new one: stop it first. Nothing to stop on an outbid host.
      if (!stopped) {
        await stopOldTrainer(ctx, rec, from);
        stopped = true;
      }
      await report(progress, deps.logger, 'checkpoint', `Copying latest.pt from ${from.host}`);
      await deps.hosts.copyCheckpoint(from, target, spec);
      if (await hasLatest())
        return {
          ...rec,
          phase: 'checkpoint_ready',
          checkpointSource: `old host ${from.host}`,
          oldStopped: stopped,
        };
    } catch (err) {
      deps.logger.info({ run: spec.name, err: errorMessage(err) }, 'old host unavailable for the checkpoint');
    }
  }
  rec = { ...rec, oldStopped: stopped };
  if (spec.backup_source) {
    await report(progress, deps.logger, 'checkpoint', `Restoring latest.pt from ${spec.backup_source}`);
    await deps.hosts.restoreCheckpoint(target, spec, spec.backup_source);
    if (await hasLatest()) return { ...rec, phase: 'checkpoint_ready', checkpointSource: spec.backup_source };
    throw new MigrationAbort(
      `restoring latest.pt from ${spec.backup_source} left no checkpoint on the new host`,
    );
  }
  if (!rec.old.step) return { ...rec, phase: 'checkpoint_ready', checkpointSource: null };
  throw new MigrationAbort(
    `no copy of latest.pt could reach the new host (the old host is unreachable and ${spec.name} has no backup_source)`,
  );
}

async function checkDiskAndConfig(ctx: StepContext, rec: MigrationRecord): Promise<MigrationRecord> {
  const { deps, spec } = ctx;
  const target = newTarget(rec);
  const probe = await deps.hosts.probe(target, spec);
  const plan = await cleanDiskPerPolicy(deps.hosts, target, spec, probe, deps.fleet);
  if (plan.delete.length > 0) {
    await deps.store.journal.append({
      type: 'AUTO_CLEANUP',
      model: spec.name,
      message: `on the new instance before starting: ${plan.reason}`,
      details: { deleted: plan.delete.map((f) => f.name), freedBytes: plan.freedBytes },
    });
  }
  await checkHostConfig(deps.hosts, target, spec);
  return { ...rec, phase: 'disk_checked' };
}

async function launch(ctx: StepContext, rec: MigrationRecord): Promise<MigrationRecord> {
  const { deps, spec, progress } = ctx;
  const instance = rec.instance;
  if (!instance) throw new MigrationAbort('no new instance on record');
  const target = newTarget(rec);
  const argv = buildTrainerArgv(spec, deps.fleet, { name: instance.gpuName, count: instance.numGpus });
  const probe = await deps.hosts.probe(target, spec);
  if (probe.processAlive === true) {
    // Killed after launching but before recording it: the trainer is ours, do not start another.
    return { ...rec, phase: 'launched', launch: { at: deps.clock.now(), hostTime: null } };
  }
  await report(progress, deps.logger, 'launch', `Starting training on instance ${instance.id}`);
  const at = deps.clock.now();
  await deps.hosts.launch(target, argv);
  await deps.store.journal.append({
    type: 'start',
    model: spec.name,
    message: `started training on instance ${instance.id}: ${argv.join(' ')}`,
    details: { instance: instance.id, argv },
  });
  return { ...rec, phase: 'launched', launch: { at, hostTime: probe.hostTime } };
}

async function verify(ctx: StepContext, rec: MigrationRecord): Promise<MigrationRecord> {
  const { deps, spec, progress } = ctx;
  const launched = rec.launch;
  if (!launched) return { ...rec, phase: 'disk_checked' };
  const windowMs = verifyWindowMs(deps.fleet);
  await report(
    progress,
    deps.logger,
    'verify',
    `Waiting for the step to advance (up to ${windowMs / 60_000} min)`,
  );
  const outcome = await verifyLaunch(deps, newTarget(rec), spec, {
    sinceHostTime: launched.hostTime,
    deadline: launched.at + windowMs,
  });
  if (outcome.kind !== 'advancing') {
    throw new MigrationAbort(
      `the new instance ${rec.instance?.id} is not training (${describeFailure(outcome, windowMs / 60_000)}); ` +
        'both instances are kept for a human to look at',
    );
  }
  await report(
    progress,
    deps.logger,
    'verified',
    `Training on the new instance: step ${outcome.step} (resumed at ${outcome.resumedStep})`,
  );
  return {
    ...rec,
    phase: 'verified',
    verified: { resumedStep: outcome.resumedStep, step: outcome.step, at: deps.clock.now() },
  };
}

async function destroyOld(ctx: StepContext, rec: MigrationRecord): Promise<MigrationRecord> {
  const { deps, spec, progress } = ctx;
  const oldId = rec.old.instanceId;
  const now = deps.clock.now();
  if (oldId === null || oldId === rec.instance?.id)
    return { ...rec, phase: 'old_destroyed', oldDestroyedAt: now };
  const guard = checkDestroyAllowed({
    run: spec.name,
    instanceId: oldId,
    runComplete: false,
    finalCheckpointBackedUp: false,
    ...(rec.instance &&
      rec.verified && {
        replacement: {
          instanceId: rec.instance.id,
          verifiedTraining: true,
          resumedStep: rec.verified.resumedStep,
          currentStep: rec.verified.step,
        },
      }),
  });
  if (!guard.ok) throw new PolicyViolation('destroy_guard', guard.reason);
  const { alreadyGone } = await deps.vast.destroy(oldId);
  const from = oldTarget(rec);
  if (from) await deps.hostKeys?.forget(hostKeyId(from.host, from.port));
  await deps.store.journal.append({
    type: 'destroy',
    model: spec.name,
    message: `destroyed old instance ${oldId}${alreadyGone ? ' (it was already gone)' : ''}: ${guard.reason}`,
    details: { instance: oldId, reason: guard.reason, alreadyGone },
  });
  await report(progress, deps.logger, 'destroy', `Destroyed the old instance ${oldId}`);
  return { ...rec, phase: 'old_destroyed', oldDestroyedAt: now };
}

/** Dollars the old instance cost, up to when it stopped billing (went down, or was destroyed). */
function oldInstanceCost(rec: MigrationRecord): number {
  const { startedAt, costPerHr, downSince } = rec.old;
  const end = downSince ?? rec.oldDestroyedAt;
  if (startedAt === null || end === null || end <= startedAt) return 0;
  return (costPerHr * (end - startedAt)) / 3_600_000;
}

async function recordNewState(ctx: StepContext, rec: MigrationRecord): Promise<MigrationRecord> {
  const { deps, spec, progress } = ctx;
  const instance = rec.instance;
  if (!instance) throw new MigrationAbort('no new instance on record');
  const current = await deps.store.getRunState(spec.name);
  // Absolute values from the snapshot: writing this twice (a retry) accrues the old cost once.
  const next: RunState = {
    run: spec.name,
    paused: current?.paused ?? false,
    instanceId: instance.id,
    sshHost: instance.sshHost,
    sshPort: instance.sshPort,
    gpuName: instance.gpuName,
    numGpus: instance.numGpus,
    costPerHr: instance.dph,
    startedAt: instance.rentedAt,
    costAccrued: rec.old.costAccrued + oldInstanceCost(rec),
    stoppedByUs: false,
    complete: false,
  };
  await deps.store.putRunState(next);
  const message =
    `moved ${spec.name} from instance ${rec.old.instanceId ?? 'none'} to ${instance.id} ` +
    `(${instance.numGpus}x ${instance.gpuName}, $${instance.dph.toFixed(3)}/h): ` +
    `resumed at step ${rec.verified?.resumedStep}, now ${rec.verified?.step}`;
  await deps.store.journal.append({
    type: 'REPLACE',
    model: spec.name,
    message,
    details: {
      reason: rec.reason,
      from: rec.old.instanceId,
      to: instance.id,
      offer: instance.offerId,
      proposal: rec.proposalId,
      checkpoint: rec.checkpointSource,
      resumedStep: rec.verified?.resumedStep,
      step: rec.verified?.step,
      requestedBy: ctx.job.requestedBy,
    },
  });
  await report(progress, deps.logger, 'done', `Done: ${message}`);
  await rewriteContinuation(deps, [
    `Watch ${spec.name} on instance ${instance.id}: it should keep advancing past step ${rec.verified?.step ?? '?'}.`,
  ]);
  return { ...rec, phase: 'done' };
}

type Step = (ctx: StepContext, rec: MigrationRecord) => Promise<MigrationRecord>;

const NEXT_STEP: Record<Exclude<MigrationRecord['phase'], 'done' | 'failed'>, Step> = {
  planned: acquireInstance,
  rented: waitRunning,
  running: pinHostKey,
  host_ready: ensureCheckpoint,
  checkpoint_ready: checkDiskAndConfig,
  disk_checked: launch,
  launched: verify,
  verified: destroyOld,
  old_destroyed: recordNewState,
};

function resultOf(rec: MigrationRecord): MigrationResult {
  return {
    run: rec.run,
    instanceId: rec.instance?.id ?? 0,
    offerId: rec.instance?.offerId ?? 0,
    oldInstanceId: rec.old.instanceId,
    resumedStep: rec.verified?.resumedStep ?? 0,
    step: rec.verified?.step ?? 0,
    checkpointSource: rec.checkpointSource,
  };
}

async function persist(ctx: StepContext, rec: MigrationRecord): Promise<MigrationRecord> {
  const saved = { ...rec, updatedAt: ctx.deps.clock.now() };
  await saveMigrationRecord(ctx.deps.redis, ctx.deps.prefix, saved);
  await ctx.deps.afterPersist?.(saved.phase);
  return saved;
}

async function fail(ctx: StepContext, rec: MigrationRecord, err: Error): Promise<never> {
  const { deps, spec, job } = ctx;
  const why = err.message;
  await persist(ctx, { ...rec, phase: 'failed', failure: why });
  if (rec.oldStopped) {
    // The run stays where it was: let the rules restart the trainer we stopped for the copy.
    const state = await deps.store.getRunState(spec.name);
    if (state?.stoppedByUs && state.instanceId === rec.old.instanceId) {
      await deps.store.putRunState({ ...state, stoppedByUs: false });
    }
  }
  if (!(err instanceof PolicyViolation)) {
    await escalate(deps, {
      run: spec.name,
      incidentId: job.incidentId,
      message: `migration of ${spec.name} stopped: ${why}`,
      details: { reason: why, phase: rec.phase, instance: rec.instance?.id ?? null, old: rec.old.instanceId },
    });
  }
  await report(ctx.progress, deps.logger, 'failed', `Migration stopped: ${why}`);
  if (err instanceof PolicyViolation) throw err;
  throw new ActionFailedError(`migration of ${spec.name} failed: ${why}`, { cause: err });
}

/** Runs (or resumes) the migration to the end. The caller holds the per-run lock. */
export async function migrateRun(
  deps: OpsDeps,
  job: OpsJob,
  spec: RunSpec,
  options: { jobId?: string | undefined; progress?: ProgressReporter | undefined } = {},
): Promise<MigrationResult> {
  const ctx: StepContext = { deps, job, spec, progress: options.progress };
  const key = migrationKey(job, options.jobId);
  let rec = await loadMigrationRecord(deps.redis, deps.prefix, key);
  if (rec?.phase === 'done') return resultOf(rec);
  if (rec?.phase === 'failed') throw new ActionFailedError(`migration ${key} already failed: ${rec.failure}`);
  if (rec === null) {
    try {
      rec = await persist(ctx, await planMigration(ctx, key));
    } catch (err) {
      if (err instanceof MigrationAbort) {
        await escalate(deps, { run: spec.name, incidentId: job.incidentId, message: err.message });
        throw new ActionFailedError(err.message, { cause: err });
      }
      throw err;
    }
  }
  while (rec.phase !== 'done' && rec.phase !== 'failed') {
    let next: MigrationRecord;
    try {
      next = await NEXT_STEP[rec.phase](ctx, rec);
    } catch (err) {
      if (err instanceof MigrationAbort || err instanceof PolicyViolation) return fail(ctx, rec, err);
      throw err;
    }
    rec = await persist(ctx, next);
  }
  return resultOf(rec);
}
