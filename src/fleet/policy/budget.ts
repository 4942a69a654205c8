import type { Policy } from '../schema.js';
import type { PolicyCheck } from './types.js';

/**
 * The spending guard for renting. `releaseDph` is an instance the change will give back; during a
 * migration rule 7 keeps the old instance until the new one is verified, so both bill for a while
 * and a strict caller leaves it out. When the policy sets `max_total_usd`, the amount spent so far
 * must be supplied: an unknown spend is refused rather than assumed to be zero.
 */

export interface BudgetInput {
  currentFleetDph: number;
  addDph: number;
  releaseDph?: number;
  spentUsd?: number;
}

/** Float sums of prices ($0.1 + $0.2) must not fail a check that is exactly at the limit. */
const EPSILON = 1e-9;

function isAmount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function money(value: number): string {
  return `$${value.toFixed(2)}`;
}

export function checkBudget(input: BudgetInput, policy: Pick<Policy, 'budget'>): PolicyCheck {
  const { max_dph: maxDph, max_total_usd: maxTotal } = policy.budget;
  const release = input.releaseDph ?? 0;
  for (const [name, value] of Object.entries({ ...input, releaseDph: release })) {
    if (value !== undefined && !isAmount(value)) {
      return { ok: false, reason: `${name} ${JSON.stringify(value)} is not a non-negative amount` };
    }
  }
  // Releasing cannot free more than the fleet currently pays.
  const projected = input.currentFleetDph - Math.min(release, input.currentFleetDph) + input.addDph;
  if (projected > maxDph + EPSILON) {
    return {
      ok: false,
      reason: `the fleet would cost ${money(projected)}/h, above the budget of ${money(maxDph)}/h`,
    };
  }
  if (maxTotal !== undefined) {
    if (input.spentUsd === undefined) {
      return { ok: false, reason: `total spend is unknown and the budget caps it at ${money(maxTotal)}` };
    }
    if (input.spentUsd >= maxTotal - EPSILON) {
      return {
        ok: false,
        reason: `${money(input.spentUsd)} already spent, the total budget is ${money(maxTotal)}`,
      };
    }
  }
  return { ok: true };
}
