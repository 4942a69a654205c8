import { ActionFailedError } from '../../src/errors.js';
import type { RunSpec } from '../../src/fleet/schema.js';
import { type HealerDeps, type ProgressReporter, report, runTarget } from './deps.js';

/** Reads the tail of the training log (read-only; nothing is journaled). */

export const COLLECTED_LOG_LINES = 200;

export async function collectLogs(
  deps: HealerDeps,
  spec: RunSpec,
  progress?: ProgressReporter,
): Promise<{ lines: string[] }> {
  const target = runTarget(spec, await deps.store.getRunState(spec.name));
  if (!target) throw new ActionFailedError(`${spec.name} has no host on record to read logs from`);
  const lines = await deps.hosts.logTail(target, COLLECTED_LOG_LINES);
  await report(progress, deps.logger, 'logs', lines.slice(-40).join('\n'));
  return { lines };
}
