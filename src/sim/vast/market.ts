import { createRng, type Rng, round } from './rng.js';

/**
 * The simulated offer market. Prices and machine traits follow what the real market shows for
 * these GPUs; the RTX 5090 offers are deliberately the cheapest per GPU count so that a client
 * that simply sorts by price walks into the "no sm_120 kernels" trap the policy must refuse.
 */

export type SimOffer = {
  id: number;
  ask_contract_id: number;
  bundle_id: number;
  machine_id: number;
  host_id: number;
  gpu_name: string;
  gpu_arch: string;
  num_gpus: number;
  /** Per GPU, MB. */
  gpu_ram: number;
  gpu_total_ram: number;
  compute_cap: number;
  cuda_max_good: number;
  driver_version: string;
  dph_total: number;
  dph_base: number;
  min_bid: number;
  storage_cost: number;
  reliability: number;
  reliability2: number;
  inet_down: number;
  inet_up: number;
  disk_space: number;
  disk_bw: number;
  pcie_bw: number;
  cpu_cores: number;
  cpu_ram: number;
  dlperf: number;
  total_flops: number;
  geolocation: string | null;
  verified: boolean;
  rentable: boolean;
  rented: boolean;
  external: boolean;
  static_ip: boolean;
  direct_port_count: number;
  duration: number;
};

export interface OfferTemplate {
  gpuName: string;
  gpuArch: string;
  numGpus: number;
  gpuRamMb: number;
  computeCap: number;
  cudaChoices: readonly number[];
  /** Whole-offer on-demand $/h range. */
  dphRange: readonly [number, number];
  /** How many offers of this kind the market keeps. */
  count: number;
  /** Single-GPU TFLOPS, used for dlperf/total_flops. */
  tflops: number;
}

export interface MarketOptions {
  templates?: readonly OfferTemplate[];
  /** Clock ms after an offer is rented before the market shows a replacement. */
  replenishMs?: number;
  /** Share of offers with low reliability (below 0.9). */
  lowReliabilityShare?: number;
}

const BASE = { gpuArch: 'nvidia' } as const;

export const DEFAULT_TEMPLATES: readonly OfferTemplate[] = [
  ...[1, 4, 8].map((n) => ({
    ...BASE,
    gpuName: 'RTX 3090',
    numGpus: n,
    gpuRamMb: 24576,
    computeCap: 860,
    cudaChoices: [12.2, 12.4, 12.6],
    dphRange: [0.16 * n, 0.26 * n] as const,
    count: 3,
    tflops: 35.6,
  })),
  ...[1, 4, 8].map((n) => ({
    ...BASE,
    gpuName: 'RTX 4090',
    numGpus: n,
    gpuRamMb: 24564,
    computeCap: 890,
    cudaChoices: [12.4, 12.6, 12.8],
    dphRange: [0.32 * n, 0.48 * n] as const,
    count: 3,
    tflops: 82.6,
  })),
  ...[4, 8].map((n) => ({
    ...BASE,
    gpuName: 'A100 SXM4',
    numGpus: n,
    gpuRamMb: 81920,
    computeCap: 800,
    cudaChoices: [12.2, 12.4],
    dphRange: [0.85 * n, 1.2 * n] as const,
    count: 2,
    tflops: 19.5,
  })),
  // Cheap on purpose: the trap for a careless client.
  ...[1, 4, 8].map((n) => ({
    ...BASE,
    gpuName: 'RTX 5090',
    numGpus: n,
    gpuRamMb: 32607,
    computeCap: 1200,
    cudaChoices: [12.8],
    dphRange: [0.09 * n, 0.14 * n] as const,
    count: 2,
    tflops: 104.8,
  })),
];

const GEOLOCATIONS = [
  'Texas, US',
  'California, US',
  'Quebec, CA',
  'Sweden, SE',
  'Germany, DE',
  'Norway, NO',
  'Japan, JP',
  'Poland, PL',
];
const INET_DOWN = [48, 120, 480, 850, 1200, 2400, 6500];

export interface Market {
  /** Current offers, market order. */
  offers(): readonly SimOffer[];
  find(id: number): SimOffer | undefined;
  /** Removes an offer (it was rented); a replacement of the same kind appears later. */
  take(id: number, now: number): SimOffer | undefined;
  /** Puts an offer back (a rent failed after taking it). */
  restore(offer: SimOffer): void;
  /** Adds replacements whose time has come. */
  replenish(now: number): number;
  add(partial: Partial<SimOffer> & Pick<SimOffer, 'gpu_name' | 'num_gpus'>): SimOffer;
  readonly fields: ReadonlySet<string>;
}

function generateOffer(template: OfferTemplate, id: number, rng: Rng, lowShare: number): SimOffer {
  const dph = round(rng.between(template.dphRange[0], template.dphRange[1]), 4);
  const lowReliability = rng.next() < lowShare;
  const reliability = round(lowReliability ? rng.between(0.72, 0.89) : rng.between(0.95, 0.9995), 4);
  const diskSpace = round(rng.pick([64, 120, 250, 500, 1000, 2000]) * rng.between(0.6, 1), 1);
  const machineId = rng.int(8000, 48000);
  return {
    id,
    ask_contract_id: id,
    bundle_id: id + 7,
    machine_id: machineId,
    host_id: rng.int(1000, 300000),
    gpu_name: template.gpuName,
    gpu_arch: template.gpuArch,
    num_gpus: template.numGpus,
    gpu_ram: template.gpuRamMb,
    gpu_total_ram: template.gpuRamMb * template.numGpus,
    compute_cap: template.computeCap,
    cuda_max_good: rng.pick(template.cudaChoices),
    driver_version: template.computeCap >= 1200 ? '570.124.04' : rng.pick(['535.183.01', '550.127.05']),
    dph_total: dph,
    dph_base: round(dph * 0.92, 4),
    min_bid: round(dph * rng.between(0.42, 0.6), 4),
    storage_cost: 0.15,
    reliability,
    reliability2: reliability,
    inet_down: round(rng.pick(INET_DOWN) * rng.between(0.8, 1.1), 1),
    inet_up: round(rng.pick(INET_DOWN) * rng.between(0.5, 1), 1),
    disk_space: diskSpace,
    disk_bw: round(rng.between(800, 6000), 1),
    pcie_bw: round(rng.between(10, 25), 1),
    cpu_cores: template.numGpus * rng.pick([8, 12, 16]),
    cpu_ram: template.numGpus * rng.pick([32, 64, 128]) * 1024,
    dlperf: round(template.tflops * template.numGpus * rng.between(0.8, 1), 2),
    total_flops: round(template.tflops * template.numGpus, 1),
    geolocation: rng.pick(GEOLOCATIONS),
    verified: rng.next() > 0.15,
    rentable: true,
    rented: false,
    external: false,
    static_ip: rng.next() > 0.5,
    direct_port_count: rng.int(2, 64),
    duration: rng.int(7, 120) * 86400,
  };
}

const FIELD_SAMPLE = generateOffer(DEFAULT_TEMPLATES[0]!, 0, createRng(0), 0);

export function createMarket(options: MarketOptions & { seed: number }): Market {
  const rng = createRng(options.seed ^ 0x5eed);
  const templates = options.templates ?? DEFAULT_TEMPLATES;
  const replenishMs = options.replenishMs ?? 10 * 60_000;
  const lowShare = options.lowReliabilityShare ?? 0.2;
  let nextId = 9_000_000 + rng.int(0, 900_000);
  const offers: SimOffer[] = [];
  const templateOf = new Map<number, OfferTemplate>();
  const pending: { template: OfferTemplate; at: number }[] = [];

  const spawn = (template: OfferTemplate) => {
    nextId += rng.int(1, 400);
    const offer = generateOffer(template, nextId, rng, lowShare);
    offers.push(offer);
    templateOf.set(offer.id, template);
    return offer;
  };
  for (const template of templates) for (let i = 0; i < template.count; i++) spawn(template);
  // Interleave kinds so the unsorted market order is not already sorted by GPU.
  offers.sort((a, b) => (a.machine_id % 97) - (b.machine_id % 97));

  return {
    fields: new Set(Object.keys(FIELD_SAMPLE)),
    offers: () => offers,
    find: (id) => offers.find((o) => o.id === id),
    take(id, now) {
      const index = offers.findIndex((o) => o.id === id);
      if (index < 0) return undefined;
      const [offer] = offers.splice(index, 1);
      const template = templateOf.get(id);
      if (template) pending.push({ template, at: now + replenishMs });
      return offer;
    },
    restore(offer) {
      offers.push(offer);
      const i = pending.findIndex((p) => p.template === templateOf.get(offer.id));
      if (i >= 0) pending.splice(i, 1);
    },
    replenish(now) {
      let added = 0;
      for (const due of pending.filter((p) => p.at <= now)) {
        pending.splice(pending.indexOf(due), 1);
        spawn(due.template);
        added++;
      }
      return added;
    },
    add(partial) {
      const template: OfferTemplate = {
        gpuName: partial.gpu_name,
        gpuArch: 'nvidia',
        numGpus: partial.num_gpus,
        gpuRamMb: partial.gpu_ram ?? 24576,
        computeCap: partial.compute_cap ?? 860,
        cudaChoices: [partial.cuda_max_good ?? 12.4],
        dphRange: [partial.dph_total ?? 0.2, partial.dph_total ?? 0.2],
        count: 1,
        tflops: 35,
      };
      const offer = spawn(template);
      Object.assign(offer, partial, { id: offer.id, ask_contract_id: offer.id });
      return offer;
    },
  };
}
