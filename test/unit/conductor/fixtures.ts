import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseFleet } from '../../../src/config.js';
import type { Fleet } from '../../../src/fleet/schema.js';

/** The project's example fleet, and variants of it with a changed `conductor` section. */

type Doc = Record<string, unknown> & { conductor: Record<string, Record<string, unknown>> };

export function exampleDoc(): Doc {
  return parseYaml(readFileSync('fleet.example.yaml', 'utf8')) as Doc;
}

export function exampleFleet(): Fleet {
  return parseFleet(exampleDoc(), 'fleet.example.yaml');
}

/** The example fleet after `change` edits its parsed YAML (policy, thresholds, runs). */
export function fleetWith(change: (doc: Doc) => void): Fleet {
  const doc = exampleDoc();
  change(doc);
  return parseFleet(doc, 'test fleet');
}
