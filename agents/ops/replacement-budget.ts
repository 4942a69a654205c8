import type { RunHealth } from '../../src/fleet/health/types.js';
import { checkBudget } from '../../src/fleet/policy/budget.js';
import type { Policy } from '../../src/fleet/schema.js';
import type { RunState } from '../../src/state/types.js';

/**
 * Spending decisions for replacements. Pure.
 *
 * The fleet's current $/h counts every run with a machine, except runs whose instance is down
 * (preempted: Vast stops billing the GPU of a stopped or vanished instance) and completed runs.
 * When the budget cannot cover every run that needs a replacement, higher priority goes first
 * (ties by name, so the answer is stable); a run left out is told which runs it waits for.
 */

export interface ReplacementRequest {
  run: string;
  priority: number;
  /** What its replacement would cost per hour. */
  dph: number;
}

export interface ReplacementGrant {
  run: string;
  granted: boolean;
  /** Runs of higher (or equal) priority that take the budget first. */
  waitsFor: string[];
  reason: string;
}

export interface FleetSpend {
  currentFleetDph: number;
  spentUsd?: number;
}

/**
 * Down = its latest health says preempted about the instance it has now. After a migration the
 * run has a new instance while the stored health may still describe the old one until the next
 * sweep: that run is billing again.
 */
export function isDown(state: RunState | undefined, health: RunHealth | undefined): boolean {
  if (health?.status !== 'preempted') return false;
  const seen = health.instanceId;
  return seen === undefined || seen === null || state === undefined || seen === state.instanceId;
}

/** $/h the fleet pays now. `exclude` leaves out runs whose spend the caller accounts for itself. */
export function currentFleetDph(
  states: readonly RunState[],
  healths: ReadonlyMap<string, RunHealth>,
  exclude: ReadonlySet<string> = new Set(),
): number {
  let total = 0;
  for (const state of states) {
    if (exclude.has(state.run) || state.complete) continue;
    if (state.instanceId === null && state.sshHost === null) continue;
    if (isDown(state, healths.get(state.run))) continue;
    total += state.costPerHr;
  }
  return total;
}

export function planReplacements(
  requests: readonly ReplacementRequest[],
  spend: FleetSpend,
  policy: Pick<Policy, 'budget'>,
): Map<string, ReplacementGrant> {
  const order = [...requests].sort((a, b) => b.priority - a.priority || a.run.localeCompare(b.run));
  const grants = new Map<string, ReplacementGrant>();
  const granted: ReplacementRequest[] = [];
  let committed = spend.currentFleetDph;
  for (const request of order) {
    const check = checkBudget(
      {
        currentFleetDph: committed,
        addDph: request.dph,
        ...(spend.spentUsd !== undefined && { spentUsd: spend.spentUsd }),
      },
      policy,
    );
    if (check.ok) {
      committed += request.dph;
      granted.push(request);
      grants.set(request.run, { run: request.run, granted: true, waitsFor: [], reason: 'within budget' });
      continue;
    }
    const ahead = granted.filter((g) => g.priority >= request.priority);
    const waitsFor = ahead.map((g) => g.run);
    const reason =
      waitsFor.length > 0
        ? `waits for ${ahead.map((g) => `${g.run} (priority ${g.priority})`).join(', ')} to be replaced first: ${check.reason}`
        : check.reason;
    grants.set(request.run, { run: request.run, granted: false, waitsFor, reason });
  }
  return grants;
}

/** Dollars spent so far: what gone instances cost plus the current ones since they started. */
export function fleetSpentUsd(states: readonly RunState[], now: number): number {
  let total = 0;
  for (const state of states) {
    total += state.costAccrued;
    if (state.instanceId === null && state.sshHost === null) continue;
    if (state.startedAt !== null && now > state.startedAt) {
      total += (state.costPerHr * (now - state.startedAt)) / 3_600_000;
    }
  }
  return total;
}
