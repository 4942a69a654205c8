import { describe, expect, it } from 'vitest';
import { scaledClock } from '../../../src/clock.js';
import { ProposalError } from '../../../src/errors.js';
import type { NewProposal } from '../../../src/state/proposals.js';
import { T0 } from '../../unit/state/fixtures.js';
import { useStateHarness } from './harness.js';

const h = useStateHarness();
const MINUTE = 60_000;

const migrate: NewProposal = {
  run: 'mosaic_moe',
  action: 'migrate',
  reason: 'outbid: replace with offer 777',
  params: { offerId: 777, price: 0.42 },
  createdBy: 'conductor',
  incidentId: 'inc_x',
  ttlMs: 30 * MINUTE,
};

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (err) {
    if (err instanceof ProposalError) return err.reason;
    throw err;
  }
}

describe('proposals', () => {
  it('creates with an unguessable id, a clock expiry and a matching Redis TTL', async () => {
    const { proposals } = h().store();
    const p = await proposals.create(migrate);
    expect(p.id).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(p).toMatchObject({ createdAt: T0, expiresAt: T0 + 30 * MINUTE, incidentId: 'inc_x' });
    expect(await proposals.get(p.id)).toEqual(p);
    const ttl = await h().redis.pttl(`${h().prefix}:proposal:${p.id}`);
    expect(ttl).toBeGreaterThan(29 * MINUTE);
    expect(ttl).toBeLessThanOrEqual(30 * MINUTE);
    const other = await proposals.create(migrate);
    expect(other.id).not.toBe(p.id);
  });

  it('is single use: consumed once, then "consumed"', async () => {
    const { proposals } = h().store();
    const p = await proposals.create(migrate);
    expect(await proposals.consume(p.id)).toEqual(p);
    expect(await reasonOf(proposals.consume(p.id))).toBe('consumed');
    expect(await proposals.get(p.id)).toBeNull();
  });

  it.each([2, 20])('of %i concurrent consumers on separate clients exactly one wins', async (n) => {
    const stores = Array.from({ length: Math.min(n, 5) }, () => h().store());
    const p = await stores[0]!.proposals.create(migrate);
    const outcomes = await Promise.all(
      Array.from({ length: n }, (_, i) => reasonOf(stores[i % stores.length]!.proposals.consume(p.id))),
    );
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'consumed')).toHaveLength(n - 1);
  });

  it('expires by the injected clock even while Redis still holds it', async () => {
    const { proposals } = h().store();
    const p = await proposals.create(migrate);
    await h().clock.advance(30 * MINUTE - 1);
    const early = await proposals.create(migrate);
    expect(await reasonOf(proposals.consume(early.id))).toBe('ok');
    await h().clock.advance(1);
    expect(await proposals.get(p.id)).not.toBeNull();
    expect(await reasonOf(proposals.consume(p.id))).toBe('expired');
    // An explicit `now` is honoured too.
    const later = await proposals.create(migrate);
    expect(await reasonOf(proposals.consume(later.id, later.expiresAt + 1))).toBe('expired');
  });

  it('expires when Redis drops it by TTL, and says so rather than "not found"', async () => {
    const { proposals } = h().store();
    const p = await proposals.create({ ...migrate, ttlMs: 100 });
    await new Promise((r) => setTimeout(r, 250));
    expect(await proposals.get(p.id)).toBeNull();
    // The manual clock has not moved: only Redis knows it is gone.
    expect(await reasonOf(proposals.consume(p.id))).toBe('expired');
  });

  it('scales the Redis TTL to real time when the clock runs fast', async () => {
    const fast = h().store({ clock: scaledClock(1000, T0) });
    const p = await fast.proposals.create(migrate);
    const ttl = await h().redis.pttl(`${h().prefix}:proposal:${p.id}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1800);
  });

  it('says "not_found" for an unknown id', async () => {
    const { proposals } = h().store();
    expect(await reasonOf(proposals.consume('AAAAAAAAAAAAAAAAAAAAAAAA'))).toBe('not_found');
    expect(await proposals.get('AAAAAAAAAAAAAAAAAAAAAAAA')).toBeNull();
  });

  it('rejects a non-positive lifetime', async () => {
    await expect(
      h()
        .store()
        .proposals.create({ ...migrate, ttlMs: 0 }),
    ).rejects.toThrow(RangeError);
  });
});
