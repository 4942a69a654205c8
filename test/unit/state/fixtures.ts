import type { RunHealth } from '../../../src/fleet/health/types.js';
import type { RunState } from '../../../src/state/types.js';

/** Builders for state values used by the state tests (unit and integration). */

export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
export const HOUR = 3_600_000;

export function runState(overrides: Partial<RunState> = {}): RunState {
  return {
    run: 'mosaic_moe',
    instanceId: 4242,
    sshHost: 'ssh4.vast.ai',
    sshPort: 22042,
    gpuName: 'RTX 3090',
    numGpus: 4,
    costPerHr: 0.8,
    startedAt: T0 - 10 * HOUR,
    costAccrued: 12.5,
    paused: false,
    stoppedByUs: false,
    complete: false,
    ...overrides,
  };
}

export function runHealth(overrides: Partial<RunHealth> = {}): RunHealth {
  return {
    run: 'mosaic_moe',
    status: 'healthy',
    severity: 'info',
    reason: 'step advancing',
    since: T0 - HOUR,
    observedAt: T0,
    step: 12_340,
    stepChangedAt: T0 - 30_000,
    loss: 3.1234,
    ppl: 22.7,
    tokS: 48_211,
    gpuUtil: 97,
    diskPct: 41.3,
    processAlive: true,
    heartbeatAgeS: 12,
    tokSHistory: [48_000, 48_211],
    stepHistory: [
      [T0 - HOUR, 11_340],
      [T0, 12_340],
    ],
    ...overrides,
  };
}
