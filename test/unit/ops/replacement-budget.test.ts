import { describe, expect, it } from 'vitest';
import { currentFleetDph, fleetSpentUsd, planReplacements } from '../../../agents/ops/replacement-budget.js';
import type { RunHealth } from '../../../src/fleet/health/types.js';
import type { RunState } from '../../../src/state/types.js';

const policy = (max_dph: number, max_total_usd?: number) => ({
  budget: { max_dph, ...(max_total_usd !== undefined && { max_total_usd }) },
});

function state(run: string, patch: Partial<RunState> = {}): RunState {
  return {
    run,
    instanceId: 100,
    sshHost: 'h',
    sshPort: 22,
    gpuName: 'RTX 3090',
    numGpus: 4,
    costPerHr: 1,
    startedAt: 0,
    costAccrued: 0,
    paused: false,
    stoppedByUs: false,
    complete: false,
    ...patch,
  };
}

const health = (run: string, status: RunHealth['status']) => ({ run, status }) as RunHealth;

describe('planReplacements: priorities under the budget', () => {
  it('gives the budget to the higher-priority run and tells the other what it waits for', () => {
    const grants = planReplacements(
      [
        { run: 'low', priority: 20, dph: 1.5 },
        { run: 'high', priority: 80, dph: 1.5 },
      ],
      { currentFleetDph: 1 },
      policy(3),
    );
    expect(grants.get('high')).toMatchObject({ granted: true, waitsFor: [] });
    const low = grants.get('low');
    expect(low).toMatchObject({ granted: false, waitsFor: ['high'] });
    expect(low?.reason).toMatch(/waits for high \(priority 80\)/);
    expect(low?.reason).toMatch(/above the budget of \$3\.00\/h/);
  });

  it('grants every replacement the budget covers', () => {
    const grants = planReplacements(
      [
        { run: 'a', priority: 50, dph: 1 },
        { run: 'b', priority: 50, dph: 1 },
      ],
      { currentFleetDph: 1 },
      policy(3),
    );
    expect([...grants.values()].every((g) => g.granted)).toBe(true);
  });

  it('breaks priority ties by name, so the answer does not depend on arrival order', () => {
    const forward = planReplacements(
      [
        { run: 'beta', priority: 50, dph: 2 },
        { run: 'alpha', priority: 50, dph: 2 },
      ],
      { currentFleetDph: 0 },
      policy(3),
    );
    expect(forward.get('alpha')?.granted).toBe(true);
    expect(forward.get('beta')?.granted).toBe(false);
  });

  it('refuses even the top priority when it alone does not fit, without blaming another run', () => {
    const grants = planReplacements(
      [{ run: 'only', priority: 90, dph: 5 }],
      { currentFleetDph: 0 },
      policy(3),
    );
    expect(grants.get('only')).toMatchObject({ granted: false, waitsFor: [] });
  });

  it('refuses when the total spend is capped and already reached', () => {
    const grants = planReplacements(
      [{ run: 'x', priority: 50, dph: 1 }],
      { currentFleetDph: 0, spentUsd: 100 },
      policy(10, 100),
    );
    expect(grants.get('x')?.granted).toBe(false);
  });
});

describe('currentFleetDph and fleetSpentUsd', () => {
  it('counts running machines, not preempted, completed or machine-less runs', () => {
    const states = [
      state('running', { costPerHr: 1.2 }),
      state('down', { costPerHr: 0.8 }),
      state('done', { costPerHr: 0.5, complete: true }),
      state('nothing', { instanceId: null, sshHost: null, costPerHr: 0.3 }),
    ];
    const healths = new Map([
      ['running', health('running', 'healthy')],
      ['down', health('down', 'preempted')],
    ]);
    expect(currentFleetDph(states, healths)).toBeCloseTo(1.2, 10);
  });

  it('counts a run again once it moved to a new instance, though its stored health still says preempted', () => {
    const moved = state('moved', { instanceId: 200, costPerHr: 0.7 });
    const stale = { ...health('moved', 'preempted'), instanceId: 100 };
    expect(currentFleetDph([moved], new Map([['moved', stale]]))).toBeCloseTo(0.7, 10);
    const current = { ...health('moved', 'preempted'), instanceId: 200 };
    expect(currentFleetDph([moved], new Map([['moved', current]]))).toBe(0);
  });

  it('adds what gone instances cost to what current ones cost since they started', () => {
    const hour = 3_600_000;
    const states = [
      state('a', { costPerHr: 2, startedAt: 0, costAccrued: 5 }),
      state('b', { instanceId: null, sshHost: null, costAccrued: 3 }),
    ];
    expect(fleetSpentUsd(states, 3 * hour)).toBeCloseTo(5 + 6 + 3, 10);
  });
});
