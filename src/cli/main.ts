#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { systemClock } from '../clock.js';
import { type Config, loadConfig, maskedConfig } from '../config.js';
import { ConductorError, errorMessage } from '../errors.js';
import { JOURNAL_TYPES, type JournalType } from '../state/types.js';

/**
 * The `conductor` binary. Each role or view is a subcommand; the heavy ones are imported lazily
 * so `conductor status` does not load Slack or the simulator.
 */

const USAGE = `usage: conductor <command> [options]

roles:
  start                 bot and workers in one process (the demo when no Slack credentials are set)
  bot                   the Slack app only (pair it with worker processes for large fleets)
  worker                workers only (scale out: run more against one Redis)
  demo                  everything against the simulated cloud and the local Slack
  sim [--scenario F]    the simulated Vast.ai cloud and its SSH hosts, standalone

views:
  status [--json]                                   the fleet table
  journal [--last N] [--run R] [--type T] [--json]  the journal
  config [--fleet FILE]                             resolved configuration, secrets masked

  bench [scenario...] [--quick] [--json FILE]       benchmarks`;

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const stdio: CliIo = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
};

async function withStore<T>(
  config: Config,
  fn: (store: import('../state/store.js').Store) => Promise<T>,
): Promise<T> {
  const { pingRedis } = await import('../infra/redis/bootstrap.js');
  if (!(await pingRedis(config.redisUrl))) {
    throw new ConductorError(
      `Redis at ${config.redisUrl} is not reachable: start the service or set REDIS_URL`,
    );
  }
  const { Store } = await import('../state/store.js');
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 2, lazyConnect: true });
  redis.on('error', () => {});
  await redis.connect();
  try {
    return await fn(new Store({ redis, prefix: config.keyPrefix, clock: systemClock }));
  } finally {
    redis.disconnect();
  }
}

async function statusCommand(config: Config, args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' } }, strict: true });
  const { buildStatusSnapshot } = await import('../state/exports.js');
  const { renderStatusTable } = await import('./status-view.js');
  const snapshot = await withStore(config, async (store) => {
    const healths = await store.listHealth(config.fleet.runs.map((r) => r.name));
    const runs = await Promise.all(
      config.fleet.runs.map(async (spec) => ({
        spec,
        state: await store.getRunState(spec.name),
        health: healths.get(spec.name) ?? null,
      })),
    );
    return buildStatusSnapshot({ runs, now: Date.now() });
  });
  io.out(
    values.json
      ? JSON.stringify(snapshot, null, 2)
      : renderStatusTable(snapshot.instances, snapshot.total_cost_hr),
  );
  return 0;
}

async function journalCommand(config: Config, args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      last: { type: 'string', default: '20' },
      run: { type: 'string' },
      type: { type: 'string' },
      json: { type: 'boolean' },
    },
    strict: true,
  });
  const last = Number(values.last);
  if (!Number.isInteger(last) || last < 1 || last > 10_000)
    throw new ConductorError('--last must be a whole number from 1 to 10000');
  if (values.run && !config.fleet.runs.some((r) => r.name === values.run)) {
    throw new ConductorError(
      `unknown run ${JSON.stringify(values.run)}; runs: ${config.fleet.runs.map((r) => r.name).join(', ')}`,
    );
  }
  if (values.type && !(JOURNAL_TYPES as readonly string[]).includes(values.type)) {
    throw new ConductorError(
      `unknown journal type ${JSON.stringify(values.type)}; types: ${JOURNAL_TYPES.join(', ')}`,
    );
  }
  const { renderJournal } = await import('./journal-view.js');
  const records = await withStore(config, (store) =>
    store.journal.recent(last, {
      ...(values.run && { run: values.run }),
      ...(values.type && { type: values.type as JournalType }),
    }),
  );
  const entries = records.map((r) => r.entry);
  io.out(values.json ? entries.map((e) => JSON.stringify(e)).join('\n') : renderJournal(entries));
  return 0;
}

function configCommand(env: NodeJS.ProcessEnv, args: string[], io: CliIo): number {
  const { values } = parseArgs({ args, options: { fleet: { type: 'string' } }, strict: true });
  const config = loadConfig(values.fleet ? { ...env, FLEET_FILE: values.fleet } : env);
  io.out(JSON.stringify(maskedConfig(config), null, 2));
  return 0;
}

export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: CliIo = stdio,
): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'config':
        return configCommand(env, args, io);
      case 'status':
        return await statusCommand(loadConfig(env), args, io);
      case 'journal':
        return await journalCommand(loadConfig(env), args, io);
      case 'start':
      case 'bot':
      case 'worker':
      case 'demo': {
        const { runRole } = await import('../service/roles.js');
        return await runRole(command, env, args, io);
      }
      case 'sim': {
        const { runSim } = await import('../sim/cli.js');
        return await runSim(env, args, io);
      }
      case 'bench': {
        const { runBench } = await import('../bench/cli.js');
        return await runBench(env, args, io);
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        io.err(`conductor: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    io.err(`conductor: ${errorMessage(err)}`);
    return 1;
  }
}

function invokedDirectly(): boolean {
  // Through npm's bin symlink argv[1] is `.../.bin/conductor`: compare real paths.
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
if (invokedDirectly()) {
  main(process.argv.slice(2)).then(
    (code) => {
      // Roles resolve only after their ordered shutdown: nothing is left to finish.
      process.exit(code);
    },
    (err) => {
      process.stderr.write(`conductor: ${errorMessage(err)}\n`);
      process.exitCode = 1;
    },
  );
}
