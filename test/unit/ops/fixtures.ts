import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseFleet } from '../../../src/config.js';
import type { Fleet, RunSpec } from '../../../src/fleet/schema.js';
import type { VastOffer } from '../../../src/infra/vast/types.js';

/** The training project's real profiles file, read in place (never copied into the project). */
export const PROFILES_FILE = '../shared/fixtures/mosaic-gpt/instance_profiles.yaml';

export function profilesDoc(): Record<string, Record<string, unknown>> {
  return parseYaml(readFileSync(PROFILES_FILE, 'utf8')) as Record<string, Record<string, unknown>>;
}

/**
 * The real profiles plus a `conductor` section and per-run changes, through the same parser the
 * service uses (so a test fleet can never be one the service would refuse).
 */
export function testFleet(
  conductor: Record<string, unknown> = {},
  runs: Record<string, Record<string, unknown>> = {},
): Fleet {
  const doc: Record<string, unknown> = profilesDoc();
  for (const [name, patch] of Object.entries(runs)) {
    doc[name] = { ...(doc[name] as Record<string, unknown>), ...patch };
  }
  return parseFleet({ ...doc, conductor }, 'test-fleet');
}

export function runOf(fleet: Fleet, name: string): RunSpec {
  const run = fleet.runs.find((r) => r.name === name);
  if (!run) throw new Error(`no run ${name}`);
  return run;
}

let nextOfferId = 5_000;

/** A plausible, acceptable offer unless the test changes a field. */
export function offer(partial: Partial<VastOffer> & Pick<VastOffer, 'gpu_name' | 'num_gpus'>): VastOffer {
  nextOfferId += 1;
  return {
    id: nextOfferId,
    machine_id: 10_000 + nextOfferId,
    gpu_ram: 24_576,
    dph_total: 1,
    min_bid: 0.5,
    reliability: 0.99,
    inet_down: 1000,
    disk_space: 500,
    geolocation: 'Texas, US',
    cuda_max_good: 12.4,
    compute_cap: 860,
    ...partial,
  };
}
