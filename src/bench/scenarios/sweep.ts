import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import ssh2 from 'ssh2';
import { loadFleetFile } from '../../config.js';
import { REMOTE_COMMANDS } from '../../fleet/remote/commands.js';
import type { Fleet } from '../../fleet/schema.js';
import { ensureRedis } from '../../infra/redis/bootstrap.js';
import type { MonitorReport } from '../load/monitor-main.js';
import { childEnv, shippedNodeOptions, spawnTsx } from '../load/processes.js';
import type { BenchRow, BenchScenario } from '../types.js';

/** What the legacy manager did: one host after another, a new connection each, four commands. */
async function legacySweep(
  endpoints: { host: string; port: number }[],
  privateKey: string,
  runDirs: string[],
) {
  for (const [i, ep] of endpoints.entries()) {
    await new Promise<void>((resolve) => {
      const client = new ssh2.Client();
      const finish = () => {
        client.end();
        resolve();
      };
      client.on('error', finish);
      client.on('ready', async () => {
        const commands = [
          REMOTE_COMMANDS.readFile(`/workspace/mosaic-gpt/${runDirs[i]}/heartbeat.json`),
          REMOTE_COMMANDS.logTail('/workspace/training.log', 50),
          REMOTE_COMMANDS.nvidiaSmi(),
          REMOTE_COMMANDS.diskUsage('/workspace/mosaic-gpt'),
        ];
        for (const command of commands) {
          await new Promise<void>((done) =>
            client.exec(command, (err, stream) => {
              if (err) return done();
              stream.on('data', () => {});
              stream.stderr.on('data', () => {});
              stream.on('close', () => done());
            }),
          );
        }
        finish();
      });
      // The legacy script accepted any host key (one of its known failures).
      client.connect({
        host: ep.host,
        port: ep.port,
        username: 'root',
        privateKey,
        hostVerifier: () => true,
      });
    });
  }
}

interface RemoteFleet {
  fleet: Fleet;
  files: { fleetFile: string; knownHosts: string; privateKey: string };
  privateKey: string;
  endpoints: { host: string; port: number }[];
  stop(): Promise<unknown>;
}

/**
 * The simulated hosts run in a child process of their own, and so does the monitor (`runMonitor`),
 * so the monitor's figures (time and memory) are its alone, as in production where the hosts are
 * other machines.
 */
async function startRemoteFleet(n: number): Promise<RemoteFleet> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tc-sweep-'));
  const child = spawnTsx(
    'sweep hosts',
    'src/bench/load/hosts-main.ts',
    ['--count', String(n), '--dir', dir],
    childEnv({}),
  );
  try {
    const line = await child.waitForLine(/^\{"ready":true.*\}$/, 120_000);
    const ready = JSON.parse(line[0]) as { fleetFile: string; knownHosts: string; privateKey: string };
    const files = { fleetFile: ready.fleetFile, knownHosts: ready.knownHosts, privateKey: ready.privateKey };
    const fleet = loadFleetFile(ready.fleetFile);
    return {
      fleet,
      files,
      privateKey: readFileSync(ready.privateKey, 'utf8'),
      endpoints: fleet.runs.map((r) => ({ host: r.host?.host ?? '127.0.0.1', port: r.host?.port ?? 22 })),
      stop: async () => {
        await child.stop(5000);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await child.stop(1000);
    throw err;
  }
}

/** Runs the monitor in a process of its own against the fleet and returns its report. */
async function runMonitor(
  remote: RemoteFleet,
  redisUrl: string,
  prefix: string,
  sweeps: number,
  nodeFlags: readonly string[] = [],
) {
  const child = spawnTsx(
    'sweep monitor',
    'src/bench/load/monitor-main.ts',
    [
      ...['--fleet', remote.files.fleetFile, '--known-hosts', remote.files.knownHosts],
      ...['--key', remote.files.privateKey, '--redis', redisUrl, '--prefix', prefix],
      ...['--sweeps', String(sweeps)],
    ],
    childEnv({}),
    ['--expose-gc', ...nodeFlags],
  );
  try {
    const line = await child.waitForLine(/^\{"done":true.*\}$/, 600_000);
    return JSON.parse(line[0]) as MonitorReport;
  } finally {
    await child.stop(5000);
  }
}

const max = (values: readonly number[]) => values.reduce((a, b) => Math.max(a, b), 0);
const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

export const sweepScenario: BenchScenario = {
  name: 'sweep',
  description: 'pooled parallel sweep vs the legacy serial manager (new connection per host, four commands)',
  async run({ quick, log }) {
    const sizes = quick ? [10, 100] : [10, 100, 1000];
    const sweeps = quick ? 3 : 10;
    const shipped = shippedNodeOptions();
    const rows: BenchRow[] = [];
    const redisHandle = await ensureRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', false);
    const redis = new Redis(redisHandle.url, { maxRetriesPerRequest: null });
    try {
      for (const n of sizes) {
        const remote = await startRemoteFleet(n);
        const prefix = `tcbench:sweep:${Date.now()}`;
        try {
          const report = await runMonitor(remote, redisHandle.url, prefix, sweeps);
          const steady = median(report.steadyMs);
          log(
            `${n} hosts: cold ${report.coldMs.toFixed(0)} ms, steady median ${steady.toFixed(0)} ms over ` +
              `${sweeps} sweeps, ${report.probesOk}/${n} probes ok, monitor peak rss ` +
              `${report.peakRssMb.toFixed(0)} MB (live heap ${report.liveHeapMb.toFixed(0)} MB)`,
          );
          let baselineS: number | undefined;
          if (n <= 100) {
            const t0 = performance.now();
            await legacySweep(
              remote.endpoints,
              remote.privateKey,
              remote.fleet.runs.map((r) => r.run_dir),
            );
            baselineS = (performance.now() - t0) / 1000;
            log(`${n} hosts: legacy serial sweep ${baselineS.toFixed(2)} s`);
          }
          const steadyS = steady / 1000;
          rows.push(
            {
              scenario: 'sweep',
              metric: `${n} hosts, steady sweep (median of ${sweeps})`,
              unit: 's',
              value: steadyS,
              ...(baselineS !== undefined && { baseline: baselineS, ratio: baselineS / steadyS }),
            },
            {
              scenario: 'sweep',
              metric: `${n} hosts, slowest steady sweep`,
              unit: 's',
              value: max(report.steadyMs) / 1000,
            },
            {
              scenario: 'sweep',
              metric: `${n} hosts, first sweep (connecting)`,
              unit: 's',
              value: report.coldMs / 1000,
            },
            { scenario: 'sweep', metric: `${n} hosts, probes ok`, unit: 'count', value: report.probesOk },
            {
              scenario: 'sweep',
              metric: `${n} hosts, monitor process peak rss`,
              unit: 'MB',
              value: report.peakRssMb,
            },
            {
              scenario: 'sweep',
              metric: `${n} hosts, monitor live heap after gc`,
              unit: 'MB',
              value: report.liveHeapMb,
            },
          );
          if (n === sizes.at(-1) && shipped.length > 0) {
            // Memory as the Docker image runs it: the same sweeps with the image's NODE_OPTIONS.
            const bounded = await runMonitor(remote, redisHandle.url, `${prefix}:shipped`, sweeps, shipped);
            log(
              `${n} hosts with ${shipped.join(' ')}: steady median ${median(bounded.steadyMs).toFixed(0)} ms, ` +
                `peak rss ${bounded.peakRssMb.toFixed(0)} MB`,
            );
            rows.push(
              {
                scenario: 'sweep',
                metric: `${n} hosts, monitor peak rss (image NODE_OPTIONS)`,
                unit: 'MB',
                value: bounded.peakRssMb,
              },
              {
                scenario: 'sweep',
                metric: `${n} hosts, steady sweep (image NODE_OPTIONS)`,
                unit: 's',
                value: median(bounded.steadyMs) / 1000,
              },
            );
          }
        } finally {
          await remote.stop();
          const keys = await redis.keys(`${prefix}:*`);
          if (keys.length) await redis.del(...keys);
        }
      }
    } finally {
      redis.disconnect();
      await redisHandle.stop();
    }
    return rows;
  },
};
