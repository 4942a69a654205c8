import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { recordingEvents } from '../../../agents/monitor/events.js';
import { remoteProbe } from '../../../agents/monitor/probe.js';
import { sweep } from '../../../agents/monitor/sweep.js';
import { systemClock } from '../../clock.js';
import { loadFleetFile } from '../../config.js';
import { errorMessage } from '../../errors.js';
import { memoryHostKeyStore, parseKnownHosts } from '../../infra/ssh/host-keys.js';
import { createSshPool } from '../../infra/ssh/pool.js';
import { silentLogger } from '../../logger.js';
import { Store } from '../../state/store.js';

/**
 * The monitor of the sweep benchmark, alone in its process as in production, so its memory is
 * its own: nothing else of the benchmark (the legacy baseline, the earlier fleet sizes, the
 * simulated hosts) shares its heap.
 *
 * `node --import tsx src/bench/load/monitor-main.ts --fleet F --known-hosts K --key P --redis URL
 * --prefix P --sweeps N` runs one connecting sweep and N steady ones, then prints one JSON line
 * (`MonitorReport`) on stdout and exits.
 */

export interface MonitorReport {
  done: true;
  hosts: number;
  coldMs: number;
  steadyMs: number[];
  /** Probes that answered in full, in the last sweep. */
  probesOk: number;
  /** Resident memory after each steady sweep, MB. */
  rssMb: number[];
  /** The process's peak resident memory over its whole life (getrusage maxrss), MB. */
  peakRssMb: number;
  /** Live heap after a full collection at the end, MB: what the monitor actually keeps. */
  liveHeapMb: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      fleet: { type: 'string' },
      'known-hosts': { type: 'string' },
      key: { type: 'string' },
      redis: { type: 'string' },
      prefix: { type: 'string' },
      sweeps: { type: 'string', default: '10' },
    },
    strict: true,
  });
  const sweeps = Number(values.sweeps);
  if (
    !values.fleet ||
    !values['known-hosts'] ||
    !values.key ||
    !values.redis ||
    !values.prefix ||
    !Number.isInteger(sweeps) ||
    sweeps < 1
  ) {
    throw new Error(
      'usage: monitor-main --fleet F --known-hosts K --key P --redis URL --prefix P [--sweeps N]',
    );
  }
  const fleet = loadFleetFile(values.fleet);
  const hostKeys: Record<string, string> = {};
  for (const [id, keys] of parseKnownHosts(readFileSync(values['known-hosts'], 'utf8')))
    hostKeys[id] = keys.join('\n');
  const redis = new Redis(values.redis, { maxRetriesPerRequest: null });
  const clock = systemClock;
  const store = new Store({ redis, prefix: values.prefix, clock, logger: silentLogger });
  const ssh = createSshPool({
    privateKey: readFileSync(values.key, 'utf8'),
    hostKeys: memoryHostKeyStore(hostKeys),
    logger: silentLogger,
    maxConnections: 128,
    perHostConcurrency: 2,
    commandTimeoutMs: 30_000,
    connectTimeoutMs: 30_000,
  });
  const deps = {
    fleet,
    store,
    vast: null,
    ssh,
    probe: remoteProbe,
    clock,
    logger: silentLogger,
    events: recordingEvents(),
    stateDir: null,
    probeTimeoutMs: 30_000,
  };
  try {
    // The first sweep opens the pooled connections; the steady state is what runs every minute.
    const cold = await sweep(deps);
    const steadyMs: number[] = [];
    const rssMb: number[] = [];
    let probesOk = 0;
    for (let i = 0; i < sweeps; i++) {
      const result = await sweep(deps);
      steadyMs.push(result.durationMs);
      rssMb.push(process.memoryUsage.rss() / 1e6);
      probesOk = result.runs.filter((r) => r.probe === 'ok').length;
    }
    const report: MonitorReport = {
      done: true,
      hosts: fleet.runs.length,
      coldMs: cold.durationMs,
      steadyMs,
      probesOk,
      rssMb,
      // ru_maxrss is in kilobytes on Linux.
      peakRssMb: (process.resourceUsage().maxRSS * 1024) / 1e6,
      liveHeapMb: liveHeapMb(),
    };
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    await ssh.close();
    redis.disconnect();
  }
}

/** Heap in use after a full collection, when the process runs with --expose-gc; else as it is. */
function liveHeapMb(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  return process.memoryUsage().heapUsed / 1e6;
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`sweep monitor: ${errorMessage(err)}\n`);
    process.exit(1);
  },
);
