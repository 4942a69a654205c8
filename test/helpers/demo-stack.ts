import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Config, loadConfig } from '../../src/config.js';
import { type Demo, startDemo } from '../../src/demo/demo.js';
import { createLlmClient } from '../../src/infra/llm/client.js';
import type { Logger } from '../../src/logger.js';
import { type FakeAnthropic, startFakeAnthropic } from '../../src/sim/llm/index.js';
import type { Scenario } from '../../src/sim/scenario.js';
import { deleteKeys, newRedis, redisUrl } from './redis.js';

/** The whole demo stack (as `npm start` runs it) with the fake Anthropic API, for a test file. */
export interface DemoStack {
  demo: Demo;
  fake: FakeAnthropic;
  config: Config;
  stateDir: string;
  /** Stops the demo and the fake API, deletes the stack's Redis keys and its STATE_DIR. */
  stop(): Promise<void>;
}

export interface DemoStackOptions {
  /** Redis key prefix (KEY_PREFIX): unique per test file. */
  prefix: string;
  /** Environment for `loadConfig`; ANTHROPIC_API_KEY is also the key the fake API accepts. */
  env: Record<string, string> & { ANTHROPIC_API_KEY: string };
  /** Run at the scenario's own speed. */
  scenario: Scenario;
  /** The service's logger, or one made from the loaded config (e.g. to scrub its secrets). */
  logger: Logger | ((config: Config) => Logger);
}

export async function startDemoStack(options: DemoStackOptions): Promise<DemoStack> {
  const { prefix, env, scenario } = options;
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'tc-demo-stack-'));
  let fake: FakeAnthropic | undefined;
  let demo: Demo | undefined;
  const stop = async () => {
    await demo?.stop();
    await fake?.close();
    const redis = newRedis();
    try {
      await deleteKeys(redis, prefix);
    } finally {
      redis.disconnect();
    }
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    const config = loadConfig({
      FLEET_FILE: path.resolve('fleet.example.yaml'),
      KEY_PREFIX: prefix,
      STATE_DIR: stateDir,
      REDIS_URL: redisUrl(),
      ...env,
    });
    fake = await startFakeAnthropic({ apiKey: env.ANTHROPIC_API_KEY });
    demo = await startDemo(config, {
      scenario,
      speed: scenario.speed,
      keyPrefix: prefix,
      logger: typeof options.logger === 'function' ? options.logger(config) : options.logger,
      llm: createLlmClient({ ...config.anthropic, baseUrl: fake.url }),
    });
    return { demo, fake, config, stateDir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
