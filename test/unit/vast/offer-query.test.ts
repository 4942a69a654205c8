import { describe, expect, it } from 'vitest';
import type { Filter } from '../../../src/infra/vast/types.js';
import {
  applyOfferQuery,
  DEFAULT_LIMIT,
  matchesFilter,
  parseOfferQuery,
} from '../../../src/sim/vast/offer-query.js';

const fields = new Set(['id', 'gpu_name', 'num_gpus', 'dph_total', 'verified', 'geolocation']);
const offers = [
  { id: 1, gpu_name: 'RTX 3090', num_gpus: 1, dph_total: 0.2, verified: true, geolocation: 'Texas, US' },
  { id: 2, gpu_name: 'RTX 5090', num_gpus: 1, dph_total: 0.1, verified: false, geolocation: null },
  { id: 3, gpu_name: 'RTX 4090', num_gpus: 4, dph_total: 1.5, verified: true, geolocation: 'Sweden, SE' },
  { id: 4, gpu_name: 'RTX 3090', num_gpus: 8, dph_total: 1.5, verified: true, geolocation: 'Quebec, CA' },
];

describe('matchesFilter', () => {
  it.each([
    [4, { eq: 4 }, true],
    [4, { eq: 5 }, false],
    ['RTX 3090', { eq: 'RTX 3090' }, true],
    [true, { eq: true }, true],
    [4, { neq: 4 }, false],
    [4, { neq: 1 }, true],
    [4, { gt: 4 }, false],
    [5, { gt: 4 }, true],
    [4, { gte: 4 }, true],
    [3, { gte: 4 }, false],
    [3, { lt: 4 }, true],
    [4, { lt: 4 }, false],
    [4, { lte: 4 }, true],
    [5, { lte: 4 }, false],
    ['RTX 3090', { in: ['RTX 3090', 'RTX 4090'] }, true],
    ['RTX 5090', { in: ['RTX 3090', 'RTX 4090'] }, false],
    ['RTX 5090', { notin: ['RTX 5090'] }, false],
    ['RTX 3090', { notin: ['RTX 5090'] }, true],
    [4, { gte: 2, lte: 4 }, true],
    [8, { gte: 2, lte: 4 }, false],
    ['4', { gte: 2 }, false],
    [null, { lt: 1 }, false],
    [undefined, { eq: 1 }, false],
    [4, {}, true],
  ] satisfies [unknown, Filter, boolean][])('%j %j -> %s', (value, filter, expected) => {
    expect(matchesFilter(value, filter)).toBe(expected);
  });
});

describe('parseOfferQuery', () => {
  it('reads filters, order, type and limit', () => {
    const parsed = parseOfferQuery(
      { num_gpus: { gte: 4 }, order: [['dph_total', 'asc']], type: 'bid', limit: 3 },
      fields,
    );
    expect(parsed).toEqual({
      ok: true,
      query: { filters: { num_gpus: { gte: 4 } }, order: [['dph_total', 'asc']], type: 'bid', limit: 3 },
    });
  });

  it('defaults to on-demand and the default limit', () => {
    expect(parseOfferQuery({}, fields)).toEqual({
      ok: true,
      query: { filters: {}, type: 'on-demand', limit: DEFAULT_LIMIT },
    });
  });

  it.each([
    [{ num_gpus: 4 }, /bare value/],
    [{ gpu_name: 'RTX 3090' }, /bare value/],
    [{ gpu_name: ['RTX 3090'] }, /bare value/],
    [{ num_gpus: null }, /bare value/],
    [{ num_gpus: { ge: 4 } }, /invalid/],
    [{ num_gpus: { gte: '4' } }, /invalid/],
    [{ gpu_nmae: { eq: 'RTX 3090' } }, /unknown search field/],
    [{ type: 'spot' }, /type/],
    [{ order: 'dph_total' }, /order/],
    [{ order: [['dph_total', 'up']] }, /direction/],
    [{ order: [['price', 'asc']] }, /unknown field/],
    [{ limit: 0 }, /limit/],
    [{ limit: 2.5 }, /limit/],
    [[], /object/],
  ])('refuses %j', (body, message) => {
    const parsed = parseOfferQuery(body, fields);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.msg).toMatch(message);
  });
});

describe('applyOfferQuery', () => {
  it('filters with every filter ANDed', () => {
    const out = applyOfferQuery(offers, {
      filters: { gpu_name: { eq: 'RTX 3090' }, num_gpus: { gte: 2 } },
      type: 'on-demand',
    });
    expect(out.map((o) => o.id)).toEqual([4]);
  });

  it('orders by several keys, stable for ties, then limits', () => {
    const byPrice = applyOfferQuery(offers, {
      filters: {},
      type: 'on-demand',
      order: [['dph_total', 'asc']],
    });
    expect(byPrice.map((o) => o.id)).toEqual([2, 1, 3, 4]);
    const tieBreak = applyOfferQuery(offers, {
      filters: {},
      type: 'on-demand',
      order: [
        ['dph_total', 'desc'],
        ['num_gpus', 'desc'],
      ],
      limit: 2,
    });
    expect(tieBreak.map((o) => o.id)).toEqual([4, 3]);
  });

  it('sorts missing values last in both directions', () => {
    for (const direction of ['asc', 'desc'] as const) {
      const out = applyOfferQuery(offers, {
        filters: {},
        type: 'on-demand',
        order: [['geolocation', direction]],
      });
      expect(out.at(-1)?.id).toBe(2);
    }
  });
});
