import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseFleet } from '../../../src/config.js';
import { type Fleet, PolicySchema, type RunSpec, ThresholdsSchema } from '../../../src/fleet/schema.js';

/** The training project's real profiles file, read in place (never copied into the project). */
export const PROFILES_FILE = '../shared/fixtures/mosaic-gpt/instance_profiles.yaml';

export function readProfilesDoc(): Record<string, unknown> {
  return parseYaml(readFileSync(PROFILES_FILE, 'utf8')) as Record<string, unknown>;
}

export function loadFixtureFleet(): Fleet {
  return parseFleet(readProfilesDoc(), PROFILES_FILE);
}

export function fixtureRun(name: string): RunSpec {
  const run = loadFixtureFleet().runs.find((r) => r.name === name);
  if (!run) throw new Error(`fixture has no run ${name}`);
  // A mutable copy, so a test can change one field without touching the frozen fleet.
  return structuredClone(run) as RunSpec;
}

export const defaultPolicy = () => PolicySchema.parse({});
export const defaultThresholds = () => ThresholdsSchema.parse({});

/** The error `fn` throws; fails the test when it does not throw. */
export function thrownBy(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    if (err instanceof Error) return err;
    throw new Error(`threw a non-Error: ${String(err)}`);
  }
  throw new Error('expected a throw, got none');
}
