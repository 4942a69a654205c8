import type { RunHealth } from '../../src/fleet/health/types.js';
import type { Fleet } from '../../src/fleet/schema.js';
import { buildStatusInstance } from '../../src/state/status-snapshot.js';
import type { Store } from '../../src/state/store.js';
import type { Incident, RunState, StatusInstance } from '../../src/state/types.js';

/**
 * The fleet as the conductor sees it: per run the status.json row, the health reason and the
 * open incidents. Loaded once per turn (three Redis round trips), rendered compactly for the
 * prompt, the fleet_status tool and the rule-based answers.
 */

export interface FleetRow {
  run: string;
  status: StatusInstance;
  state: RunState | null;
  health: RunHealth | null;
  incidents: Incident[];
}

export interface FleetView {
  at: number;
  rows: FleetRow[];
  totalCostHr: number;
}

const REASON_MAX = 240;

export async function loadFleetView(
  store: Store,
  fleet: Pick<Fleet, 'runs'>,
  now: number,
): Promise<FleetView> {
  const names = fleet.runs.map((r) => r.name);
  const [states, health, incidents] = await Promise.all([
    store.listRunStates(),
    store.listHealth(names),
    store.incidents.listOpen(),
  ]);
  const stateOf = new Map(states.map((s) => [s.run, s]));
  const rows = fleet.runs.map((spec) => {
    const state = stateOf.get(spec.name) ?? null;
    const h = health.get(spec.name) ?? null;
    const stepsPerHour = Object.values(spec.profiles).find((p) => p.steps_per_hour)?.steps_per_hour ?? null;
    return {
      run: spec.name,
      status: buildStatusInstance({ spec, state, health: h, progress: { stepsPerHour } }, now),
      state,
      health: h,
      incidents: incidents.filter((i) => i.run === spec.name),
    };
  });
  const totalCostHr = rows.reduce((sum, r) => sum + r.status.cost_per_hr, 0);
  return { at: now, rows, totalCostHr: Math.round(totalCostHr * 10_000) / 10_000 };
}

function num(value: number | null, digits = 0): string {
  return value === null ? '?' : value.toFixed(digits);
}

function clip(text: string, max = REASON_MAX): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** One line per run: status, progress, speed, disk, money, ETA and open incidents. */
export function fleetRowLine(row: FleetRow): string {
  const s = row.status;
  const parts = [
    `${row.run}: ${s.status}`,
    `step ${num(s.step)}/${s.max_steps}${s.pct_complete === null ? '' : ` (${s.pct_complete}%)`}`,
    `loss ${num(s.loss, 3)}`,
    `tok/s ${num(s.tok_s)}`,
    `disk ${num(s.disk_pct)}%`,
    `$${s.cost_per_hr.toFixed(2)}/h`,
    `eta ${s.eta_hrs === null ? '?' : `${s.eta_hrs}h`}`,
  ];
  if (row.state?.gpuName) parts.push(`${row.state.numGpus ?? '?'}x ${row.state.gpuName}`);
  if (row.state?.paused) parts.push('paused');
  const incidents =
    row.incidents.length === 0
      ? 'no open incidents'
      : `open incidents: ${row.incidents.map((i) => `${i.kind} x${i.count}`).join(', ')}`;
  const reason = row.health?.reason ? ` | ${clip(row.health.reason)}` : '';
  return `${parts.join(' | ')} | ${incidents}${reason}`;
}

export function renderFleetSnapshot(view: FleetView): string {
  return [...view.rows.map(fleetRowLine), `fleet cost: $${view.totalCostHr.toFixed(2)}/h`].join('\n');
}
