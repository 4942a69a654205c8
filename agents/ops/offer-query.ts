import { type Fleet, PROFILE_KEY, type RunSpec } from '../../src/fleet/schema.js';
import type { Filter, OfferQuery } from '../../src/infra/vast/types.js';
import { type Billing, DEFAULT_MIN_GPU_RAM_MB, requiredDiskGb } from './offer-ranking.js';

/**
 * The Vast.ai offer search for a run's replacement. Every filter is an operator dict (the API
 * rejects bare values). The search narrows the market; rankOffers still checks every rule on
 * what comes back, so a loose search can never let a blocked GPU through.
 */

export interface OfferQueryOptions {
  billing?: Billing;
  limit?: number;
  minGpuRamMb?: number;
}

export const DEFAULT_OFFER_LIMIT = 64;

/** `RTX_3090_4x` -> { gpu: "RTX 3090", count: 4 }, as Vast spells GPU names. */
export function profileGpu(key: string): { gpu: string; count: number } | null {
  const match = PROFILE_KEY.exec(key);
  if (!match?.[2]) return null;
  const gpu = key.slice(0, key.length - match[2].length - 2).replace(/_/g, ' ');
  return { gpu, count: Number(match[2]) };
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

export function buildOfferQuery(
  run: RunSpec,
  fleet: Pick<Fleet, 'policy' | 'disk_gb'>,
  options: OfferQueryOptions = {},
): OfferQuery {
  const { policy } = fleet;
  const billing = options.billing ?? run.billing;
  const gpus = Object.keys(run.profiles)
    .map(profileGpu)
    .filter((g) => g !== null);
  const filters: Record<string, Filter> = {
    reliability: { gte: policy.offers.reliability_min },
    inet_down: { gte: policy.offers.min_inet_down_mbps },
    disk_space: { gte: requiredDiskGb(run, fleet) },
    gpu_ram: { gte: options.minGpuRamMb ?? DEFAULT_MIN_GPU_RAM_MB },
    rentable: { eq: true },
  };
  const blocked = policy.gpu_blocklist.map((b) => b.gpu);
  if (gpus.length > 0) {
    filters['gpu_name'] = { in: unique(gpus.map((g) => g.gpu)) };
    filters['num_gpus'] = { in: unique(gpus.map((g) => g.count)).sort((a, b) => a - b) };
  } else if (blocked.length > 0) {
    filters['gpu_name'] = { notin: blocked };
  }
  // A bid's price is not known before the search: the cap is applied to it when ranking.
  if (policy.offers.max_dph !== undefined && billing === 'on-demand') {
    filters['dph_total'] = { lte: policy.offers.max_dph };
  }
  return {
    filters,
    order: [['dph_total', 'asc']],
    type: billing,
    limit: options.limit ?? DEFAULT_OFFER_LIMIT,
  };
}

/** A search for one offer by id: to check a chosen offer still exists and what it is. */
export function offerByIdQuery(offerId: number, billing: Billing): OfferQuery {
  return { filters: { id: { eq: offerId } }, type: billing, limit: 1 };
}
