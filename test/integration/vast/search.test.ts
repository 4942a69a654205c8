import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VastApiError } from '../../../src/errors.js';
import type { Filter } from '../../../src/infra/vast/types.js';
import { type Harness, raw, startHarness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ seed: 7 });
});
afterAll(() => h.close());

const search = (filters: Record<string, Filter>, extra: { limit?: number } = {}) =>
  h.client.searchOffers({ filters, type: 'on-demand', limit: 1000, ...extra });

describe('offer search over HTTP', () => {
  it('returns every documented offer field, parsed', async () => {
    const offers = await search({});
    expect(offers.length).toBeGreaterThan(20);
    for (const offer of offers) {
      expect(offer.gpu_ram).toBeGreaterThan(20_000); // MB, not GB
      expect(offer.min_bid).toBeLessThan(offer.dph_total);
      expect(typeof offer.geolocation).toBe('string');
    }
    const names = new Set(offers.map((o) => `${o.gpu_name} x${o.num_gpus}`));
    for (const kind of ['RTX 3090', 'RTX 4090', 'RTX 5090']) {
      for (const n of [1, 4, 8]) expect(names).toContain(`${kind} x${n}`);
    }
    expect(names).toContain('A100 SXM4 x4');
    expect(names).toContain('A100 SXM4 x8');
    expect(offers.some((o) => o.reliability < 0.9)).toBe(true);
    expect(offers.filter((o) => o.gpu_name === 'RTX 5090').every((o) => o.compute_cap === 1200)).toBe(true);
  });

  it('applies eq, neq, gt, gte, lt, lte, in and notin', async () => {
    const all = await search({});
    const eq = await search({ gpu_name: { eq: 'RTX 4090' } });
    expect(eq.length).toBeGreaterThan(0);
    expect(eq.every((o) => o.gpu_name === 'RTX 4090')).toBe(true);

    const neq = await search({ gpu_name: { neq: 'RTX 4090' } });
    expect(neq.length).toBe(all.length - eq.length);

    const gt = await search({ num_gpus: { gt: 4 } });
    expect(gt.length).toBeGreaterThan(0);
    expect(gt.every((o) => o.num_gpus === 8)).toBe(true);

    const gte = await search({ num_gpus: { gte: 4 } });
    expect(gte.every((o) => o.num_gpus >= 4)).toBe(true);
    expect(gte.some((o) => o.num_gpus === 4)).toBe(true);

    const lt = await search({ num_gpus: { lt: 4 } });
    expect(lt.every((o) => o.num_gpus === 1)).toBe(true);
    expect(lt.length + gte.length).toBe(all.length);

    const lte = await search({ reliability: { lte: 0.9 } });
    expect(lte.length).toBeGreaterThan(0);
    expect(lte.every((o) => o.reliability <= 0.9)).toBe(true);

    const inList = await search({ gpu_name: { in: ['RTX 3090', 'A100 SXM4'] } });
    expect(new Set(inList.map((o) => o.gpu_name))).toEqual(new Set(['RTX 3090', 'A100 SXM4']));

    const notin = await search({ gpu_name: { notin: ['RTX 5090'] } });
    expect(notin.length).toBe(all.filter((o) => o.gpu_name !== 'RTX 5090').length);
    expect(notin.some((o) => o.gpu_name === 'RTX 5090')).toBe(false);

    const combined = await search({ num_gpus: { gte: 4, lte: 4 }, reliability: { gte: 0.95 } });
    expect(combined.every((o) => o.num_gpus === 4 && o.reliability >= 0.95)).toBe(true);
  });

  it('orders and limits', async () => {
    const asc = await h.client.searchOffers({
      filters: {},
      type: 'bid',
      order: [['dph_total', 'asc']],
      limit: 5,
    });
    expect(asc).toHaveLength(5);
    const prices = asc.map((o) => o.dph_total);
    expect(prices).toEqual([...prices].sort((a, b) => a - b));

    const desc = await h.client.searchOffers({
      filters: { num_gpus: { eq: 1 } },
      type: 'on-demand',
      order: [['dph_total', 'desc']],
    });
    const descPrices = desc.map((o) => o.dph_total);
    expect(descPrices).toEqual([...descPrices].sort((a, b) => b - a));
  });

  it('puts the RTX 5090 first for a client that only sorts by price', async () => {
    for (const n of [1, 4, 8]) {
      const [cheapest] = await h.client.searchOffers({
        filters: { num_gpus: { eq: n } },
        type: 'on-demand',
        order: [['dph_total', 'asc']],
        limit: 1,
      });
      expect(cheapest?.gpu_name).toBe('RTX 5090');
    }
  });

  it('rejects a bare-value filter with a 400 error, like the real API', async () => {
    const res = await raw(h.sim, 'POST', '/api/v0/bundles/', { body: { num_gpus: 4, type: 'on-demand' } });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ success: false, error: 'invalid_args' });
    expect(JSON.stringify(res.json)).toContain('num_gpus');

    const unknownOp = await raw(h.sim, 'POST', '/api/v0/bundles/', { body: { num_gpus: { ge: 4 } } });
    expect(unknownOp.status).toBe(400);

    const bad = h.client.searchOffers({ filters: { nope: { eq: 1 } }, type: 'on-demand' });
    await expect(bad).rejects.toBeInstanceOf(VastApiError);
    await expect(bad).rejects.toMatchObject({ status: 400, code: 'invalid_args' });
  });

  it('requires the trailing slash the real paths have', async () => {
    const res = await raw(h.sim, 'POST', '/api/v0/bundles', { body: {} });
    expect(res.status).toBe(404);
  });
});
