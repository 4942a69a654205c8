import { ConductorError } from '../../src/errors.js';
import { type BudgetInput, checkBudget } from '../../src/fleet/policy/budget.js';
import { checkGpuAllowed } from '../../src/fleet/policy/gpu-blocklist.js';
import { findProfile, profileKey } from '../../src/fleet/policy/profile.js';
import type { Fleet, GpuProfile, RunSpec } from '../../src/fleet/schema.js';
import type { VastOffer } from '../../src/infra/vast/types.js';

/**
 * Which offers could carry a run, and in what order. Pure.
 *
 * An offer is rejected (with the reason) when: its GPU is blocked (rule 3, the RTX 5090 however
 * cheap); the run has no launch profile for that GPU model and count; its GPU memory is below
 * `minGpuRamMb`; its disk cannot hold the run's checkpoints (`requiredDiskGb`); its reliability
 * or download bandwidth is below the policy's floor; the price we would pay is above the
 * policy's cap; or, when a budget is given, renting it would break the fleet budget.
 *
 * The rest are ranked by the estimated dollars to reach the run's target from `currentStep`
 * (remaining steps / steps per hour x price), then by hours, then by reliability. Steps per hour
 * come from the profile's `steps_per_hour`; without one, the run's measured rate when given,
 * else a rough constant, and the estimate says it is rough. Bids are priced at
 * min_bid x (1 + bid_margin): enough above the floor not to be outbid at once.
 */

export type Billing = 'on-demand' | 'bid';

export interface RankContext {
  run: RunSpec;
  fleet: Pick<Fleet, 'policy' | 'disk_gb'>;
  currentStep: number;
  /** Defaults to the run's billing. */
  billing?: Billing;
  /** Steps/hour measured on the current instance, used when a profile has no steps_per_hour. */
  measuredStepsPerHour?: number | null;
  /** Minimum memory per GPU (MB); default 20,000 (the profiles are tuned for 24 GB cards). */
  minGpuRamMb?: number;
  /** When given, offers the fleet budget cannot pay for are rejected. */
  budget?: Omit<BudgetInput, 'addDph'>;
}

export interface RankedOffer {
  offer: VastOffer;
  profileKey: string;
  /** Hours to reach the target step on this offer. */
  estHours: number;
  /** Dollars to reach the target step on this offer. */
  estDollars: number;
  /** Bid price ($/h) for an interruptible rental. */
  bid?: number;
  /** What we would pay per hour: the bid, or the on-demand price. */
  pricePerHour: number;
  stepsPerHour: number;
  /** True when steps/hour is a guess (no steps_per_hour in the profile). */
  roughEstimate: boolean;
}

/** Why an offer was left out; `rule` names the check (for tests, the journal and Slack). */
export type RejectRule =
  | 'gpu_blocked'
  | 'no_profile'
  | 'gpu_ram'
  | 'disk'
  | 'reliability'
  | 'bandwidth'
  | 'price_cap'
  | 'budget';

export interface RejectedOffer {
  offer: VastOffer;
  rule: RejectRule;
  reason: string;
}

export interface Ranking {
  ranked: RankedOffer[];
  rejected: RejectedOffer[];
}

export const DEFAULT_MIN_GPU_RAM_MB = 20_000;
/** latest + best + final + the newest 2 step files, one more in flight while saving, and slack. */
export const CHECKPOINT_DISK_FACTOR = 8;
/** Used only when neither the profile nor the run's history says better (labelled rough). */
export const FALLBACK_STEPS_PER_HOUR = 500;

/** Disk (GB) a replacement must have: the fleet's rental size, and room for the checkpoints. */
export function requiredDiskGb(
  run: Pick<RunSpec, 'checkpoint_size_gb'>,
  fleet: Pick<Fleet, 'disk_gb'>,
): number {
  return Math.max(fleet.disk_gb, Math.ceil(run.checkpoint_size_gb * CHECKPOINT_DISK_FACTOR));
}

/** The bid for an offer: its minimum plus the policy's margin, rounded to 1/10000 $. */
export function bidPrice(offer: Pick<VastOffer, 'min_bid'>, bidMargin: number): number {
  return Math.round(offer.min_bid * (1 + bidMargin) * 10_000) / 10_000;
}

function money(value: number): string {
  return `$${value.toFixed(2)}`;
}

type Evaluation = { ok: true; value: RankedOffer } | { ok: false; rejected: RejectedOffer };

function reject(offer: VastOffer, rule: RejectRule, reason: string): Evaluation {
  return { ok: false, rejected: { offer, rule, reason } };
}

function profileFor(ctx: RankContext, offer: VastOffer): GpuProfile | string {
  try {
    return findProfile(ctx.run, offer.gpu_name, offer.num_gpus);
  } catch (err) {
    return err instanceof ConductorError ? err.message : String(err);
  }
}

function stepsPerHourFor(ctx: RankContext, profile: GpuProfile): { value: number; rough: boolean } {
  if (profile.steps_per_hour !== undefined) return { value: profile.steps_per_hour, rough: false };
  const measured = ctx.measuredStepsPerHour;
  if (measured !== null && measured !== undefined && Number.isFinite(measured) && measured > 0) {
    return { value: measured, rough: true };
  }
  return { value: FALLBACK_STEPS_PER_HOUR, rough: true };
}

export function evaluateOffer(offer: VastOffer, ctx: RankContext): Evaluation {
  const { policy } = ctx.fleet;
  const gpu = checkGpuAllowed(offer.gpu_name, policy);
  if (!gpu.ok) return reject(offer, 'gpu_blocked', gpu.reason);
  const profile = profileFor(ctx, offer);
  if (typeof profile === 'string') return reject(offer, 'no_profile', profile);
  if (profile.nproc > offer.num_gpus) {
    return reject(
      offer,
      'no_profile',
      `profile wants ${profile.nproc} processes, the offer has ${offer.num_gpus} GPUs`,
    );
  }
  const minRam = ctx.minGpuRamMb ?? DEFAULT_MIN_GPU_RAM_MB;
  if (!(offer.gpu_ram >= minRam)) {
    return reject(offer, 'gpu_ram', `${offer.gpu_ram} MB per GPU is below ${minRam} MB`);
  }
  const disk = requiredDiskGb(ctx.run, ctx.fleet);
  if (!(offer.disk_space >= disk)) {
    return reject(
      offer,
      'disk',
      `${offer.disk_space} GB of disk is below the ${disk} GB the checkpoints need`,
    );
  }
  if (!(offer.reliability >= policy.offers.reliability_min)) {
    return reject(
      offer,
      'reliability',
      `reliability ${offer.reliability} is below ${policy.offers.reliability_min}`,
    );
  }
  if (!(offer.inet_down >= policy.offers.min_inet_down_mbps)) {
    return reject(
      offer,
      'bandwidth',
      `download ${offer.inet_down} Mb/s is below ${policy.offers.min_inet_down_mbps} Mb/s`,
    );
  }
  const billing = ctx.billing ?? ctx.run.billing;
  const bid = billing === 'bid' ? bidPrice(offer, policy.offers.bid_margin) : undefined;
  const pricePerHour = bid ?? offer.dph_total;
  if (!(pricePerHour > 0)) return reject(offer, 'price_cap', `price ${pricePerHour} is not a price`);
  const cap = policy.offers.max_dph;
  if (cap !== undefined && pricePerHour > cap) {
    return reject(offer, 'price_cap', `${money(pricePerHour)}/h is above the cap of ${money(cap)}/h`);
  }
  if (ctx.budget) {
    const check = checkBudget({ ...ctx.budget, addDph: pricePerHour }, policy);
    if (!check.ok) return reject(offer, 'budget', check.reason);
  }
  const rate = stepsPerHourFor(ctx, profile);
  const remaining = Math.max(0, ctx.run.target_steps - Math.max(0, ctx.currentStep));
  const estHours = remaining / rate.value;
  return {
    ok: true,
    value: {
      offer,
      profileKey: profileKey(offer.gpu_name, offer.num_gpus),
      estHours,
      estDollars: estHours * pricePerHour,
      ...(bid !== undefined && { bid }),
      pricePerHour,
      stepsPerHour: rate.value,
      roughEstimate: rate.rough,
    },
  };
}

function compareRanked(a: RankedOffer, b: RankedOffer): number {
  return (
    a.estDollars - b.estDollars ||
    a.estHours - b.estHours ||
    b.offer.reliability - a.offer.reliability ||
    a.offer.id - b.offer.id
  );
}

export function rankOffers(offers: readonly VastOffer[], ctx: RankContext): Ranking {
  const ranked: RankedOffer[] = [];
  const rejected: RejectedOffer[] = [];
  const seen = new Set<number>();
  for (const offer of offers) {
    if (seen.has(offer.id)) continue;
    seen.add(offer.id);
    const evaluation = evaluateOffer(offer, ctx);
    if (evaluation.ok) ranked.push(evaluation.value);
    else rejected.push(evaluation.rejected);
  }
  return { ranked: ranked.sort(compareRanked), rejected };
}
