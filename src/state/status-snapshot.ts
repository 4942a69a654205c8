import { progress } from '../fleet/health/progress.js';
import type { HealthStatus, RunHealth } from '../fleet/health/types.js';
import type { RunSpec } from '../fleet/schema.js';
import type { RunState, StatusInstance, StatusSnapshot } from './types.js';

/**
 * status.json as a pure function of the fleet, the stored run states and the latest health.
 * `updated` is the snapshot instant as ISO-8601 UTC and `timestamp` the same instant in whole
 * epoch seconds. Money is in dollars, durations in hours.
 */

export interface RunProgress {
  /** Expected steps per hour (e.g. from the GPU profile), used when the history cannot tell. */
  stepsPerHour?: number | null;
}

export interface StatusRunInput {
  spec: Pick<RunSpec, 'name' | 'target_steps'>;
  state: RunState | null;
  health: RunHealth | null;
  progress?: RunProgress;
}

export interface StatusInput {
  runs: readonly StatusRunInput[];
  /** Epoch ms. */
  now: number;
}

const HOUR_MS = 3_600_000;

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/**
 * Steps per hour over the recent (clock ms, step) samples, as `progress()` measures them: cut at
 * each resume from an older checkpoint and at each gap, so neither reads as lost progress.
 */
export function measuredStepsPerHour(history: readonly (readonly [number, number])[]): number | null {
  // One measure everywhere: status.json, ops ranking and the Slack digest agree after a resume
  // or a migration gap. The target does not matter for the rate.
  return progress(history, 0, 0).stepsPerHour;
}

/** Whether something is rented (or a static host is assigned), so its price is being paid now. */
function isBilling(state: RunState | null): state is RunState {
  return state !== null && (state.instanceId !== null || state.sshHost !== null);
}

function statusOf(state: RunState | null, health: RunHealth | null): HealthStatus {
  if (health) return health.status;
  if (state?.complete) return 'complete';
  if (state?.paused) return 'paused';
  return 'unknown';
}

function etaHours(
  status: HealthStatus,
  step: number | null,
  maxSteps: number,
  rate: number | null,
): number | null {
  if (status === 'complete' || (step !== null && step >= maxSteps)) return 0;
  if (step === null || rate === null || !(rate > 0)) return null;
  return round((maxSteps - step) / rate, 2);
}

export function buildStatusInstance(run: StatusRunInput, now: number): StatusInstance {
  const { spec, state, health } = run;
  const status = statusOf(state, health);
  const step = health?.step ?? null;
  const maxSteps = spec.target_steps;
  const billing = isBilling(state);
  const costPerHr = billing ? state.costPerHr : 0;
  const uptimeHrs = billing && state.startedAt !== null ? Math.max(0, now - state.startedAt) / HOUR_MS : 0;
  const rate = measuredStepsPerHour(health?.stepHistory ?? []) ?? run.progress?.stepsPerHour ?? null;
  return {
    instance_id: state?.instanceId ?? null,
    model: spec.name,
    status,
    step,
    max_steps: maxSteps,
    loss: health?.loss ?? null,
    ppl: health?.ppl ?? null,
    tok_s: health?.tokS ?? null,
    gpu_util: health?.gpuUtil ?? null,
    disk_pct: health?.diskPct ?? null,
    process_alive: health?.processAlive ?? null,
    heartbeat_age_s: health?.heartbeatAgeS ?? null,
    cost_per_hr: round(costPerHr, 4),
    uptime_hrs: round(uptimeHrs, 2),
    cost_total: round((state?.costAccrued ?? 0) + costPerHr * uptimeHrs, 2),
    eta_hrs: etaHours(status, step, maxSteps, rate),
    pct_complete: step === null ? null : round(Math.min(100, (step / maxSteps) * 100), 1),
  };
}

export function buildStatusSnapshot(input: StatusInput): StatusSnapshot {
  const instances = input.runs.map((run) => buildStatusInstance(run, input.now));
  return {
    updated: new Date(input.now).toISOString(),
    timestamp: Math.floor(input.now / 1000),
    instances,
    total_cost_hr: round(
      instances.reduce((sum, row) => sum + row.cost_per_hr, 0),
      4,
    ),
  };
}
