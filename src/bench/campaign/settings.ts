import type { SimOffer } from '../../sim/vast/index.js';
import { createRng, round } from '../../sim/vast/rng.js';
import type { CampaignSeed, CampaignSettings } from './campaign.js';
import { type CampaignFaultKind, faultSchedule } from './schedule.js';

/**
 * The campaign as `npm run bench -- campaign` runs it. The three runs of fleet.example.yaml, each
 * on a GPU its profiles cover (about 30-40 clock hours from step 0 to 50,000 in the simulator);
 * the quick variant runs the last 5,000 steps of each.
 */

const HOUR = 3_600_000;
const MINUTE = 60_000;

export const CAMPAIGN_SEEDS: readonly CampaignSeed[] = [
  { run: 'gpt2_reference', gpu_name: 'RTX 3090', num_gpus: 4 },
  { run: 'mosaic_dense', gpu_name: 'A100 SXM4', num_gpus: 4 },
  { run: 'mosaic_moe', gpu_name: 'RTX 3090', num_gpus: 8 },
];

const FULL_MIX: Partial<Record<CampaignFaultKind, number>> = {
  outbid: 3,
  host_gone: 1,
  stall: 2,
  crash_oom: 1,
  crash_nccl: 1,
  crash_killed: 1,
  disk_fill: 1,
  nan: 1,
};

const QUICK_MIX: Partial<Record<CampaignFaultKind, number>> = {
  outbid: 1,
  stall: 1,
  crash_oom: 1,
  nan: 1,
};

export type MarketOffer = Partial<SimOffer> & Pick<SimOffer, 'gpu_name' | 'num_gpus'>;

interface OfferKind {
  gpu: string;
  count: number;
  /** On-demand $/h per GPU, low and high. */
  perGpu: readonly [number, number];
  gpuRamMb: number;
  computeCap: number;
  offers: number;
}

/** Price ranges as the simulator's default market has them for these GPUs. */
const DEPTH: readonly OfferKind[] = [
  { gpu: 'RTX 3090', count: 4, perGpu: [0.16, 0.26], gpuRamMb: 24_576, computeCap: 860, offers: 4 },
  { gpu: 'RTX 3090', count: 8, perGpu: [0.16, 0.26], gpuRamMb: 24_576, computeCap: 860, offers: 3 },
  { gpu: 'RTX 4090', count: 4, perGpu: [0.32, 0.48], gpuRamMb: 24_564, computeCap: 890, offers: 3 },
  { gpu: 'A100 SXM4', count: 4, perGpu: [0.85, 1.2], gpuRamMb: 81_920, computeCap: 800, offers: 3 },
];

/**
 * Offers added to every world's market before the start. The simulator's default market holds
 * two or three offers of each kind, a third of them below the policy's reliability or bandwidth
 * floor; after a couple of rents a run can find nothing it may rent. The real market lists dozens
 * of these machines: this gives each run a few more acceptable ones. Seeded, the same everywhere.
 */
export function marketDepth(seed: number): MarketOffer[] {
  const rng = createRng(seed ^ 0x0ff3);
  return DEPTH.flatMap((kind) =>
    Array.from({ length: kind.offers }, () => {
      const dph = round(kind.count * rng.between(kind.perGpu[0], kind.perGpu[1]), 4);
      const reliability = round(rng.between(0.96, 0.995), 4);
      return {
        gpu_name: kind.gpu,
        num_gpus: kind.count,
        gpu_ram: kind.gpuRamMb,
        gpu_total_ram: kind.gpuRamMb * kind.count,
        compute_cap: kind.computeCap,
        cuda_max_good: 12.4,
        dph_total: dph,
        min_bid: round(dph * rng.between(0.42, 0.6), 4),
        reliability,
        reliability2: reliability,
        inet_down: round(rng.between(400, 2400), 1),
        disk_space: round(rng.between(400, 1500), 1),
      };
    }),
  );
}

export interface CampaignChoices {
  quick: boolean;
  seed?: number;
  /** Clock minutes the human takes to approve or acknowledge (default 5). */
  approvalDelayMinutes?: number;
  speed?: number;
}

export function campaignSettings(choices: CampaignChoices): CampaignSettings {
  const seed = choices.seed ?? 20_260_101;
  const runs = CAMPAIGN_SEEDS.map((s) => s.run);
  const quick = choices.quick;
  return {
    speed: choices.speed ?? (quick ? 600 : 900),
    seeds: CAMPAIGN_SEEDS,
    startStep: quick ? 45_000 : 0,
    targetStep: 50_000,
    faults: faultSchedule({
      seed,
      runs,
      fromMs: quick ? 20 * MINUTE : 1 * HOUR,
      toMs: quick ? 3 * HOUR : 30 * HOUR,
      mix: quick ? QUICK_MIX : FULL_MIX,
      minGapPerRunMs: quick ? 40 * MINUTE : 3 * HOUR,
    }),
    approvalDelayMs: (choices.approvalDelayMinutes ?? 5) * MINUTE,
    stuckAfterMs: 3 * HOUR,
    maxClockMs: quick ? 8 * HOUR : 80 * HOUR,
    sampleEveryMs: MINUTE,
    market: marketDepth(seed),
  };
}
