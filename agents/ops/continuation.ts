import { errorMessage } from '../../src/errors.js';
import { writeContinuationContext } from '../../src/state/exports.js';
import type { OpsDeps } from './deps.js';

/**
 * Rewrites CONTINUATION_CONTEXT.md after an infrastructure change, so whoever picks the fleet up
 * next (a person, or an LLM starting cold) sees where each run lives now and why. Best effort:
 * a failed export is logged, never allowed to fail the migration that already happened.
 */

const JOURNAL_ENTRIES = 60;

export async function rewriteContinuation(
  deps: Pick<OpsDeps, 'fleet' | 'store' | 'clock' | 'logger' | 'stateDir'>,
  nextSteps: readonly string[],
): Promise<void> {
  if (!deps.stateDir) return;
  const { store, fleet } = deps;
  try {
    const names = fleet.runs.map((r) => r.name);
    const healths = await store.listHealth(names);
    const runs = await Promise.all(
      fleet.runs.map(async (spec) => ({
        spec,
        state: await store.getRunState(spec.name),
        health: healths.get(spec.name) ?? null,
      })),
    );
    await writeContinuationContext(deps.stateDir, {
      generatedAt: deps.clock.now(),
      runs,
      openIncidents: await store.incidents.listOpen(),
      journal: (await store.journal.recent(JOURNAL_ENTRIES)).map((r) => r.entry),
      nextSteps,
    });
  } catch (err) {
    deps.logger.warn({ err: errorMessage(err) }, 'rewriting CONTINUATION_CONTEXT.md failed');
  }
}
