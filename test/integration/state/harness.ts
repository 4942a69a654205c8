import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach } from 'vitest';
import { type ManualClock, manualClock } from '../../../src/clock.js';
import { Store, type StoreDeps } from '../../../src/state/store.js';
import { deleteKeys, newRedis, uniquePrefix } from '../../helpers/redis.js';
import { T0 } from '../../unit/state/fixtures.js';

/**
 * Per test: a unique key prefix, a manual clock, a temp STATE_DIR, and stores that each get their
 * own Redis connection (so "concurrent" really means separate clients, as separate processes are).
 */
export interface StateHarness {
  prefix: string;
  clock: ManualClock;
  dir: string;
  /** A raw client for poking at keys directly. */
  redis: Redis;
  store(options?: Partial<Omit<StoreDeps, 'redis' | 'prefix'>>): Store;
}

export function useStateHarness(): () => StateHarness {
  let current: StateHarness | undefined;
  let clients: Redis[] = [];

  beforeEach(async () => {
    clients = [];
    const prefix = uniquePrefix('state');
    const redis = newRedis();
    clients.push(redis);
    const clock = manualClock(T0);
    current = {
      prefix,
      clock,
      redis,
      dir: await mkdtemp(path.join(os.tmpdir(), 'tc-state-')),
      store(options = {}) {
        const client = newRedis();
        clients.push(client);
        return new Store({ clock, ...options, redis: client, prefix });
      },
    };
  });

  afterEach(async () => {
    if (!current) return;
    await deleteKeys(current.redis, current.prefix);
    await Promise.all(clients.map((c) => c.quit()));
    await rm(current.dir, { recursive: true, force: true });
    current = undefined;
  });

  return () => {
    if (!current) throw new Error('harness used outside a test');
    return current;
  };
}
