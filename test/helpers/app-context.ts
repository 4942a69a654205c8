import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Clock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { generateSshKeyPair } from '../../src/infra/ssh/keys.js';
import { silentLogger } from '../../src/logger.js';
import { type AppContext, createContext } from '../../src/service/context.js';
import { deleteKeys, redisUrl, uniquePrefix } from './redis.js';

export interface TestContext extends AppContext {
  stateDir: string;
  cleanup(): Promise<void>;
}

/** A full AppContext on the real Redis with a unique key prefix, removed on cleanup. */
export function testContext(
  options: {
    env?: Record<string, string>;
    clock?: Clock;
    vast?: { url: string; apiKey: string } | null;
    label?: string;
  } = {},
): TestContext {
  const prefix = uniquePrefix(options.label ?? 'app');
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'tc-state-'));
  const config = loadConfig({
    FLEET_FILE: path.resolve('fleet.example.yaml'),
    KEY_PREFIX: prefix,
    STATE_DIR: stateDir,
    ...options.env,
  });
  const keys = generateSshKeyPair();
  const ctx = createContext(config, {
    redisUrl: redisUrl(),
    logger: silentLogger,
    sshPrivateKey: keys.private,
    vast: options.vast ?? null,
    ...(options.clock && { clock: options.clock }),
  });
  return {
    ...ctx,
    stateDir,
    async cleanup() {
      await ctx.queues.close();
      await ctx.ssh.close();
      await deleteKeys(ctx.redis, prefix);
      ctx.redis.disconnect();
    },
  };
}
