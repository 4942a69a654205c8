import { describe, expect, it } from 'vitest';
import { buildOfferQuery, offerByIdQuery, profileGpu } from '../../../agents/ops/offer-query.js';
import {
  bidPrice,
  FALLBACK_STEPS_PER_HOUR,
  rankOffers,
  requiredDiskGb,
} from '../../../agents/ops/offer-ranking.js';
import { offer, runOf, testFleet } from './fixtures.js';

const fleet = testFleet();
const moe = runOf(fleet, 'mosaic_moe');
const gpt2 = runOf(fleet, 'gpt2_reference');

describe('rankOffers: the GPU blocklist', () => {
  it('never ranks an RTX 5090, even when it is by far the cheapest', () => {
    const cheap5090 = offer({ gpu_name: 'RTX 5090', num_gpus: 4, dph_total: 0.2, min_bid: 0.05 });
    const dear3090 = offer({ gpu_name: 'RTX 3090', num_gpus: 4, dph_total: 2.5, min_bid: 1.5 });
    const { ranked, rejected } = rankOffers([cheap5090, dear3090], { run: moe, fleet, currentStep: 10_000 });
    expect(ranked.map((r) => r.offer.id)).toEqual([dear3090.id]);
    const refusal = rejected.find((r) => r.offer.id === cheap5090.id);
    expect(refusal?.rule).toBe('gpu_blocked');
    expect(refusal?.reason).toMatch(/sm_120|no kernel image/);
  });

  it('is not fooled by vendor words or spacing in the name', () => {
    const spelled = ['GeForce RTX 5090', 'rtx_5090', 'NVIDIA RTX5090'].map((name) =>
      offer({ gpu_name: name, num_gpus: 4, dph_total: 0.1 }),
    );
    const { ranked, rejected } = rankOffers(spelled, { run: moe, fleet, currentStep: 0 });
    expect(ranked).toEqual([]);
    expect(rejected.map((r) => r.rule)).toEqual(['gpu_blocked', 'gpu_blocked', 'gpu_blocked']);
  });
});

describe('rankOffers: launch profiles and machine fit', () => {
  it('rejects a GPU model or count the run has no profile for', () => {
    const noModel = offer({ gpu_name: 'RTX 4090', num_gpus: 4 });
    const noCount = offer({ gpu_name: 'RTX 3090', num_gpus: 2 });
    const { ranked, rejected } = rankOffers([noModel, noCount], { run: moe, fleet, currentStep: 0 });
    expect(ranked).toEqual([]);
    expect(rejected.map((r) => r.rule)).toEqual(['no_profile', 'no_profile']);
    expect(rejected[0]?.reason).toMatch(/RTX_4090_4x/);
  });

  it('accepts the spellings Vast uses for a profiled GPU and reports the profile key', () => {
    const a100 = offer({ gpu_name: 'A100 SXM4', num_gpus: 4, gpu_ram: 81_920 });
    const { ranked } = rankOffers([a100], { run: moe, fleet, currentStep: 0 });
    expect(ranked[0]?.profileKey).toBe('A100_SXM4_4x');
  });

  it('rejects too little GPU memory, disk for the checkpoints, reliability and bandwidth', () => {
    const disk = requiredDiskGb(moe, fleet);
    const offers = [
      offer({ gpu_name: 'RTX 3090', num_gpus: 4, gpu_ram: 12_000 }),
      offer({ gpu_name: 'RTX 3090', num_gpus: 4, disk_space: disk - 1 }),
      offer({ gpu_name: 'RTX 3090', num_gpus: 4, reliability: 0.8 }),
      offer({ gpu_name: 'RTX 3090', num_gpus: 4, inet_down: 10 }),
      offer({ gpu_name: 'RTX 3090', num_gpus: 4, disk_space: disk }),
    ];
    const { ranked, rejected } = rankOffers(offers, { run: moe, fleet, currentStep: 0 });
    expect(rejected.map((r) => r.rule)).toEqual(['gpu_ram', 'disk', 'reliability', 'bandwidth']);
    expect(ranked.map((r) => r.offer.id)).toEqual([offers[4]?.id]);
  });

  it('asks for more disk for a bigger checkpoint', () => {
    const bigRun = { ...moe, checkpoint_size_gb: 40 };
    expect(requiredDiskGb(bigRun, fleet)).toBeGreaterThan(requiredDiskGb(moe, fleet));
    expect(requiredDiskGb(bigRun, fleet)).toBeGreaterThanOrEqual(40 * 2);
    expect(requiredDiskGb(moe, fleet)).toBeGreaterThanOrEqual(fleet.disk_gb);
  });
});

describe('rankOffers: prices', () => {
  it('bids at min_bid x (1 + bid_margin) for a bid run and ranks by that price', () => {
    const bidFleet = testFleet({ policy: { offers: { bid_margin: 0.2 } } });
    const run = runOf(bidFleet, 'mosaic_moe');
    expect(run.billing).toBe('bid');
    const lowBid = offer({ gpu_name: 'RTX 3090', num_gpus: 4, dph_total: 0.9, min_bid: 0.3 });
    const highBid = offer({ gpu_name: 'RTX 3090', num_gpus: 4, dph_total: 0.8, min_bid: 0.5 });
    const { ranked } = rankOffers([highBid, lowBid], { run, fleet: bidFleet, currentStep: 0 });
    expect(ranked.map((r) => r.offer.id)).toEqual([lowBid.id, highBid.id]);
    expect(ranked[0]?.bid).toBeCloseTo(0.36, 10);
    expect(ranked[0]?.pricePerHour).toBeCloseTo(0.36, 10);
    expect(bidPrice({ min_bid: 0.5 }, 0.2)).toBeCloseTo(0.6, 10);
  });

  it('pays the on-demand price, with no bid, for an on-demand run', () => {
    const onDemand = testFleet({}, { gpt2_reference: { billing: 'on-demand' } });
    const run = runOf(onDemand, 'gpt2_reference');
    const o = offer({ gpu_name: 'RTX 4090', num_gpus: 1, dph_total: 0.4, min_bid: 0.2 });
    const [ranked] = rankOffers([o], { run, fleet: onDemand, currentStep: 0 }).ranked;
    expect(ranked?.bid).toBeUndefined();
    expect(ranked?.pricePerHour).toBe(0.4);
  });

  it('refuses offers above the price cap (on the price actually paid)', () => {
    const capped = testFleet({ policy: { offers: { max_dph: 0.7 } } });
    const run = runOf(capped, 'mosaic_moe');
    const underCapBid = offer({ gpu_name: 'RTX 3090', num_gpus: 4, dph_total: 2, min_bid: 0.5 });
    const overCapBid = offer({ gpu_name: 'RTX 3090', num_gpus: 4, dph_total: 2, min_bid: 0.9 });
    const { ranked, rejected } = rankOffers([underCapBid, overCapBid], {
      run,
      fleet: capped,
      currentStep: 0,
    });
    expect(ranked.map((r) => r.offer.id)).toEqual([underCapBid.id]);
    expect(rejected[0]?.rule).toBe('price_cap');
  });

  it('refuses what the fleet budget cannot pay for when a budget is given', () => {
    const small = testFleet({ policy: { budget: { max_dph: 3 } } });
    const run = runOf(small, 'mosaic_moe');
    const fits = offer({ gpu_name: 'RTX 3090', num_gpus: 4, min_bid: 0.4 });
    const tooDear = offer({ gpu_name: 'A100 SXM4', num_gpus: 4, gpu_ram: 81_920, min_bid: 1.5 });
    const { ranked, rejected } = rankOffers([fits, tooDear], {
      run,
      fleet: small,
      currentStep: 0,
      budget: { currentFleetDph: 1.5 },
    });
    expect(ranked.map((r) => r.offer.id)).toEqual([fits.id]);
    expect(rejected[0]).toMatchObject({ rule: 'budget' });
    expect(rejected[0]?.reason).toMatch(/above the budget/);
  });
});

describe('rankOffers: estimated cost to finish', () => {
  it('ranks a faster, dearer machine first when it finishes for fewer dollars', () => {
    const tuned = testFleet(
      {},
      {
        mosaic_moe: {
          profiles: {
            RTX_3090_4x: { batch_size: 4, grad_accum: 16, nproc: 4, steps_per_hour: 300 },
            A100_SXM4_4x: { batch_size: 8, grad_accum: 8, nproc: 4, steps_per_hour: 1200 },
          },
        },
      },
    );
    const run = runOf(tuned, 'mosaic_moe');
    const slowCheap = offer({ gpu_name: 'RTX 3090', num_gpus: 4, min_bid: 0.5 });
    const fastDear = offer({ gpu_name: 'A100 SXM4', num_gpus: 4, gpu_ram: 81_920, min_bid: 1.5 });
    const { ranked } = rankOffers([slowCheap, fastDear], { run, fleet: tuned, currentStep: 20_000 });
    expect(ranked.map((r) => r.offer.id)).toEqual([fastDear.id, slowCheap.id]);
    const [fast, slow] = ranked;
    expect(fast?.estHours).toBeCloseTo(30_000 / 1200, 6);
    expect(slow?.estHours).toBeCloseTo(30_000 / 300, 6);
    expect(fast?.estDollars).toBeCloseTo(fast!.estHours * fast!.pricePerHour, 6);
    expect(fast?.roughEstimate).toBe(false);
  });

  it('falls back to the measured rate, else a rough constant, and says the estimate is rough', () => {
    const o = offer({ gpu_name: 'RTX 3090', num_gpus: 4 });
    const measured = rankOffers([o], { run: moe, fleet, currentStep: 40_000, measuredStepsPerHour: 250 });
    expect(measured.ranked[0]).toMatchObject({ stepsPerHour: 250, roughEstimate: true });
    expect(measured.ranked[0]?.estHours).toBeCloseTo(10_000 / 250, 6);
    const guessed = rankOffers([o], { run: moe, fleet, currentStep: 40_000 });
    expect(guessed.ranked[0]).toMatchObject({ stepsPerHour: FALLBACK_STEPS_PER_HOUR, roughEstimate: true });
  });

  it('costs nothing more for a run already at its target', () => {
    const o = offer({ gpu_name: 'RTX 3090', num_gpus: 4 });
    const { ranked } = rankOffers([o], { run: moe, fleet, currentStep: 60_000 });
    expect(ranked[0]?.estDollars).toBe(0);
  });
});

describe('buildOfferQuery', () => {
  it('uses operator dicts for every filter, never bare values', () => {
    const query = buildOfferQuery(moe, fleet);
    for (const [field, filter] of Object.entries(query.filters)) {
      expect(typeof filter, field).toBe('object');
      expect(Array.isArray(filter), field).toBe(false);
      expect(
        Object.keys(filter).every((op) =>
          ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'in', 'notin'].includes(op),
        ),
      ).toBe(true);
    }
  });

  it("asks only for the run's profiled GPU models and counts, with the policy's floors", () => {
    const query = buildOfferQuery(moe, fleet);
    expect(query.filters['gpu_name']).toEqual({ in: ['RTX 3090', 'A100 SXM4'] });
    expect(query.filters['num_gpus']).toEqual({ in: [4, 8] });
    expect(query.filters['reliability']).toEqual({ gte: fleet.policy.offers.reliability_min });
    expect(query.filters['disk_space']).toEqual({ gte: requiredDiskGb(moe, fleet) });
    expect(query.type).toBe('bid');
    expect(query.order).toEqual([['dph_total', 'asc']]);
    expect(JSON.stringify(query)).not.toMatch(/5090/);
  });

  it('searches on-demand for an on-demand run and caps its price in the search', () => {
    const f = testFleet({ policy: { offers: { max_dph: 2 } } }, { gpt2_reference: { billing: 'on-demand' } });
    const query = buildOfferQuery(runOf(f, 'gpt2_reference'), f);
    expect(query.type).toBe('on-demand');
    expect(query.filters['dph_total']).toEqual({ lte: 2 });
    expect(buildOfferQuery(gpt2, fleet).filters['dph_total']).toBeUndefined();
  });

  it('looks one offer up by id with an eq filter', () => {
    expect(offerByIdQuery(42, 'bid')).toEqual({ filters: { id: { eq: 42 } }, type: 'bid', limit: 1 });
  });

  it('turns profile keys into Vast GPU names', () => {
    expect(profileGpu('RTX_3090_4x')).toEqual({ gpu: 'RTX 3090', count: 4 });
    expect(profileGpu('A100_SXM4_80GB_8x')).toEqual({ gpu: 'A100 SXM4 80GB', count: 8 });
    expect(profileGpu('nonsense')).toBeNull();
  });
});
