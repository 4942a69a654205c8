import { errorMessage } from '../../src/errors.js';
import type { RunSpec } from '../../src/fleet/schema.js';
import type { OpsDeps } from './deps.js';
import {
  currentFleetDph,
  fleetSpentUsd,
  isDown,
  planReplacements,
  type ReplacementGrant,
} from './replacement-budget.js';
import { searchAndRank } from './search.js';

/**
 * Whether `run` may rent a replacement at `dph` now: the fleet budget (checkBudget) with the
 * runs that also wait for a replacement taken into account by priority. Reads the store; the
 * decision itself is planReplacements (pure).
 */
type GateDeps = Pick<OpsDeps, 'fleet' | 'store' | 'clock' | 'vast' | 'logger'>;

/** What another waiting run's replacement would cost: its best offer now, else its last price. */
async function estimateFor(
  deps: GateDeps,
  spec: RunSpec,
  lastPrice: number,
  fallback: number,
): Promise<number> {
  try {
    const best = (await searchAndRank(deps, spec)).ranking.ranked[0];
    if (best) return best.pricePerHour;
  } catch (err) {
    deps.logger.warn({ run: spec.name, err: errorMessage(err) }, 'could not price a waiting run');
  }
  return lastPrice > 0 ? lastPrice : fallback;
}

export async function replacementGrant(
  deps: GateDeps,
  spec: RunSpec,
  dph: number,
): Promise<ReplacementGrant> {
  const { fleet, store } = deps;
  const states = await store.listRunStates();
  const healths = await store.listHealth(fleet.runs.map((r) => r.name));
  const waiting = fleet.runs.filter((r) => {
    if (r.name === spec.name || r.host) return false;
    const state = states.find((s) => s.run === r.name);
    return isDown(state, healths.get(r.name)) && state?.complete !== true;
  });
  const others = await Promise.all(
    waiting.map(async (r) => ({
      run: r.name,
      priority: r.priority,
      dph: await estimateFor(deps, r, states.find((s) => s.run === r.name)?.costPerHr ?? 0, dph),
    })),
  );
  const requests = [{ run: spec.name, priority: spec.priority, dph }, ...others];
  const grants = planReplacements(
    requests,
    { currentFleetDph: currentFleetDph(states, healths), spentUsd: fleetSpentUsd(states, deps.clock.now()) },
    fleet.policy,
  );
  return grants.get(spec.name) ?? { run: spec.name, granted: false, waitsFor: [], reason: 'not planned' };
}
