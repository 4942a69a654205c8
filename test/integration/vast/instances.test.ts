import { afterEach, describe, expect, it, vi } from 'vitest';
import { type ManualClock, manualClock } from '../../../src/clock.js';
import { VastApiError } from '../../../src/errors.js';
import type { VastClient } from '../../../src/infra/vast/client.js';
import { isPreempted, type VastOffer } from '../../../src/infra/vast/types.js';
import { type Harness, raw, startHarness } from './harness.js';

let h: Harness;
let clock: ManualClock;
afterEach(() => h.close());

async function start(loadingMs = 60_000) {
  clock = manualClock();
  h = await startHarness({ clock, loadingMs });
}

async function cheapest(client: VastClient, gpu: string, n = 1): Promise<VastOffer> {
  const [offer] = await client.searchOffers({
    filters: { gpu_name: { eq: gpu }, num_gpus: { eq: n } },
    type: 'bid',
    order: [['dph_total', 'asc']],
    limit: 1,
  });
  if (!offer) throw new Error(`no ${gpu} offer`);
  return offer;
}

const rentRequest = { image: 'pytorch/pytorch:2.5.1-cuda12.4-cudnn9-devel', disk: 40, label: 'mosaic_moe' };

describe('renting', () => {
  it('rents on demand: the offer leaves the market and an instance appears loading', async () => {
    await start();
    const offer = await cheapest(h.client, 'RTX 3090', 4);
    const { instanceId } = await h.client.rent(offer.id, {
      ...rentRequest,
      env: { HF_TOKEN: 'hf_secret' },
      onstart: 'echo hi',
    });
    const instance = await h.client.getInstance(instanceId);
    expect(instance).toMatchObject({
      id: instanceId,
      label: 'mosaic_moe',
      actual_status: 'loading',
      intended_status: 'running',
      is_bid: false,
      gpu_name: 'RTX 3090',
      num_gpus: 4,
      dph_total: offer.dph_total,
      ssh_host: '127.0.0.1',
    });
    expect(instance?.status_msg).toMatch(/pytorch/);
    expect(instance?.start_date).toBe(clock.now() / 1000);
    expect(h.hosts.specs[0]).toMatchObject({
      instanceId,
      numGpus: 4,
      diskGb: 40,
      env: { HF_TOKEN: 'hf_secret' },
    });
    expect(h.sim.control.offers().some((o) => o.id === offer.id)).toBe(false);
    const again = h.client.rent(offer.id, rentRequest);
    await expect(again).rejects.toMatchObject({ status: 404, code: 'no_such_ask' });
    expect(await h.client.listInstances()).toHaveLength(1);
  });

  it('rents an interruptible bid at or above min_bid and refuses one below', async () => {
    await start();
    const offer = await cheapest(h.client, 'RTX 4090');
    const low = h.client.rent(offer.id, { ...rentRequest, price: offer.min_bid * 0.9 });
    await expect(low).rejects.toBeInstanceOf(VastApiError);
    await expect(low).rejects.toMatchObject({ status: 400, code: 'invalid_price' });
    expect(await h.client.listInstances()).toHaveLength(0);

    const { instanceId } = await h.client.rent(offer.id, { ...rentRequest, price: offer.min_bid });
    const instance = await h.client.getInstance(instanceId);
    expect(instance).toMatchObject({ is_bid: true, dph_total: offer.min_bid, min_bid: offer.min_bid });
  });

  it('replenishes the market over time', async () => {
    await start();
    const before = h.sim.control.offers().length;
    const offer = await cheapest(h.client, 'RTX 3090');
    await h.client.rent(offer.id, rentRequest);
    expect(h.sim.control.offers()).toHaveLength(before - 1);
    await clock.advance(15 * 60_000);
    const after = await h.client.searchOffers({ filters: {}, type: 'on-demand', limit: 1000 });
    expect(after).toHaveLength(before);
    expect(after.filter((o) => o.gpu_name === 'RTX 3090' && o.num_gpus === 1)).toHaveLength(3);
  });
});

describe('instance lifecycle on a manual clock', () => {
  it('goes loading -> running after the loading time and powers the host on', async () => {
    await start(60_000);
    const offer = await cheapest(h.client, 'RTX 3090');
    const { instanceId } = await h.client.rent(offer.id, rentRequest);
    await clock.advance(59_000);
    expect((await h.client.getInstance(instanceId))?.actual_status).toBe('loading');
    expect(h.hosts.power.get(instanceId)).toBeUndefined();
    await clock.advance(1_000);
    const running = await h.client.getInstance(instanceId);
    expect(running).toMatchObject({ actual_status: 'running', cur_state: 'running', next_state: 'running' });
    expect(h.hosts.calls).toEqual([`create ${instanceId}`, `running ${instanceId}`]);
  });

  it('a background tick drives the lifecycle with no request', async () => {
    clock = manualClock();
    h = await startHarness({ clock, loadingMs: 5_000, tickIntervalMs: 10 });
    const offer = await cheapest(h.client, 'RTX 3090');
    const { instanceId } = await h.client.rent(offer.id, rentRequest);
    await clock.advance(5_000);
    await vi.waitFor(() => expect(h.hosts.power.get(instanceId)).toBe('running'), { timeout: 2000 });
  });

  it('outbid: stopped/stopped/stopped, host powered off, data kept, isPreempted true', async () => {
    await start(0);
    const offer = await cheapest(h.client, 'RTX 3090');
    const { instanceId } = await h.client.rent(offer.id, { ...rentRequest, price: offer.min_bid });
    expect((await h.client.getInstance(instanceId))?.actual_status).toBe('running');
    await h.sim.control.outbid(instanceId);
    const down = await h.client.getInstance(instanceId);
    expect(down).toMatchObject({
      actual_status: 'stopped',
      cur_state: 'stopped',
      intended_status: 'stopped',
      next_state: 'stopped',
    });
    expect(down && isPreempted(down, false)).toBe(true);
    expect(down && isPreempted(down, true)).toBe(false);
    expect(down?.min_bid).toBeGreaterThan(offer.min_bid);
    expect(h.hosts.power.get(instanceId)).toBe('stopped');
    expect(h.hosts.calls).not.toContain(`destroy ${instanceId}`);
    expect(h.sim.control.instances().map((i) => i.id)).toEqual([instanceId]);

    // Restarting at the old bid waits; raising the bid above the new minimum brings it back.
    await h.client.setState(instanceId, 'running');
    expect((await h.client.getInstance(instanceId))?.actual_status).toBe('stopped');
    await h.client.changeBid(instanceId, (down?.min_bid ?? 0) + 0.01);
    expect((await h.client.getInstance(instanceId))?.actual_status).toBe('running');
    expect(h.hosts.power.get(instanceId)).toBe('running');
  });

  it('outbid via the HTTP control API and at a scheduled clock time', async () => {
    await start(0);
    const a = await cheapest(h.client, 'RTX 3090');
    const first = await h.client.rent(a.id, { ...rentRequest, price: a.min_bid });
    const b = await cheapest(h.client, 'RTX 3090');
    const second = await h.client.rent(b.id, { ...rentRequest, label: 'other', price: b.min_bid });

    const res = await fetch(`${h.sim.url}/_sim/instances/${first.instanceId}/outbid`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect((await h.client.getInstance(first.instanceId))?.cur_state).toBe('stopped');

    h.sim.control.schedule(clock.now() + 30_000, { kind: 'outbid', instanceId: second.instanceId });
    await clock.advance(29_000);
    expect((await h.client.getInstance(second.instanceId))?.cur_state).toBe('running');
    await clock.advance(1_000);
    expect((await h.client.getInstance(second.instanceId))?.cur_state).toBe('stopped');
  });

  it('on-demand instances cannot be outbid', async () => {
    await start(0);
    const offer = await cheapest(h.client, 'RTX 3090');
    const { instanceId } = await h.client.rent(offer.id, rentRequest);
    await expect(h.sim.control.outbid(instanceId)).rejects.toThrow(/on-demand/);
  });

  it('host gone: actual_status offline, never back to running, preempted', async () => {
    await start(0);
    const offer = await cheapest(h.client, 'RTX 4090');
    const { instanceId } = await h.client.rent(offer.id, rentRequest);
    await h.sim.control.hostGone(instanceId);
    const gone = await h.client.getInstance(instanceId);
    expect(gone?.actual_status).toBe('offline');
    expect(gone && isPreempted(gone, false)).toBe(true);
    await h.client.setState(instanceId, 'running');
    await clock.advance(600_000);
    expect((await h.client.getInstance(instanceId))?.actual_status).toBe('offline');
    await h.sim.control.hostGone(instanceId, 'unknown');
    expect((await h.client.getInstance(instanceId))?.actual_status).toBe('unknown');
  });
});

describe('changing instances', () => {
  it('sets the label, stops and starts, changes the bid', async () => {
    await start(10_000);
    const offer = await cheapest(h.client, 'RTX 3090');
    const { instanceId } = await h.client.rent(offer.id, { ...rentRequest, price: offer.min_bid + 0.05 });
    await h.client.setLabel(instanceId, 'gpt2_reference');
    expect((await h.client.getInstance(instanceId))?.label).toBe('gpt2_reference');

    await clock.advance(10_000);
    await h.client.setState(instanceId, 'stopped');
    const stopped = await h.client.getInstance(instanceId);
    expect(stopped).toMatchObject({
      actual_status: 'stopped',
      intended_status: 'stopped',
      cur_state: 'stopped',
    });
    expect(h.hosts.power.get(instanceId)).toBe('stopped');

    await h.client.setState(instanceId, 'running');
    expect((await h.client.getInstance(instanceId))?.actual_status).toBe('loading');
    await clock.advance(10_000);
    expect((await h.client.getInstance(instanceId))?.actual_status).toBe('running');
    expect(h.hosts.power.get(instanceId)).toBe('running');

    await h.client.changeBid(instanceId, offer.min_bid + 0.1);
    expect((await h.client.getInstance(instanceId))?.dph_total).toBeCloseTo(offer.min_bid + 0.1, 6);
    // Lowering the bid under the machine's minimum loses the machine.
    await h.client.changeBid(instanceId, offer.min_bid / 2);
    expect((await h.client.getInstance(instanceId))?.cur_state).toBe('stopped');

    const bad = await raw(h.sim, 'PUT', `/api/v0/instances/${instanceId}/`, { body: { state: 'paused' } });
    expect(bad.status).toBe(400);
  });

  it('destroys, then treats a missing instance as already gone', async () => {
    await start(0);
    const offer = await cheapest(h.client, 'RTX 3090');
    const { instanceId } = await h.client.rent(offer.id, rentRequest);
    expect(await h.client.destroy(instanceId)).toEqual({ alreadyGone: false });
    expect(h.hosts.calls).toContain(`destroy ${instanceId}`);
    expect(await h.client.getInstance(instanceId)).toBeNull();
    expect(await h.client.listInstances()).toEqual([]);

    expect(await h.client.destroy(instanceId)).toEqual({ alreadyGone: true });
    const wire = await raw(h.sim, 'DELETE', `/api/v0/instances/${instanceId}/`);
    expect(wire.json).toMatchObject({ success: false, error: 'no_such_instance' });
    expect(typeof (wire.json as { msg?: unknown }).msg).toBe('string');
  });

  it('speaks the documented wire shapes', async () => {
    await start(0);
    const offer = await cheapest(h.client, 'RTX 3090');
    const rent = await raw(h.sim, 'PUT', `/api/v0/asks/${offer.id}/`, {
      body: { client_id: 'me', ...rentRequest, runtype: 'ssh' },
    });
    expect(rent.json).toEqual({ success: true, new_contract: expect.any(Number) });
    const id = (rent.json as { new_contract: number }).new_contract;
    const list = await raw(h.sim, 'GET', '/api/v0/instances/');
    expect(list.json).toEqual({ instances: [expect.objectContaining({ id })] });
    const one = await raw(h.sim, 'GET', `/api/v0/instances/${id}/`);
    expect(one.json).toEqual({ instances: expect.objectContaining({ id, ssh_port: expect.any(Number) }) });
    const bid = await raw(h.sim, 'PUT', `/api/v0/instances/bid_price/${id}/`, {
      body: { client_id: 'me', price: 1 },
    });
    expect(bid.status).toBe(400); // on-demand has no bid
  });
});
