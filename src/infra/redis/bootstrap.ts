import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { RedisUnavailableError } from '../../errors.js';

export interface RedisHandle {
  url: string;
  /** True when this process started the server (and so may flush it). */
  owned: boolean;
  stop(): Promise<void>;
}

export async function pingRedis(url: string, timeoutMs = 1500): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function redisServerOnPath(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const p = found.stdout.trim();
  return found.status === 0 && p ? p : undefined;
}

export interface PrivateRedisOptions {
  /** Keep data on disk (appendonly) in this directory, for tests that restart Redis. */
  persistDir?: string;
  port?: number;
}

/** Starts a private redis-server on a free loopback port. */
export async function startPrivateRedis(options: PrivateRedisOptions = {}): Promise<RedisHandle> {
  const binary = redisServerOnPath();
  if (!binary) {
    throw new RedisUnavailableError(
      'Redis is not reachable and redis-server is not installed: install it (apt-get install redis-server) or set REDIS_URL',
    );
  }
  const port = options.port ?? (await freePort());
  const dir = options.persistDir ?? mkdtempSync(path.join(os.tmpdir(), 'tc-redis-'));
  const persist = options.persistDir !== undefined;
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--daemonize',
    'no',
  ];
  args.push('--appendonly', persist ? 'yes' : 'no');
  if (persist) args.push('--appendfsync', 'always');
  const child: ChildProcess = spawn(binary, args, { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (!(await pingRedis(url, 300))) {
    if (child.exitCode !== null)
      throw new RedisUnavailableError(`redis-server exited with code ${child.exitCode}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new RedisUnavailableError('redis-server did not start within 10 s');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  let stopped: Promise<void> | undefined;
  return {
    url,
    owned: true,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        process.removeListener('exit', onExit);
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }).then(() => {
        if (!persist) rmSync(dir, { recursive: true, force: true });
      });
      return stopped;
    },
  };
}

/**
 * Redis for the demo and tests: the configured one when reachable; otherwise (unless the URL was
 * set explicitly, which must then work) a private one.
 */
export async function ensureRedis(url: string, explicit: boolean): Promise<RedisHandle> {
  if (await pingRedis(url)) return { url, owned: false, stop: async () => {} };
  if (explicit) {
    throw new RedisUnavailableError(
      `Redis at REDIS_URL is not reachable: check the server, or unset REDIS_URL for a private one`,
    );
  }
  return startPrivateRedis();
}
