import { describe, expect, it } from 'vitest';
import { checkBudget } from '../../../src/fleet/policy/index.js';
import type { Policy } from '../../../src/fleet/schema.js';

const capped: Pick<Policy, 'budget'> = { budget: { max_dph: 10 } };
const totalCapped: Pick<Policy, 'budget'> = { budget: { max_dph: 10, max_total_usd: 500 } };

describe('checkBudget', () => {
  it('allows a rental that fits under max_dph', () => {
    expect(checkBudget({ currentFleetDph: 6, addDph: 3 }, capped)).toEqual({ ok: true });
  });

  it('allows a rental exactly at max_dph, even with float sums', () => {
    expect(checkBudget({ currentFleetDph: 7, addDph: 3 }, capped)).toEqual({ ok: true });
    expect(checkBudget({ currentFleetDph: 9.7, addDph: 0.1 + 0.2 }, capped)).toEqual({ ok: true });
  });

  it('refuses a rental over max_dph, saying what it would cost', () => {
    const check = checkBudget({ currentFleetDph: 7, addDph: 3.01 }, capped);
    expect(check).toEqual({
      ok: false,
      reason: 'the fleet would cost $10.01/h, above the budget of $10.00/h',
    });
  });

  it('counts a released instance', () => {
    expect(checkBudget({ currentFleetDph: 9, addDph: 3, releaseDph: 2 }, capped)).toEqual({ ok: true });
    expect(checkBudget({ currentFleetDph: 9, addDph: 3, releaseDph: 1 }, capped).ok).toBe(false);
  });

  it('cannot release more than the fleet pays', () => {
    expect(checkBudget({ currentFleetDph: 1, addDph: 11, releaseDph: 50 }, capped).ok).toBe(false);
  });

  it.each([
    { currentFleetDph: -5, addDph: 12 },
    { currentFleetDph: 0, addDph: -1 },
    { currentFleetDph: Number.NaN, addDph: 1 },
    { currentFleetDph: 0, addDph: Number.POSITIVE_INFINITY },
    { currentFleetDph: 5, addDph: 1, releaseDph: -100 },
    { currentFleetDph: 0, addDph: 1, spentUsd: -1 },
  ])('refuses nonsense amounts %j', (input) => {
    const check = checkBudget(input, totalCapped);
    expect(check.ok).toBe(false);
    expect(!check.ok && check.reason).toMatch(/not a non-negative amount/);
  });

  it('refuses once the total budget is spent', () => {
    expect(checkBudget({ currentFleetDph: 1, addDph: 1, spentUsd: 499.99 }, totalCapped)).toEqual({
      ok: true,
    });
    const check = checkBudget({ currentFleetDph: 1, addDph: 1, spentUsd: 500 }, totalCapped);
    expect(check).toEqual({ ok: false, reason: '$500.00 already spent, the total budget is $500.00' });
  });

  it('refuses when a total cap is set but the spend is unknown', () => {
    const check = checkBudget({ currentFleetDph: 1, addDph: 1 }, totalCapped);
    expect(check.ok).toBe(false);
    expect(!check.ok && check.reason).toMatch(/total spend is unknown/);
  });

  it('ignores the spend when no total cap is set', () => {
    expect(checkBudget({ currentFleetDph: 1, addDph: 1, spentUsd: 1e9 }, capped)).toEqual({ ok: true });
  });
});
