import { errorMessage, PolicyViolation } from '../../src/errors.js';
import type { ProbeResult } from '../../src/fleet/health/types.js';
import { type DiskCleanupPlan, planDiskCleanup } from '../../src/fleet/policy/disk-cleanup.js';
import type { Fleet, RunSpec } from '../../src/fleet/schema.js';
import type { SshTarget } from '../../src/infra/ssh/types.js';
import type { HealerDeps } from './deps.js';
import type { HostCommands } from './host-commands.js';
import { sampleTrainer, type TrainerSample, type VerifyVerdict, verifyVerdict } from './trainer-progress.js';

/**
 * The host-side steps shared by a restart (healer) and a migration (ops): check the config on the
 * host, stop, clean the disk, launch, verify. Each is a small function so the two callers can
 * persist their progress between them.
 */

const DEFAULT_POLL_MS = 30_000;
const STOP_WAIT_MS = 30_000;
const STOP_POLL_MS = 2_000;

/**
 * Rule 1 checked where it matters: the config file on the host must have the run's expert count
 * (a 4-expert checkpoint cannot resume under an 8-expert config, whatever the file is called).
 */
export async function checkHostConfig(hosts: HostCommands, target: SshTarget, spec: RunSpec): Promise<void> {
  if (spec.n_experts === undefined) return;
  const found = await hosts.configExperts(target, spec.config);
  if (found !== spec.n_experts) {
    throw new PolicyViolation(
      'n_experts_mismatch',
      `${spec.config} on ${target.host} has ${found === null ? 'no' : found} experts but ${spec.name} uses ${spec.n_experts}: ` +
        'it would not match the checkpoint',
    );
  }
}

/** Stops the trainer and waits (briefly, on the clock) until no trainer is left. */
export async function stopTrainer(
  deps: Pick<HealerDeps, 'hosts' | 'clock'>,
  target: SshTarget,
  spec: RunSpec,
): Promise<ProbeResult> {
  await deps.hosts.stop(target);
  const deadline = deps.clock.now() + STOP_WAIT_MS;
  for (;;) {
    const probe = await deps.hosts.probe(target, spec);
    if (probe.processAlive !== true || deps.clock.now() >= deadline) return probe;
    await deps.clock.sleep(STOP_POLL_MS);
  }
}

/** Rule 5 before a long start: above the threshold, delete the old numbered checkpoints. */
export async function cleanDiskPerPolicy(
  hosts: HostCommands,
  target: SshTarget,
  spec: RunSpec,
  probe: ProbeResult,
  fleet: Pick<Fleet, 'policy'>,
): Promise<DiskCleanupPlan> {
  const plan = planDiskCleanup(probe.checkpoints, probe.disk?.usedPct ?? Number.NaN, fleet.policy);
  if (plan.delete.length > 0) {
    await hosts.cleanupCheckpoints(
      target,
      spec,
      plan.delete.map((f) => f.name),
    );
  }
  return plan;
}

export type VerifyOutcome =
  | Extract<VerifyVerdict, { kind: 'advancing' | 'died' }>
  | { kind: 'timeout'; lastStep: number | null; resumedStep: number | null };

export interface VerifyOptions {
  /** Host clock (epoch s) at launch: older heartbeats and logs belong to the previous attempt. */
  sinceHostTime: number | null;
  /** Our clock (epoch ms): give up here. */
  deadline: number;
  signal?: AbortSignal | undefined;
}

/** Polls the host until the new attempt advances past its resumed step, dies, or time runs out. */
export async function verifyLaunch(
  deps: Pick<HealerDeps, 'hosts' | 'clock' | 'logger' | 'pollMs'>,
  target: SshTarget,
  spec: RunSpec,
  options: VerifyOptions,
): Promise<VerifyOutcome> {
  const { clock } = deps;
  const pollMs = deps.pollMs ?? DEFAULT_POLL_MS;
  const samples: TrainerSample[] = [];
  while (clock.now() < options.deadline) {
    await clock.sleep(Math.min(pollMs, options.deadline - clock.now()), options.signal);
    try {
      samples.push(sampleTrainer(await deps.hosts.probe(target, spec), options.sinceHostTime));
    } catch (err) {
      deps.logger.warn({ run: spec.name, err: errorMessage(err) }, 'probe during verification failed');
      continue;
    }
    const verdict = verifyVerdict(samples);
    if (verdict.kind !== 'waiting') return verdict;
  }
  const last = samples[samples.length - 1];
  return {
    kind: 'timeout',
    lastStep: last?.step ?? null,
    resumedStep: samples.find((s) => s.resumedStep !== null)?.resumedStep ?? null,
  };
}

export function verifyWindowMs(fleet: Pick<Fleet, 'thresholds'>): number {
  return fleet.thresholds.verify_window_minutes * 60_000;
}

/** One sentence on a failed verification, for the journal and the escalation. */
export function describeFailure(
  outcome: Exclude<VerifyOutcome, { kind: 'advancing' }>,
  windowMin: number,
): string {
  if (outcome.kind === 'died') {
    return `the trainer died after launch${outcome.signature ? ` (${outcome.signature})` : ''}`;
  }
  const where =
    outcome.lastStep === null
      ? 'no step was reported'
      : `the step stayed at ${outcome.lastStep}${outcome.resumedStep === null ? '' : ` (resumed at ${outcome.resumedStep})`}`;
  return `no progress within ${windowMin} min: ${where}`;
}
