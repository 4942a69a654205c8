import { stringify } from 'yaml';
import type { Fleet, Thresholds } from '../../fleet/schema.js';
import { hostKeyId } from '../../infra/ssh/host-keys.js';

/**
 * The files the conductor processes of the load benchmark read: the fleet (FLEET_FILE) and the
 * pinned host keys (SSH_KNOWN_HOSTS). Pure: the caller writes them.
 */

/** The fleet as YAML the config loader parses back to the same runs, with thresholds overridden. */
export function fleetYaml(fleet: Fleet, thresholds: Partial<Thresholds> = {}): string {
  const doc: Record<string, unknown> = {
    conductor: {
      paths: fleet.paths,
      thresholds: { ...fleet.thresholds, ...thresholds },
      policy: fleet.policy,
      image: fleet.image,
      disk_gb: fleet.disk_gb,
    },
  };
  for (const { name, ...entry } of fleet.runs) doc[name] = entry;
  return stringify(doc);
}

/** OpenSSH known_hosts lines for pinned keys given by known_hosts id (`[host]:port`). */
export function knownHostsText(hostKeys: Readonly<Record<string, string>>): string {
  return `${Object.entries(hostKeys)
    .map(([id, key]) => `${id} ${key.trim()}`)
    .join('\n')}\n`;
}

/** Known_hosts id of every static host in the fleet, to check the pins cover the whole fleet. */
export function staticHostIds(fleet: Fleet): string[] {
  return fleet.runs.flatMap((r) => (r.host ? [hostKeyId(r.host.host, r.host.port)] : []));
}
