import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/errors.js';
import { runHealth, runState } from '../../unit/state/fixtures.js';
import { useStateHarness } from './harness.js';

const h = useStateHarness();

describe('Store: runs and health', () => {
  it('puts, gets and lists run states under the prefix', async () => {
    const store = h().store();
    expect(await store.getRunState('mosaic_moe')).toBeNull();
    await store.putRunState(runState());
    await store.putRunState(runState({ run: 'gpt2_reference', instanceId: null, sshHost: null }));
    expect(await store.getRunState('mosaic_moe')).toEqual(runState());
    expect((await store.listRunStates()).map((s) => s.run)).toEqual(['gpt2_reference', 'mosaic_moe']);
    expect(await h().redis.exists(`${h().prefix}:run:mosaic_moe`)).toBe(1);
    await store.deleteRunState('gpt2_reference');
    expect((await store.listRunStates()).map((s) => s.run)).toEqual(['mosaic_moe']);
  });

  it('refuses to store an invalid run state', async () => {
    const bad = { ...runState(), costPerHr: -1 };
    await expect(h().store().putRunState(bad)).rejects.toThrow(ValidationError);
  });

  it('round-trips health, storing a NaN loss as null', async () => {
    const store = h().store();
    await store.putHealth(runHealth({ loss: Number.NaN, status: 'nan' }));
    expect(await store.getHealth('mosaic_moe')).toEqual(runHealth({ loss: null, status: 'nan' }));
    await store.putHealth(runHealth({ run: 'mosaic_dense' }));
    const all = await store.listHealth(['mosaic_moe', 'mosaic_dense', 'absent']);
    expect([...all.keys()].sort()).toEqual(['mosaic_dense', 'mosaic_moe']);
  });

  it('reports a corrupt value with its key, without breaking reads of other runs', async () => {
    const store = h().store();
    await store.putRunState(runState());
    await store.putRunState(runState({ run: 'mosaic_dense' }));
    await store.putHealth(runHealth());
    await h().redis.set(`${h().prefix}:run:mosaic_dense`, '{"run":"mosaic_dense",');
    await h().redis.set(`${h().prefix}:health:mosaic_dense`, '{"run":"mosaic_dense","status":"fine"}');
    await expect(store.getRunState('mosaic_dense')).rejects.toThrow(
      /run:mosaic_dense: stored value is not valid JSON/,
    );
    await expect(store.getHealth('mosaic_dense')).rejects.toThrow(
      /health:mosaic_dense: stored value is invalid/,
    );
    expect((await store.listRunStates()).map((s) => s.run)).toEqual(['mosaic_moe']);
    expect([...(await store.listHealth(['mosaic_moe', 'mosaic_dense'])).keys()]).toEqual(['mosaic_moe']);
    expect(await store.getRunState('mosaic_moe')).toEqual(runState());
  });
});

describe('Store: meta and once', () => {
  it('keeps small values, optionally expiring', async () => {
    const store = h().store();
    expect(await store.getMeta('last_sweep')).toBeNull();
    await store.setMeta('last_sweep', '1767268800000');
    expect(await store.getMeta('last_sweep')).toBe('1767268800000');
    await store.setMeta('short', 'x', 50);
    await new Promise((r) => setTimeout(r, 120));
    expect(await store.getMeta('short')).toBeNull();
  });

  it('once() is true exactly once per key across clients, until its TTL passes', async () => {
    const stores = [h().store(), h().store(), h().store()];
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => stores[i % 3]!.once('event:C1:1700000000.0001', 200)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await stores[0]!.once('event:C1:other', 200)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(await stores[1]!.once('event:C1:1700000000.0001', 200)).toBe(true);
  });
});
