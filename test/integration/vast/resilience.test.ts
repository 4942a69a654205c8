import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { VastApiError, VastRentUnknownError } from '../../../src/errors.js';
import { createVastClient } from '../../../src/infra/vast/client.js';
import { createLogger } from '../../../src/logger.js';
import { API_KEY, type Harness, raw, recordingClock, startHarness, unusedPort } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const rentRequest = { image: 'pytorch/pytorch:2.5.1-cuda12.4-cudnn9-devel', disk: 40, label: 'mosaic_dense' };

async function anyOfferId(harness: Harness): Promise<number> {
  const [offer] = await harness.client.searchOffers({
    filters: { gpu_name: { eq: 'RTX 3090' } },
    type: 'on-demand',
    limit: 1,
  });
  if (!offer) throw new Error('empty market');
  return offer.id;
}

describe('authentication', () => {
  it('accepts a Bearer header or ?api_key=, and answers 401 otherwise', async () => {
    h = await startHarness();
    expect((await raw(h.sim, 'GET', '/api/v0/instances/', { auth: 'bearer' })).status).toBe(200);
    expect((await raw(h.sim, 'GET', '/api/v0/instances/', { auth: 'query' })).status).toBe(200);
    const none = await raw(h.sim, 'GET', '/api/v0/instances/', { auth: 'none' });
    expect(none.status).toBe(401);
    expect(none.json).toMatchObject({ success: false, error: 'auth_error', msg: expect.any(String) });
    expect((await raw(h.sim, 'GET', '/api/v0/instances/', { key: 'wrong-key' })).status).toBe(401);

    const intruder = createVastClient({
      baseUrl: h.sim.url,
      apiKey: 'wrong-key',
      clock: recordingClock(),
      logger: createLogger({ level: 'silent' }),
      timeoutMs: 2000,
      retries: 3,
    });
    const listing = intruder.listInstances();
    await expect(listing).rejects.toMatchObject({ status: 401, code: 'auth_error' });
    // 401 is an answer, not a transient failure: one attempt only.
    expect(h.sim.control.requests().filter((r) => r.status === 401)).toHaveLength(3);
  });

  it('never writes the API key into its logs', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    h = await startHarness(
      {},
      { logger: createLogger({ level: 'debug', destination }), retries: 2, backoffBaseMs: 1 },
    );
    await h.sim.control.fault({ kind: 'rateLimit', count: 1 });
    await h.client.listInstances();
    await h.client.rent(await anyOfferId(h), rentRequest);
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.join('')).not.toContain(API_KEY);
  });
});

describe('retries', () => {
  it('backs off and retries a plain-text 429 with no Retry-After', async () => {
    const clock = recordingClock();
    h = await startHarness({}, { clock, retries: 4, backoffBaseMs: 100, random: () => 1 });
    const wire = await (async () => {
      await h.sim.control.fault({ kind: 'rateLimit', count: 1 });
      return raw(h.sim, 'GET', '/api/v0/instances/');
    })();
    expect(wire.status).toBe(429);
    expect(wire.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(wire.headers.get('retry-after')).toBeNull();
    expect(wire.json).toBeUndefined();

    await h.sim.control.fault({ kind: 'rateLimit', count: 3 });
    const before = h.sim.control.requests().length;
    expect(await h.client.listInstances()).toEqual([]);
    const attempts = h.sim.control.requests().slice(before);
    expect(attempts.map((r) => r.status)).toEqual([429, 429, 429, 200]);
    expect(clock.sleeps).toEqual([100, 200, 400]);
  });

  it('gives up after the configured retries with a typed error', async () => {
    h = await startHarness({}, { retries: 2, backoffBaseMs: 1 });
    await h.sim.control.fault({ kind: 'rateLimit', fraction: 1 });
    const listing = h.client.listInstances();
    await expect(listing).rejects.toBeInstanceOf(VastApiError);
    await expect(listing).rejects.toMatchObject({ status: 429, code: 'rate_limited', retryable: true });
    expect(h.sim.control.requests()).toHaveLength(3);
  });

  it('retries 5xx on idempotent requests', async () => {
    h = await startHarness({}, { retries: 3, backoffBaseMs: 1 });
    await h.sim.control.fault({ kind: 'serverError', status: 503, count: 2, pathPrefix: '/api/v0/bundles/' });
    const offers = await h.client.searchOffers({ filters: {}, type: 'on-demand' });
    expect(offers.length).toBeGreaterThan(0);
    expect(h.sim.control.requests().map((r) => r.status)).toEqual([503, 503, 200]);
  });

  it('retries a rent refused with 429, since the server did nothing', async () => {
    h = await startHarness({}, { retries: 3, backoffBaseMs: 1 });
    const offerId = await anyOfferId(h);
    await h.sim.control.fault({ kind: 'rateLimit', count: 2, method: 'PUT' });
    const { instanceId } = await h.client.rent(offerId, rentRequest);
    expect((await h.client.listInstances()).map((i) => i.id)).toEqual([instanceId]);
  });

  it('retries a rent that never reached a server, and says so', async () => {
    const clock = recordingClock();
    const client = createVastClient({
      baseUrl: `http://127.0.0.1:${await unusedPort()}`,
      apiKey: API_KEY,
      clock,
      logger: createLogger({ level: 'silent' }),
      timeoutMs: 2000,
      retries: 2,
      backoffBaseMs: 1,
    });
    const rent = client.rent(123, rentRequest);
    await expect(rent).rejects.toMatchObject({ status: 0, code: 'not_sent' });
    await expect(rent).rejects.not.toBeInstanceOf(VastRentUnknownError);
    expect(clock.sleeps).toHaveLength(2);
  });
});

describe('ambiguous failures', () => {
  it('times out a slow response', async () => {
    h = await startHarness({}, { timeoutMs: 150, retries: 1, backoffBaseMs: 1 });
    await h.sim.control.fault({ kind: 'slow', delayMs: 3000, count: 2 });
    const started = Date.now();
    const listing = h.client.listInstances();
    await expect(listing).rejects.toMatchObject({ status: 0, code: 'timeout' });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(h.sim.control.requests()).toHaveLength(2);
  });

  it('a rent whose response is lost raises VastRentUnknownError and is not repeated', async () => {
    h = await startHarness({}, { retries: 5, backoffBaseMs: 1 });
    const offerId = await anyOfferId(h);
    await h.sim.control.fault({ kind: 'loseRentResponse' });
    const rent = h.client.rent(offerId, rentRequest);
    await expect(rent).rejects.toBeInstanceOf(VastRentUnknownError);
    await expect(rent).rejects.toMatchObject({ offerId, label: 'mosaic_dense', retryable: false });
    expect(h.sim.control.requests().filter((r) => r.method === 'PUT')).toHaveLength(1);
    // The rent did happen: the caller finds it by label.
    const instances = await h.client.listInstances();
    expect(instances).toHaveLength(1);
    expect(instances[0]?.label).toBe('mosaic_dense');
  });

  it('a rent that times out or hits a 5xx is not repeated either', async () => {
    h = await startHarness({}, { timeoutMs: 150, retries: 5, backoffBaseMs: 1 });
    const first = await anyOfferId(h);
    await h.sim.control.fault({ kind: 'slow', delayMs: 400, count: 1 });
    await expect(h.client.rent(first, rentRequest)).rejects.toMatchObject({
      name: 'VastRentUnknownError',
      code: 'timeout',
    });
    const second = await anyOfferId(h);
    await h.sim.control.fault({ kind: 'serverError', status: 502, count: 1, method: 'PUT' });
    await expect(h.client.rent(second, rentRequest)).rejects.toMatchObject({
      name: 'VastRentUnknownError',
      status: 502,
    });
    expect(h.sim.control.requests().filter((r) => r.method === 'PUT')).toHaveLength(2);
  });
});

describe('what counts as gone', () => {
  it('only no_such_instance means gone; a 404 from a wrong URL is an error', async () => {
    h = await startHarness();
    const misrouted = createVastClient({
      baseUrl: `${h.sim.url}/wrong`,
      apiKey: API_KEY,
      clock: recordingClock(),
      logger: createLogger({ level: 'silent' }),
      timeoutMs: 2000,
      retries: 0,
    });
    await expect(misrouted.getInstance(42)).rejects.toMatchObject({ status: 404, code: 'not_found' });
    await expect(misrouted.destroy(42)).rejects.toMatchObject({ status: 404 });
    expect(await h.client.getInstance(42)).toBeNull();
  });
});

describe('control API over HTTP', () => {
  it('arms faults and lists instances without Vast auth', async () => {
    h = await startHarness();
    const armed = await fetch(`${h.sim.url}/_sim/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'serverError', count: 1 }),
    });
    expect(armed.status).toBe(200);
    expect((await raw(h.sim, 'GET', '/api/v0/instances/')).status).toBe(500);
    expect((await raw(h.sim, 'GET', '/api/v0/instances/')).status).toBe(200);
    const listed = await fetch(`${h.sim.url}/_sim/instances`);
    expect(await listed.json()).toEqual({ instances: [] });
    const bad = await fetch(`${h.sim.url}/_sim/faults`, {
      method: 'POST',
      body: JSON.stringify({ kind: 'meteor' }),
    });
    expect(bad.status).toBe(400);
  });
});
