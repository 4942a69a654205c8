import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { type Clock, systemClock } from '../clock.js';
import { type Config, secretValues } from '../config.js';
import { ConfigError } from '../errors.js';
import { createMetrics, type Metrics } from '../http/metrics.js';
import { hostKeyId, parseKnownHosts } from '../infra/ssh/host-keys.js';
import { createSshPool } from '../infra/ssh/pool.js';
import { type RedisHostKeyStore, redisHostKeyStore } from '../infra/ssh/redis-host-keys.js';
import type { SshPool } from '../infra/ssh/types.js';
import { createVastClient, type VastClient } from '../infra/vast/client.js';
import { createLogger, type Logger } from '../logger.js';
import { Queues } from '../queues/queues.js';
import { Shutdown } from '../shutdown.js';
import { Store } from '../state/store.js';

/** Everything agents and handlers receive: dependencies passed in, never imported as globals. */
export interface AppContext {
  config: Config;
  logger: Logger;
  clock: Clock;
  redis: Redis;
  store: Store;
  queues: Queues;
  metrics: Metrics;
  ssh: SshPool;
  hostKeys: RedisHostKeyStore;
  vast: VastClient | null;
  shutdown: Shutdown;
}

export interface ContextOverrides {
  clock?: Clock;
  redisUrl?: string;
  logger?: Logger;
  /** Private key material (the demo generates one); otherwise read from SSH_PRIVATE_KEY. */
  sshPrivateKey?: string | Buffer;
  vast?: { url: string; apiKey: string } | null;
  /** SSH and Vast timeouts in real ms (tests and the fast demo shorten them). */
  probeTimeoutMs?: number;
}

function readSecretFile(variable: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(
      `environment: ${variable}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

/** Static host key pins: SSH_KNOWN_HOSTS plus the fleet file's `host_key` entries. */
export function staticHostKeys(config: Config): Record<string, string> {
  const pins: Record<string, string> = {};
  if (config.ssh.knownHosts) {
    const text = readSecretFile('SSH_KNOWN_HOSTS', config.ssh.knownHosts).toString('utf8');
    for (const [id, lines] of parseKnownHosts(text)) pins[id] = lines.join('\n');
  }
  for (const run of config.fleet.runs) {
    if (run.host?.host_key) pins[hostKeyId(run.host.host, run.host.port)] = run.host.host_key;
  }
  return pins;
}

export function createContext(config: Config, overrides: ContextOverrides = {}): AppContext {
  const logger =
    overrides.logger ??
    createLogger({ level: config.logLevel, secrets: secretValues(config), name: 'conductor' });
  const clock = overrides.clock ?? systemClock;
  const shutdown = new Shutdown(logger);
  const redisUrl = overrides.redisUrl ?? config.redisUrl;
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const store = new Store({ redis, prefix: config.keyPrefix, clock, logger });
  const metrics = createMetrics();
  const queues = new Queues({ redisUrl, prefix: config.keyPrefix, logger, metrics });

  const privateKey =
    overrides.sshPrivateKey ??
    (config.ssh.privateKey ? readSecretFile('SSH_PRIVATE_KEY', config.ssh.privateKey) : undefined);
  if (!privateKey) {
    throw new ConfigError(
      'environment: SSH_PRIVATE_KEY: required: the path of the private key that reaches the training hosts',
    );
  }
  const hostKeys = redisHostKeyStore(redis, config.keyPrefix, staticHostKeys(config));
  const ssh = createSshPool({
    privateKey,
    hostKeys,
    logger: logger.child({ component: 'ssh' }),
    clock,
    commandTimeoutMs: overrides.probeTimeoutMs ?? 30_000,
    connectTimeoutMs: Math.min(overrides.probeTimeoutMs ?? 10_000, 10_000),
    onHostKeyMismatch: (host, expected, received) =>
      logger.error({ host, expected, received }, 'SSH host key changed: connection refused'),
  });

  const vastSettings =
    overrides.vast !== undefined
      ? overrides.vast
      : config.vast.apiKey
        ? { url: config.vast.apiUrl, apiKey: config.vast.apiKey }
        : null;
  const vast = vastSettings
    ? createVastClient({
        baseUrl: vastSettings.url,
        apiKey: vastSettings.apiKey,
        clock,
        logger: logger.child({ component: 'vast' }),
        timeoutMs: 20_000,
        retries: 4,
      })
    : null;

  return { config, logger, clock, redis, store, queues, metrics, ssh, hostKeys, vast, shutdown };
}

/** Registers the closing order of the shared parts (handlers register theirs first). */
export function registerContextShutdown(ctx: AppContext): void {
  ctx.shutdown.add('queues and workers', () => ctx.queues.close());
  ctx.shutdown.add('ssh pool', () => ctx.ssh.close());
  ctx.shutdown.add('redis', () => ctx.redis.quit().catch(() => ctx.redis.disconnect()));
}
