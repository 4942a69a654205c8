import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import ssh2 from 'ssh2';
import { recordingEvents } from '../../../agents/monitor/events.js';
import { remoteProbe } from '../../../agents/monitor/probe.js';
import { sweep } from '../../../agents/monitor/sweep.js';
import { scaledClock } from '../../clock.js';
import { loadFleetFile } from '../../config.js';
import { REMOTE_COMMANDS } from '../../fleet/remote/commands.js';
import type { Fleet } from '../../fleet/schema.js';
import { ensureRedis } from '../../infra/redis/bootstrap.js';
import { memoryHostKeyStore, parseKnownHosts } from '../../infra/ssh/host-keys.js';
import { createSshPool } from '../../infra/ssh/pool.js';
import { silentLogger } from '../../logger.js';
import { Store } from '../../state/store.js';
import { childEnv, spawnTsx } from '../load/processes.js';
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
  hostKeys: Record<string, string>;
  privateKey: string;
  endpoints: { host: string; port: number }[];
  stop(): Promise<unknown>;
}

/**
 * The simulated hosts run in a child process, so the monitor's figures (time and memory) are the
 * monitor's alone, as in production where the hosts are other machines.
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
    const fleet = loadFleetFile(ready.fleetFile);
    const hostKeys: Record<string, string> = {};
    for (const [id, keys] of parseKnownHosts(readFileSync(ready.knownHosts, 'utf8')))
      hostKeys[id] = keys.join('\n');
    return {
      fleet,
      hostKeys,
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

export const sweepScenario: BenchScenario = {
  name: 'sweep',
  description: 'pooled parallel sweep vs the legacy serial manager (new connection per host, four commands)',
  async run({ quick, log }) {
    const sizes = quick ? [10, 100] : [10, 100, 1000];
    const rows: BenchRow[] = [];
    const redisHandle = await ensureRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', false);
    const redis = new Redis(redisHandle.url, { maxRetriesPerRequest: null });
    try {
      for (const n of sizes) {
        const clock = scaledClock(1);
        const remote = await startRemoteFleet(n);
        const prefix = `tcbench:sweep:${Date.now()}`;
        const store = new Store({ redis, prefix, clock, logger: silentLogger });
        const ssh = createSshPool({
          privateKey: remote.privateKey,
          hostKeys: memoryHostKeyStore(remote.hostKeys),
          logger: silentLogger,
          maxConnections: 128,
          perHostConcurrency: 2,
          commandTimeoutMs: 30_000,
          connectTimeoutMs: 30_000,
        });
        const deps = {
          fleet: remote.fleet,
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
        // First sweep opens the pooled connections; the steady state is what runs every minute.
        const cold = await sweep(deps);
        const warm = await sweep(deps);
        const again = await sweep(deps);
        const steady = Math.min(warm.durationMs, again.durationMs);
        const rss = process.memoryUsage().rss / 1e6;
        const okProbes = again.runs.filter((r) => r.probe === 'ok').length;
        log(
          `${n} hosts: cold ${cold.durationMs.toFixed(0)} ms, steady ${steady.toFixed(0)} ms, ${okProbes}/${n} probes ok`,
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
        rows.push({
          scenario: 'sweep',
          metric: `${n} hosts, steady sweep`,
          unit: 's',
          value: steadyS,
          ...(baselineS !== undefined && { baseline: baselineS, ratio: baselineS / steadyS }),
        });
        rows.push({
          scenario: 'sweep',
          metric: `${n} hosts, first sweep (connecting)`,
          unit: 's',
          value: cold.durationMs / 1000,
        });
        rows.push({ scenario: 'sweep', metric: `${n} hosts, probes ok`, unit: 'count', value: okProbes });
        rows.push({ scenario: 'sweep', metric: `${n} hosts, monitor process rss`, unit: 'MB', value: rss });
        await ssh.close();
        await remote.stop();
        const keys = await redis.keys(`${prefix}:*`);
        if (keys.length) await redis.del(...keys);
      }
    } finally {
      redis.disconnect();
      await redisHandle.stop();
    }
    return rows;
  },
};
