import net from 'node:net';
import path from 'node:path';
import ssh2 from 'ssh2';
import { afterEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../../src/clock.js';
import { loadConfig } from '../../../src/config.js';
import type { HealthReport } from '../../../src/http/health.js';
import { operatorRoutes } from '../../../src/http/routes.js';
import { startHttpServer } from '../../../src/http/server.js';
import { silentLogger } from '../../../src/logger.js';
import { type AppContext, createContext } from '../../../src/service/context.js';
import { deleteKeys, newRedis, redisUrl, uniquePrefix } from '../../helpers/redis.js';

/** /healthz over real HTTP: Redis reachable, the five queues' depths, and the last sweep's age. */

const START = Date.UTC(2026, 10, 1, 12);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A TCP proxy to the real Redis that the test can cut, as if Redis went away. */
async function redisProxy(target: URL) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 6379), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    /** Stops listening and cuts every open connection: Redis is down from now on. */
    kill() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return closed;
    },
  };
}

async function setup(options: { viaProxy?: boolean } = {}) {
  const prefix = uniquePrefix('health');
  const clock = manualClock(START);
  const proxy = options.viaProxy ? await redisProxy(new URL(redisUrl())) : null;
  const config = loadConfig({ FLEET_FILE: path.resolve('fleet.example.yaml'), KEY_PREFIX: prefix });
  const ctx: AppContext = createContext(config, {
    clock,
    logger: silentLogger,
    redisUrl: proxy?.url ?? redisUrl(),
    sshPrivateKey: ssh2.utils.generateKeyPairSync('ed25519').private,
    vast: null,
  });
  const server = await startHttpServer(
    operatorRoutes({ ...ctx, sweepIntervalS: config.fleet.thresholds.sweep_interval_s }),
    0,
    '127.0.0.1',
  );
  cleanups.push(async () => {
    await server.close();
    await proxy?.kill();
    await Promise.race([ctx.queues.close(), new Promise((r) => setTimeout(r, 2000))]);
    await ctx.ssh.close();
    ctx.redis.disconnect();
    const redis = newRedis();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });
  async function health(): Promise<{ status: number; report: HealthReport; ms: number }> {
    const started = performance.now();
    const res = await fetch(`http://127.0.0.1:${server.port}/healthz`, {
      signal: AbortSignal.timeout(15_000),
    });
    return {
      status: res.status,
      report: (await res.json()) as HealthReport,
      ms: performance.now() - started,
    };
  }
  return { ctx, clock, proxy, health, intervalS: config.fleet.thresholds.sweep_interval_s };
}

describe('/healthz', () => {
  it('is 200 with Redis up, the five queues counted and a recent sweep', async () => {
    const { ctx, clock, health } = await setup();
    await ctx.store.setMeta('last_sweep', String(clock.now() - 20_000));
    await ctx.queues.enqueue('healer', 'restart', {
      action: 'restart',
      run: 'mosaic_moe',
      reason: 'test',
      requestedBy: 'UTEST',
    });
    const { status, report } = await health();
    expect(status).toBe(200);
    expect(report.ok).toBe(true);
    expect(report.redis).toBe('up');
    expect(report.problems).toEqual([]);
    expect(report.lastSweepAgeS).toBeCloseTo(20, 5);
    expect(Object.keys(report.queues).sort()).toEqual(['conductor', 'healer', 'monitor', 'notify', 'ops']);
    expect(report.queues['healer']?.waiting).toBe(1);
  });

  it('is 503 naming the stale sweep once no sweep ran for three intervals', async () => {
    const { ctx, clock, health, intervalS } = await setup();
    await ctx.store.setMeta('last_sweep', String(clock.now()));
    await clock.advance(3 * intervalS * 1000);
    expect((await health()).status).toBe(200);
    await clock.advance(1000 + intervalS * 1000);
    const { status, report } = await health();
    expect(status).toBe(503);
    expect(report.ok).toBe(false);
    expect(report.redis).toBe('up');
    expect(report.lastSweepAgeS).toBeCloseTo(4 * intervalS + 1, 5);
    expect(report.problems.join(' ')).toMatch(/last sweep \d+ s ago/);
  });

  it('is 503 with redis "down", answered promptly, when Redis goes away', async () => {
    const { ctx, clock, health, proxy } = await setup({ viaProxy: true });
    await ctx.store.setMeta('last_sweep', String(clock.now()));
    expect((await health()).status).toBe(200);
    await proxy?.kill();
    const { status, report, ms } = await health();
    expect(status).toBe(503);
    expect(report.ok).toBe(false);
    expect(report.redis).toBe('down');
    expect(report.problems.join(' ')).toMatch(/redis/i);
    // A load balancer's probe times out after a few seconds: the answer must come before that.
    expect(ms).toBeLessThan(5000);
  });
});
