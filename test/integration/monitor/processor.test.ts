import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recordingEvents } from '../../../agents/monitor/events.js';
import { remoteProbe } from '../../../agents/monitor/probe.js';
import { monitorProcessor, SWEEP_LOCK_TTL_MS } from '../../../agents/monitor/processor.js';
import { systemClock } from '../../../src/clock.js';
import { loadFleetFile } from '../../../src/config.js';
import { silentLogger } from '../../../src/logger.js';
import { Store } from '../../../src/state/store.js';
import { deleteKeys, newRedis, uniquePrefix } from '../../helpers/redis.js';

const redis = newRedis();
const prefix = uniquePrefix('mproc');
afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

function processor(listCalls: string[], listMs = 300, sweepLockTtlMs?: number) {
  const fleet = loadFleetFile(path.resolve('fleet.example.yaml'));
  return monitorProcessor({
    ...(sweepLockTtlMs !== undefined && { sweepLockTtlMs }),
    redis,
    prefix,
    fleet,
    store: new Store({ redis, prefix, clock: systemClock }),
    // A slow Vast list keeps each sweep busy long enough for the others to collide with it.
    vast: {
      async listInstances() {
        listCalls.push('list');
        await new Promise((r) => setTimeout(r, listMs));
        return [];
      },
      async getInstance() {
        return null;
      },
    },
    ssh: {
      exec: async () => {
        throw new Error('no host should be probed');
      },
    },
    probe: remoteProbe,
    clock: systemClock,
    logger: silentLogger,
    events: recordingEvents(),
    stateDir: null,
  });
}

describe('monitor processor', () => {
  it('never overlaps sweeps: a scheduled sweep that finds one running is skipped', async () => {
    const calls: string[] = [];
    const [a, b, c] = [processor(calls), processor(calls), processor(calls)];
    const results = await Promise.all([a({ kind: 'sweep' }), b({ kind: 'sweep' }), c({ kind: 'sweep' })]);
    expect(results.filter((r) => 'skipped' in r)).toHaveLength(2);
    expect(calls).toHaveLength(1);
  });

  it('an on-demand sweep of one run waits for the running sweep instead of being dropped', async () => {
    const calls: string[] = [];
    const p = processor(calls);
    const [scheduled, onDemand] = await Promise.all([
      p({ kind: 'sweep' }),
      p({ kind: 'sweep_run', run: 'mosaic_moe' }),
    ]);
    expect('skipped' in scheduled).toBe(false);
    expect('runs' in onDemand && onDemand.runs.map((r) => r.run)).toEqual(['mosaic_moe']);
    expect(calls).toHaveLength(2);
  });

  it('holds the sweep lock on a short lease, renewed while a sweep outlasts it', async () => {
    const calls: string[] = [];
    const lockKey = `${prefix}:lock:sweep`;
    // A 1.2 s sweep under a 300 ms lease: without renewal a second sweep would start.
    const running = processor(calls, 1200, 300)({ kind: 'sweep' });
    await new Promise((r) => setTimeout(r, 600));
    const ttl = await redis.pttl(lockKey);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300);
    expect(await processor(calls)({ kind: 'sweep' })).toEqual({ skipped: true });
    expect('skipped' in (await running)).toBe(false);
    expect(await redis.exists(lockKey)).toBe(0);
  });

  it('a lock left by a worker killed mid-sweep delays the next sweep by its lease only', async () => {
    const calls: string[] = [];
    const lockKey = `${prefix}:lock:sweep`;
    // What a dead worker leaves: its token, the production lease, no one renewing it.
    await redis.set(lockKey, 'dead-worker-token', 'PX', SWEEP_LOCK_TTL_MS);
    expect(await processor(calls)({ kind: 'sweep' })).toEqual({ skipped: true });
    const ttl = await redis.pttl(lockKey);
    expect(ttl).toBeGreaterThan(SWEEP_LOCK_TTL_MS - 5_000);
    expect(ttl).toBeLessThanOrEqual(SWEEP_LOCK_TTL_MS);
    expect(SWEEP_LOCK_TTL_MS).toBeLessThanOrEqual(30_000);
    await redis.del(lockKey);
    expect('skipped' in (await processor(calls)({ kind: 'sweep' }))).toBe(false);
  });
});
