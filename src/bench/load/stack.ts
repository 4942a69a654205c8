import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { systemClock } from '../../clock.js';
import { loadFleetFile } from '../../config.js';
import type { Fleet } from '../../fleet/schema.js';
import { silentLogger } from '../../logger.js';
import { Queues } from '../../queues/queues.js';
import {
  APPROVER_USER_ID,
  DEFAULT_CHANNEL_ID,
  type LocalSlack,
  startLocalSlack,
} from '../../sim/slack/index.js';
import { Store } from '../../state/store.js';
import { type ChildHandle, childEnv, shippedNodeOptions, spawnTsx } from './processes.js';

/**
 * The system under load, as it is deployed: one `conductor start` (the Slack bot and workers) and
 * N `conductor worker` processes sharing one Redis, a fleet of simulated SSH hosts in a process
 * of their own, and the local Slack in this process (it is the measuring side).
 */

export interface LoadStackOptions {
  hosts: number;
  workers: number;
  redisUrl: string;
  /** Key prefix for everything this stack writes (KEY_PREFIX): deleted on close. */
  prefix?: string;
  sweepIntervalS?: number;
  /** How long each child may take to come up. */
  startTimeoutMs?: number;
  log?: (text: string) => void;
}

export interface ConductorProcess {
  role: 'start' | 'bot' | 'worker';
  name: string;
  child: ChildHandle;
  /** Where its /healthz and /metrics answer. */
  port: number;
}

export interface LoadStack {
  prefix: string;
  channel: string;
  approver: string;
  fleet: Fleet;
  slack: LocalSlack;
  redis: Redis;
  store: Store;
  queues: Queues;
  bot: ConductorProcess;
  workers: ConductorProcess[];
  /** Every conductor process, bot first. */
  processes: ConductorProcess[];
  close(): Promise<void>;
}

const HostsReadySchema = z.object({
  ready: z.literal(true),
  fleetFile: z.string(),
  knownHosts: z.string(),
  privateKey: z.string(),
  hosts: z.number(),
});

const SIGNING_SECRET = 'load-bench-signing-secret';
const BOT_TOKEN = 'xoxb-load-bench';

function roleEnv(
  stack: { redisUrl: string; prefix: string; slackApiUrl: string; stateDir: string },
  files: z.infer<typeof HostsReadySchema>,
): Record<string, string> {
  return {
    REDIS_URL: stack.redisUrl,
    KEY_PREFIX: stack.prefix,
    FLEET_FILE: files.fleetFile,
    SSH_PRIVATE_KEY: files.privateKey,
    SSH_KNOWN_HOSTS: files.knownHosts,
    STATE_DIR: stack.stateDir,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: stack.slackApiUrl,
    SLACK_CHANNEL_ID: DEFAULT_CHANNEL_ID,
    SLACK_APPROVERS: APPROVER_USER_ID,
    PORT: '0',
    LOG_LEVEL: 'warn',
  };
}

async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}

/** Starts everything and resolves when the bot answers Slack and every worker serves /healthz. */
export async function startLoadStack(options: LoadStackOptions): Promise<LoadStack> {
  const log = options.log ?? (() => {});
  const prefix = options.prefix ?? `tcload-${randomBytes(4).toString('hex')}`;
  const startTimeoutMs = options.startTimeoutMs ?? 120_000;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tc-load-'));
  const children: ChildHandle[] = [];
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  redis.on('error', () => {});
  const queues = new Queues({ redisUrl: options.redisUrl, prefix, logger: silentLogger });
  let slack: LocalSlack | undefined;

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      // Conductor processes first (they finish their jobs), then the hosts they talk to.
      const hosts = children[0];
      await Promise.all(children.slice(1).map((c) => c.stop()));
      await hosts?.stop();
      await slack?.close();
      await queues.close();
      await deleteKeys(redis, prefix);
      redis.disconnect();
      rmSync(dir, { recursive: true, force: true });
    })();
    return closing;
  };

  try {
    const started = performance.now();
    const hosts = spawnTsx(
      'load hosts',
      'src/bench/load/hosts-main.ts',
      [
        '--count',
        String(options.hosts),
        '--dir',
        dir,
        '--sweep-interval',
        String(options.sweepIntervalS ?? 5),
      ],
      childEnv({}),
    );
    children.push(hosts);
    const readyLine = await hosts.waitForLine(/^\{"ready":true.*\}$/, startTimeoutMs);
    const files = HostsReadySchema.parse(JSON.parse(readyLine[0]));
    const fleet = loadFleetFile(files.fleetFile);
    log(`${options.hosts} simulated hosts up in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    slack = await startLocalSlack({ signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN, retries: false });
    const spawnRole = (role: 'bot' | 'worker', name: string) => {
      const stateDir = path.join(dir, `state-${name}`);
      mkdirSync(stateDir);
      const env = roleEnv(
        { redisUrl: options.redisUrl, prefix, slackApiUrl: slack?.url ?? '', stateDir },
        files,
      );
      // Run as the Docker image runs them: with its NODE_OPTIONS.
      const child = spawnTsx(name, 'src/cli/main.ts', [role], childEnv(env), shippedNodeOptions());
      children.push(child);
      return child;
    };
    const rolesStarted = performance.now();
    const botChild = spawnRole('bot', 'bot');
    const workerChildren = Array.from({ length: options.workers }, (_, i) =>
      spawnRole('worker', `worker-${i + 1}`),
    );
    const portOf = async (child: ChildHandle) =>
      Number((await child.waitForLine(/ on :(\d+)/, startTimeoutMs))[1]);
    const [botPort, ...workerPorts] = await Promise.all([botChild, ...workerChildren].map(portOf));
    const bot: ConductorProcess = { role: 'bot', name: botChild.name, child: botChild, port: botPort ?? 0 };
    const workers = workerChildren.map(
      (child, i): ConductorProcess => ({
        role: 'worker',
        name: child.name,
        child,
        port: workerPorts[i] ?? 0,
      }),
    );
    slack.setAppUrl(`http://127.0.0.1:${bot.port}`);
    log(`bot + ${options.workers} workers up in ${((performance.now() - rolesStarted) / 1000).toFixed(1)} s`);

    return {
      prefix,
      channel: DEFAULT_CHANNEL_ID,
      approver: APPROVER_USER_ID,
      fleet,
      slack,
      redis,
      store: new Store({ redis, prefix, clock: systemClock, logger: silentLogger }),
      queues,
      bot,
      workers,
      processes: [bot, ...workers],
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
