import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { cachingBenchRows, measureThreadCaching } from '../../../agents/conductor/cache-bench.js';
import { loadConfig } from '../../config.js';
import { startDemo } from '../../demo/demo.js';
import { createLlmClient } from '../../infra/llm/client.js';
import { ensureRedis } from '../../infra/redis/bootstrap.js';
import { silentLogger } from '../../logger.js';
import { packageRoot } from '../../package-root.js';
import { startFakeAnthropic } from '../../sim/llm/index.js';
import { DEFAULT_SCENARIO } from '../../sim/scenario.js';
import type { BenchRow, BenchScenario } from '../types.js';

/**
 * Tokens spent while the fleet is healthy (routine sweeps must spend none), and the share of a
 * ten-turn thread's input served from the prompt cache, with a no-caching baseline.
 */
export const conductorScenario: BenchScenario = {
  name: 'conductor',
  description: 'LLM tokens per healthy hour; prompt-cache share over a ten-turn thread',
  async run({ quick, log }) {
    const rows: BenchRow[] = [];
    const redisHandle = await ensureRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', false);
    const apiKey = 'sk-ant-bench-key-0123456789';
    const fake = await startFakeAnthropic({ apiKey });
    const hours = quick ? 1 : 3;
    const speed = 1200;
    const config = loadConfig({
      FLEET_FILE: path.join(packageRoot(), 'fleet.example.yaml'),
      KEY_PREFIX: `tcbench-llm-${Date.now()}`,
      STATE_DIR: mkdtempSync(path.join(os.tmpdir(), 'tc-bench-')),
      REDIS_URL: redisHandle.url,
      LOG_LEVEL: 'silent',
    });
    const llm = createLlmClient({ ...config.anthropic, apiKey, baseUrl: fake.url });
    const demo = await startDemo(config, {
      scenario: { ...DEFAULT_SCENARIO, faults: [] },
      speed,
      logger: silentLogger,
      llm,
    });
    try {
      await new Promise((r) => setTimeout(r, (hours * 3_600_000) / speed));
      const sweeps = (await demo.ctx.store.getMeta('last_sweep')) !== null;
      const tokens = fake.exchanges.reduce(
        (sum, e) => sum + (e.usage ? e.usage.input_tokens + e.usage.output_tokens : 0),
        0,
      );
      log(
        `${hours} simulated healthy hours: ${fake.requests.length} LLM requests, ${tokens} tokens (sweeps ran: ${sweeps})`,
      );
      rows.push({
        scenario: 'conductor',
        metric: 'LLM tokens per healthy hour',
        unit: 'tokens',
        value: tokens / hours,
      });
      rows.push({
        scenario: 'conductor',
        metric: 'LLM requests during healthy hours',
        unit: 'count',
        value: fake.requests.length,
      });
    } finally {
      await demo.stop();
      await fake.close();
    }
    const redis = new Redis(redisHandle.url);
    try {
      const common = { redis, fleet: config.fleet, turns: 10 };
      const cached = await measureThreadCaching({ ...common, prefix: `tcbench-cache-${Date.now()}` });
      const uncached = await measureThreadCaching({
        ...common,
        prefix: `tcbench-nocache-${Date.now()}`,
        promptCaching: false,
      });
      rows.push(...cachingBenchRows(cached, uncached));
    } finally {
      redis.disconnect();
      await redisHandle.stop();
    }
    return rows;
  },
};
