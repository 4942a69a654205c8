import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../config.js';
import { ensureRedis } from '../../infra/redis/bootstrap.js';
import { generateSshKeyPair } from '../../infra/ssh/keys.js';
import { silentLogger } from '../../logger.js';
import { packageRoot } from '../../package-root.js';
import { createContext } from '../../service/context.js';
import { startSlackApp } from '../../service/slack-app.js';
import { startLocalSlack, VIEWER_USER_ID } from '../../sim/slack/index.js';
import type { BenchScenario } from '../types.js';

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** 200 concurrent signed `/train status` requests through the real Bolt HTTP receiver. */
export const ackScenario: BenchScenario = {
  name: 'ack',
  description: '200 concurrent signed /train status commands: ack latency and nothing lost',
  async run({ quick, log }) {
    const n = quick ? 100 : 200;
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
    try {
      // Warm up the receiver and the Redis connections.
      await slack.sendCommand({ user: VIEWER_USER_ID, channel: 'CTRAINOPS', text: '/train status' });
      const started = performance.now();
      const results = await Promise.all(
        Array.from({ length: n }, () =>
          slack.sendCommand({ user: VIEWER_USER_ID, channel: 'CTRAINOPS', text: '/train status' }),
        ),
      );
      const wall = performance.now() - started;
      const latencies = results.map((r) => r.latencyMs).sort((a, b) => a - b);
      const acked = results.filter((r) => r.status === 200).length;
      // Every command must also have produced its answer job (nothing dropped after the ack).
      const notify = ctx.queues.queue('notify');
      let answers = 0;
      for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
        answers = await notify.getJobCountByTypes('waiting', 'delayed', 'active', 'completed');
        if (answers >= n + 1) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      log(`${acked}/${n} acked in ${wall.toFixed(0)} ms; ${answers} answer jobs queued`);
      return [
        {
          scenario: 'ack',
          metric: `p50 ack latency (${n} concurrent)`,
          unit: 'ms',
          value: percentile(latencies, 50),
        },
        {
          scenario: 'ack',
          metric: `p99 ack latency (${n} concurrent)`,
          unit: 'ms',
          value: percentile(latencies, 99),
        },
        { scenario: 'ack', metric: 'max ack latency', unit: 'ms', value: latencies.at(-1) ?? Number.NaN },
        { scenario: 'ack', metric: 'acked (HTTP 200)', unit: 'count', value: acked },
        {
          scenario: 'ack',
          metric: 'lost (no ack or no answer job)',
          unit: 'count',
          value: n - Math.min(acked, answers - 1),
        },
      ];
    } finally {
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
