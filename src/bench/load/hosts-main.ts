import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock } from '../../clock.js';
import { errorMessage } from '../../errors.js';
import { startBenchFleet } from '../fixtures.js';
import { fleetYaml, knownHostsText } from './fleet-file.js';

/**
 * The simulated training hosts of the load benchmark, in a process of their own so the host
 * side of 1,000 SSH sessions does not share an event loop with the Slack clicks being timed.
 *
 * `node --import tsx src/bench/load/hosts-main.ts --count N --dir D [--sweep-interval S]` writes
 * D/fleet.yaml, D/known_hosts and D/id_ed25519, prints one JSON line (`HostsReady`) on stdout, and
 * serves until SIGTERM.
 */

export interface HostsReady {
  ready: true;
  fleetFile: string;
  knownHosts: string;
  privateKey: string;
  hosts: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string' },
      dir: { type: 'string' },
      'sweep-interval': { type: 'string', default: '5' },
    },
    strict: true,
  });
  const count = Number(values.count);
  if (!Number.isInteger(count) || count < 1 || !values.dir) {
    throw new Error('usage: hosts-main --count N --dir D [--sweep-interval S]');
  }
  const bench = await startBenchFleet(count, systemClock);
  const files = {
    fleetFile: path.join(values.dir, 'fleet.yaml'),
    knownHosts: path.join(values.dir, 'known_hosts'),
    privateKey: path.join(values.dir, 'id_ed25519'),
  };
  writeFileSync(
    files.fleetFile,
    fleetYaml(bench.fleet, { sweep_interval_s: Number(values['sweep-interval']) }),
  );
  writeFileSync(files.knownHosts, knownHostsText(bench.hostKeys));
  writeFileSync(files.privateKey, bench.keys.private, { mode: 0o600 });
  const ready: HostsReady = { ready: true, ...files, hosts: count };
  process.stdout.write(`${JSON.stringify(ready)}\n`);

  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    void bench.hosts.closeAll().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`load hosts: ${errorMessage(err)}\n`);
  process.exit(1);
});
