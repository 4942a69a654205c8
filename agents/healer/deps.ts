import type { Redis } from 'ioredis';
import type { Clock } from '../../src/clock.js';
import type { Fleet, RunSpec } from '../../src/fleet/schema.js';
import type { SshTarget } from '../../src/infra/ssh/types.js';
import type { Logger } from '../../src/logger.js';
import type { Store } from '../../src/state/store.js';
import type { RunState } from '../../src/state/types.js';
import type { IncidentEvents } from '../monitor/events.js';
import type { HostCommands } from './host-commands.js';

/** Progress of an action, in words, for the alert's Slack thread. Never throws into the action. */
export type ProgressReporter = (step: string, text: string) => Promise<void> | void;

/** What the healer (and the host-side half of ops) needs; everything passed in. */
export interface HealerDeps {
  fleet: Fleet;
  store: Store;
  redis: Redis;
  /** Key prefix (config KEY_PREFIX): the per-run lock and the launch markers live under it. */
  prefix: string;
  hosts: HostCommands;
  clock: Clock;
  logger: Logger;
  /** Escalations are published here (the notify and conductor sides page and summarise). */
  events?: IncidentEvents;
  /** Clock ms between probes while verifying a launch (default 30 s, the heartbeat period). */
  pollMs?: number;
  /** Real ms to wait for the per-run lock before giving up (default 30 s). */
  lockWaitMs?: number;
}

export function findRun(fleet: Fleet, name: string): RunSpec | undefined {
  return fleet.runs.find((r) => r.name === name);
}

/** Where the run's trainer is: its static host, else the instance on record. */
export function runTarget(spec: RunSpec, state: RunState | null): SshTarget | null {
  if (spec.host) return { host: spec.host.host, port: spec.host.port, user: spec.host.user };
  if (state?.sshHost && state.sshPort) return { host: state.sshHost, port: state.sshPort };
  return null;
}

/** The GPU model and count the run is on, for the launch profile. */
export function runGpu(spec: RunSpec, state: RunState | null): { name: string; count: number } | null {
  if (spec.host) return { name: spec.host.gpu_name, count: spec.host.num_gpus };
  if (state?.gpuName && state.numGpus) return { name: state.gpuName, count: state.numGpus };
  return null;
}

/** Calls the reporter without letting a Slack hiccup break a restart or a migration. */
export async function report(
  reporter: ProgressReporter | undefined,
  logger: Logger,
  step: string,
  text: string,
): Promise<void> {
  if (!reporter) return;
  try {
    await reporter(step, text);
  } catch (err) {
    logger.warn({ step, err: err instanceof Error ? err.message : String(err) }, 'progress report failed');
  }
}
