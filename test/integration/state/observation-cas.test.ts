import { afterAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../../src/clock.js';
import type { RunHealth } from '../../../src/fleet/health/types.js';
import { Store } from '../../../src/state/store.js';
import type { RunState } from '../../../src/state/types.js';
import { deleteKeys, newRedis, uniquePrefix } from '../../helpers/redis.js';

const redis = newRedis();
const prefix = uniquePrefix('cas');
const store = new Store({ redis, prefix, clock: manualClock() });
afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

const state = (instanceId: number | null): RunState => ({
  run: 'mosaic_moe',
  instanceId,
  sshHost: '127.0.0.1',
  sshPort: 2200 + (instanceId ?? 0),
  gpuName: 'RTX 3090',
  numGpus: 8,
  costPerHr: 1.2,
  startedAt: 0,
  costAccrued: 0,
  paused: false,
  stoppedByUs: false,
  complete: false,
});
const health = (status: RunHealth['status']): RunHealth => ({
  run: 'mosaic_moe',
  status,
  severity: 'critical',
  reason: status,
  since: 0,
  observedAt: 0,
  step: 100,
  stepChangedAt: 0,
  loss: Number.NaN,
  ppl: null,
  tokS: null,
  gpuUtil: null,
  diskPct: null,
  processAlive: false,
  heartbeatAgeS: null,
  tokSHistory: [],
  stepHistory: [],
});

describe('monitor observations are compare-and-set on the instance', () => {
  it('writes when the run is still on the instance the sweep saw, including a first adoption', async () => {
    expect(await store.putObservationIfInstance(state(1), health('healthy'), null)).toBe(true);
    expect(await store.putObservationIfInstance(state(1), health('stalled'), 1)).toBe(true);
    expect((await store.getHealth('mosaic_moe'))?.status).toBe('stalled');
  });

  it('never undoes a migration that switched the run during the sweep', async () => {
    await store.putRunState(state(2)); // ops moved the run to instance 2
    expect(await store.putObservationIfInstance(state(1), health('preempted'), 1)).toBe(false);
    expect((await store.getRunState('mosaic_moe'))?.instanceId).toBe(2);
    expect((await store.getHealth('mosaic_moe'))?.status).toBe('stalled');
  });
});
