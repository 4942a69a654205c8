import type { RunSpec } from '../../src/fleet/schema.js';
import type { OpsDeps } from './deps.js';
import {
  currentFleetDph,
  fleetSpentUsd,
  planReplacements,
  type ReplacementGrant,
} from './replacement-budget.js';

/**
 * Whether `run` may rent a replacement at `dph` now: the fleet budget (checkBudget) with the
 * runs that also wait for a replacement taken into account by priority. Reads the store; the
 * decision itself is planReplacements (pure).
 */
export async function replacementGrant(
  deps: Pick<OpsDeps, 'fleet' | 'store' | 'clock'>,
  spec: RunSpec,
  dph: number,
): Promise<ReplacementGrant> {
  const { fleet, store } = deps;
  const states = await store.listRunStates();
  const healths = await store.listHealth(fleet.runs.map((r) => r.name));
  const waiting = fleet.runs.filter((r) => {
    if (r.name === spec.name || r.host) return false;
    const state = states.find((s) => s.run === r.name);
    return healths.get(r.name)?.status === 'preempted' && state?.complete !== true;
  });
  const requests = [
    { run: spec.name, priority: spec.priority, dph },
    ...waiting.map((r) => {
      const last = states.find((s) => s.run === r.name)?.costPerHr ?? 0;
      // Its last price is the best guess of what its replacement will cost.
      return { run: r.name, priority: r.priority, dph: last > 0 ? last : dph };
    }),
  ];
  const grants = planReplacements(
    requests,
    { currentFleetDph: currentFleetDph(states, healths), spentUsd: fleetSpentUsd(states, deps.clock.now()) },
    fleet.policy,
  );
  return grants.get(spec.name) ?? { run: spec.name, granted: false, waitsFor: [], reason: 'not planned' };
}
