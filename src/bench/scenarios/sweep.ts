import { Redis } from 'ioredis';
import ssh2 from 'ssh2';
import { recordingEvents } from '../../../agents/monitor/events.js';
import { remoteProbe } from '../../../agents/monitor/probe.js';
import { sweep } from '../../../agents/monitor/sweep.js';
import { scaledClock } from '../../clock.js';
import { REMOTE_COMMANDS } from '../../fleet/remote/commands.js';
import { ensureRedis } from '../../infra/redis/bootstrap.js';
import { memoryHostKeyStore } from '../../infra/ssh/host-keys.js';
import { createSshPool } from '../../infra/ssh/pool.js';
import { silentLogger } from '../../logger.js';
import { Store } from '../../state/store.js';
import { startBenchFleet } from '../fixtures.js';
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
        const bench = await startBenchFleet(n, clock);
        const prefix = `tcbench:sweep:${Date.now()}`;
        const store = new Store({ redis, prefix, clock, logger: silentLogger });
        const ssh = createSshPool({
          privateKey: bench.keys.private,
          hostKeys: memoryHostKeyStore(bench.hostKeys),
          logger: silentLogger,
          maxConnections: 128,
          perHostConcurrency: 2,
          commandTimeoutMs: 20_000,
          connectTimeoutMs: 20_000,
        });
        const deps = {
          fleet: bench.fleet,
          store,
          vast: null,
          ssh,
          probe: remoteProbe,
          clock,
          logger: silentLogger,
          events: recordingEvents(),
          stateDir: null,
        };
        // First sweep opens the pooled connections; the steady state is what runs every minute.
        const cold = await sweep(deps);
        global.gc?.();
        const warm = await sweep(deps);
        const rss = process.memoryUsage().rss / 1e6;
        const okProbes = warm.runs.filter((r) => r.probe === 'ok').length;
        log(
          `${n} hosts: cold ${cold.durationMs.toFixed(0)} ms, warm ${warm.durationMs.toFixed(0)} ms, ${okProbes}/${n} probes ok`,
        );
        let baselineS: number | undefined;
        if (n <= 100) {
          const t0 = performance.now();
          await legacySweep(
            bench.endpoints,
            bench.keys.private,
            bench.fleet.runs.map((r) => r.run_dir),
          );
          baselineS = (performance.now() - t0) / 1000;
          log(`${n} hosts: legacy serial sweep ${baselineS.toFixed(2)} s`);
        }
        const warmS = warm.durationMs / 1000;
        rows.push({
          scenario: 'sweep',
          metric: `${n} hosts, steady sweep`,
          unit: 's',
          value: warmS,
          ...(baselineS !== undefined && { baseline: baselineS, ratio: baselineS / warmS }),
        });
        rows.push({
          scenario: 'sweep',
          metric: `${n} hosts, first sweep (connecting)`,
          unit: 's',
          value: cold.durationMs / 1000,
        });
        rows.push({ scenario: 'sweep', metric: `${n} hosts, probes ok`, unit: 'count', value: okProbes });
        rows.push({
          scenario: 'sweep',
          metric: `${n} hosts, process rss (monitor + simulated hosts)`,
          unit: 'MB',
          value: rss,
        });
        await ssh.close();
        await bench.hosts.closeAll();
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
