import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import { loadConfig } from '../../config.js';
import { ensureRedis } from '../../infra/redis/bootstrap.js';
import { generateSshKeyPair } from '../../infra/ssh/keys.js';
import { silentLogger } from '../../logger.js';
import { packageRoot } from '../../package-root.js';
import { createContext } from '../../service/context.js';
import { boltLogger, startSlackApp } from '../../service/slack-app.js';
import { startLocalSlack, VIEWER_USER_ID } from '../../sim/slack/index.js';
import { childEnv, spawnTsx } from '../load/processes.js';
import type { BurstResult, SenderReport } from '../load/slash-sender-main.js';
import type { BenchRow, BenchScenario } from '../types.js';

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const median = (values: readonly number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

interface BurstStats {
  /** Each burst's p99, in order. */
  perBurstP99: number[];
  p50: number;
  p99: number;
  /** p99 over every request of every burst together. */
  pooledP99: number;
  max: number;
  acked: number;
  sent: number;
}

/** Per burst p50/p99, then the median burst: one unlucky scheduling hiccup does not decide it. */
function summarize(bursts: readonly BurstResult[]): BurstStats {
  const per = bursts.map((b) => {
    const sorted = b.latencyMs.filter((ms) => ms >= 0).sort((x, y) => x - y);
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? Number.NaN };
  });
  const all = bursts.flatMap((b) => b.latencyMs.filter((ms) => ms >= 0)).sort((x, y) => x - y);
  return {
    perBurstP99: per.map((s) => s.p99),
    p50: median(per.map((s) => s.p50)),
    p99: median(per.map((s) => s.p99)),
    pooledP99: percentile(all, 99),
    max: Math.max(...per.map((s) => s.max)),
    acked: bursts.reduce((n, b) => n + b.status.filter((s) => s === 200).length, 0),
    sent: bursts.reduce((n, b) => n + b.status.length, 0),
  };
}

/**
 * Bursts are 2 s apart, so each meets an app that has finished the work of the one before: this
 * measures a burst of 200, not sustained load (that is the `load` scenario).
 */
const BURST_PAUSE_MS = 2000;

/** Sends the bursts from a process of its own, as Slack's servers are not the app's process. */
async function sendBursts(args: {
  url: string;
  secret: string;
  count: number;
  bursts: number;
  responseBase: string;
}): Promise<BurstResult[]> {
  const child = spawnTsx(
    'slash sender',
    'src/bench/load/slash-sender-main.ts',
    [
      ...['--url', args.url, '--secret', args.secret, '--count', String(args.count)],
      ...['--text', 'status', '--channel', 'CTRAINOPS', '--user', VIEWER_USER_ID],
      ...[
        '--response-base',
        args.responseBase,
        '--bursts',
        String(args.bursts),
        '--pause-ms',
        String(BURST_PAUSE_MS),
      ],
    ],
    childEnv({}),
  );
  try {
    const line = await child.waitForLine(/^\{"done":true.*\}$/, 120_000);
    return (JSON.parse(line[0]) as SenderReport).bursts;
  } finally {
    await child.stop(2000);
  }
}

/** Floor 1: the machine. A bare Node HTTP server that reads the request and answers 200. */
async function startBareHttp(): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Floor 2: the framework. A bare Bolt app, same receiver settings, whose listener only acks. */
async function startBareBolt(
  signingSecret: string,
  apiUrl: string,
): Promise<{ port: number; close(): Promise<void> }> {
  const logger = boltLogger(silentLogger);
  const receiver = new HTTPReceiver({
    signingSecret,
    endpoints: '/slack/events',
    processBeforeResponse: false,
    logger,
  });
  const app = new App({
    receiver,
    authorize: async () => ({ botToken: 'xoxb-bench', botId: 'BBENCH', botUserId: 'UBENCH' }),
    clientOptions: { slackApiUrl: apiUrl },
    logger,
    logLevel: LogLevel.ERROR,
  });
  app.command('/train', async ({ ack }) => {
    await ack();
  });
  const server = (await app.start(0)) as Server;
  return { port: (server.address() as AddressInfo).port, close: () => app.stop().then(() => {}) };
}

/**
 * 200 concurrent signed `/train status` requests through the real Bolt HTTP receiver, sent by
 * another process and timed there, from the connect to the app's whole answer. Two floors are
 * measured in the same run with the same sender: a bare HTTP server (what 200 new connections at
 * once cost on this machine) and a bare Bolt app (what the framework adds).
 */
export const ackScenario: BenchScenario = {
  name: 'ack',
  description: '200 concurrent signed /train status commands: ack latency and nothing lost',
  async run({ quick, log }) {
    const n = quick ? 100 : 200;
    const bursts = quick ? 3 : 7;
    const redis = await ensureRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', false);
    const prefix = `tcbench-ack-${Date.now()}`;
    const config = loadConfig({
      FLEET_FILE: path.join(packageRoot(), 'fleet.example.yaml'),
      KEY_PREFIX: prefix,
      STATE_DIR: mkdtempSync(path.join(os.tmpdir(), 'tc-bench-')),
    });
    const ctx = createContext(config, {
      redisUrl: redis.url,
      logger: silentLogger,
      sshPrivateKey: generateSshKeyPair().private,
      vast: null,
    });
    const secret = 'bench-signing-secret';
    const token = 'xoxb-bench';
    const slack = await startLocalSlack({ signingSecret: secret, botToken: token, retries: false });
    const app = await startSlackApp(ctx, {
      botToken: token,
      signingSecret: secret,
      apiUrl: slack.url,
      channelId: 'CTRAINOPS',
      oncall: [],
      approvers: [],
      port: 0,
    });
    slack.setAppUrl(`http://127.0.0.1:${app.port}`);
    const bareHttp = await startBareHttp();
    const bareBolt = await startBareBolt(secret, slack.url);
    const responseBase = `${slack.url}/bench-responses`;
    // One more burst than counted: the first warms each server up (JIT, connection handling), as
    // a service that has been running is warm. Its requests still count as sent.
    const burstsAt = async (port: number) => {
      const [warm, ...counted] = await sendBursts({
        url: `http://127.0.0.1:${port}/slack/events`,
        secret,
        count: n,
        bursts: bursts + 1,
        responseBase,
      });
      return { warmSent: warm?.status.length ?? 0, counted };
    };
    try {
      // Warm up the receiver and the Redis connections.
      await slack.sendCommand({ user: VIEWER_USER_ID, channel: 'CTRAINOPS', text: '/train status' });
      const floorHttp = summarize((await burstsAt(bareHttp.port)).counted);
      const floorBolt = summarize((await burstsAt(bareBolt.port)).counted);
      const measured = await burstsAt(app.port);
      const conductor = summarize(measured.counted);
      // Every command must also have produced its answer job (nothing dropped after the ack),
      // the warm-up burst's and the single warm-up command's included.
      const notify = ctx.queues.queue('notify');
      const expected = conductor.sent + measured.warmSent + 1;
      let answers = 0;
      for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
        answers = await notify.getJobCountByTypes('waiting', 'delayed', 'active', 'completed');
        if (answers >= expected) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const [name, s] of [
        ['bare HTTP server', floorHttp],
        ['bare Bolt app', floorBolt],
        ['Train Conductor', conductor],
      ] as const) {
        log(
          `${name}: ${s.acked}/${s.sent} acked over ${bursts} bursts of ${n}; median burst p50 ` +
            `${s.p50.toFixed(0)} ms, p99 ${s.p99.toFixed(0)} ms; pooled p99 ${s.pooledP99.toFixed(0)} ms; ` +
            `worst ${s.max.toFixed(0)} ms; p99 per burst ${s.perBurstP99.map((v) => v.toFixed(0)).join(', ')} ms`,
        );
      }
      log(`${answers}/${expected} answer jobs queued`);
      const row = (metric: string, unit: string, value: number, baseline?: number): BenchRow => ({
        scenario: 'ack',
        metric,
        unit,
        value,
        ...(baseline !== undefined && { baseline, ratio: value / baseline }),
      });
      return [
        row(`p50 ack latency (${n} concurrent) vs bare Bolt`, 'ms', conductor.p50, floorBolt.p50),
        row(`p99 ack latency (${n} concurrent) vs bare Bolt`, 'ms', conductor.p99, floorBolt.p99),
        row(`p99 ack latency (${n} concurrent) vs bare HTTP`, 'ms', conductor.p99, floorHttp.p99),
        row('bare HTTP server p99 (the machine)', 'ms', floorHttp.p99),
        row('bare Bolt app p99 (the framework)', 'ms', floorBolt.p99),
        row(`p99 ack latency, all ${conductor.sent} requests pooled`, 'ms', conductor.pooledP99),
        row('max ack latency (all bursts)', 'ms', conductor.max),
        row('acked (HTTP 200)', 'count', conductor.acked),
        row(
          'lost (no ack or no answer job)',
          'count',
          conductor.sent - Math.min(conductor.acked, conductor.sent - (expected - answers)),
        ),
      ];
    } finally {
      await bareBolt.close();
      await bareHttp.close();
      await app.stop();
      await slack.close();
      await ctx.queues.close();
      await ctx.ssh.close();
      const keys = await ctx.redis.keys(`${prefix}:*`);
      if (keys.length) await ctx.redis.del(...keys);
      ctx.redis.disconnect();
      await redis.stop();
    }
  },
};
