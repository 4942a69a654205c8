import { parseArgs } from 'node:util';
import { remoteProbe } from '../../agents/monitor/probe.js';
import type { CliIo } from '../cli/main.js';
import { scaledClock } from '../clock.js';
import { type Config, secretValues } from '../config.js';
import { ConfigError } from '../errors.js';
import type { LlmClient } from '../infra/llm/client.js';
import { ensureRedis } from '../infra/redis/bootstrap.js';
import { generateSshKeyPair } from '../infra/ssh/keys.js';
import { createLogger, type Logger } from '../logger.js';
import { type AppContext, createContext, registerContextShutdown } from '../service/context.js';
import { slackWebClient, startSlackApp } from '../service/slack-app.js';
import { startWorkers } from '../service/workers.js';
import { DEFAULT_SCENARIO, loadScenario, type Scenario } from '../sim/scenario.js';
import { APPROVER_USER_ID, type LocalSlack, startLocalSlack } from '../sim/slack/index.js';
import { type SimWorld, startSimWorld } from '../sim/world.js';

const DEMO_SIGNING_SECRET = 'local-demo-signing-secret';
const DEMO_BOT_TOKEN = 'xoxb-local-demo-token';
const DEMO_CHANNEL = 'CTRAINOPS';

/**
 * `conductor demo`: everything on this machine. A private Redis if none is reachable, the
 * simulated Vast.ai cloud and SSH hosts with the default scenario, the local Slack page, the Bolt
 * app and all workers. Prints the URL to open.
 */
export interface DemoOptions {
  scenario?: Scenario;
  speed?: number;
  slackPort?: number;
  logger?: Logger;
  /** Prefix for the demo's Redis keys (tests use a unique one). */
  keyPrefix?: string;
  /** The LLM client for the conductor (default: from config, null without ANTHROPIC_API_KEY). */
  llm?: LlmClient | null;
}

export interface Demo {
  ctx: AppContext;
  world: SimWorld;
  slack: LocalSlack;
  appPort: number;
  redisUrl: string;
  redisOwned: boolean;
  scenario: Scenario;
  speed: number;
  stop(): Promise<void>;
}

/** Starts the whole demo stack in this process. */
export async function startDemo(config: Config, options: DemoOptions = {}): Promise<Demo> {
  const scenario = options.scenario ?? DEFAULT_SCENARIO;
  const speed = options.speed ?? scenario.speed;
  if (!(speed > 0 && speed <= 10_000))
    throw new ConfigError('--speed must be a number above 0 and at most 10000');
  const logger =
    options.logger ??
    createLogger({
      level: config.logLevel === 'info' ? 'warn' : config.logLevel,
      name: 'demo',
      secrets: secretValues(config),
    });
  const redis = await ensureRedis(config.redisUrl, config.redisUrlExplicit);
  const clock = scaledClock(speed);
  const keys = generateSshKeyPair();
  // The simulated Hub wants a token like the real one; the demo makes one up when none is set.
  const hfToken = config.hfToken ?? 'hf_demo_token_for_the_simulated_hub';
  const world = await startSimWorld({
    clock,
    fleet: config.fleet,
    scenario,
    authorizedKey: keys.public,
    logger,
    hfToken,
  });
  const slack = await startLocalSlack({
    signingSecret: DEMO_SIGNING_SECRET,
    botToken: DEMO_BOT_TOKEN,
    ...(options.slackPort !== undefined && { port: options.slackPort }),
  });

  const demoConfig: Config = {
    ...config,
    keyPrefix: options.keyPrefix ?? `${config.keyPrefix}-demo`,
    hfToken,
  };
  const ctx = createContext(demoConfig, {
    clock,
    logger,
    redisUrl: redis.url,
    sshPrivateKey: keys.private,
    vast: { url: world.vast.url, apiKey: world.apiKey },
    probeTimeoutMs: 5_000,
  });
  // A fresh demo each start: forget what an earlier demo left under the demo prefix.
  const stale = await ctx.redis.keys(`${demoConfig.keyPrefix}:*`);
  if (stale.length) await ctx.redis.del(...stale);
  // The seeded instances were "provisioned" before we started: pin their keys as ops would have.
  for (const [hostId, key] of world.hostKeys) await ctx.hostKeys.set(hostId, key);

  const settings = {
    botToken: DEMO_BOT_TOKEN,
    signingSecret: DEMO_SIGNING_SECRET,
    apiUrl: slack.url,
    channelId: DEMO_CHANNEL,
    oncall: ['SONCALL'],
    approvers: ['SAPPROVERS'],
    port: 0,
  };
  const app = await startSlackApp(ctx, settings);
  slack.setAppUrl(`http://127.0.0.1:${app.port}`);
  ctx.shutdown.add('slack app', () => app.stop());
  registerContextShutdown(ctx);
  ctx.shutdown.add('local slack', () => slack.close());
  ctx.shutdown.add('simulated cloud', () => world.close());
  ctx.shutdown.add('redis server', () => redis.stop());
  await startWorkers(ctx, {
    probe: remoteProbe,
    slackClient: slackWebClient(settings),
    slack: settings,
    probeTimeoutMs: 5_000,
    ...(options.llm !== undefined && { llm: options.llm }),
  });
  await ctx.queues.enqueue('notify', 'digest', { kind: 'digest', channel: DEMO_CHANNEL }, { delay: 3_000 });
  return {
    ctx,
    world,
    slack,
    appPort: app.port,
    redisUrl: redis.url,
    redisOwned: redis.owned,
    scenario,
    speed,
    stop: () => ctx.shutdown.close(),
  };
}

export async function runDemo(config: Config, args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { scenario: { type: 'string' }, speed: { type: 'string' }, port: { type: 'string' } },
    strict: true,
  });
  const runs = config.fleet.runs.map((r) => r.name);
  const demo = await startDemo(config, {
    ...(values.scenario && { scenario: loadScenario(values.scenario, runs) }),
    ...(values.speed && { speed: Number(values.speed) }),
    ...(values.port && { slackPort: Number(values.port) }),
  });
  const { scenario, speed } = demo;
  if (demo.redisOwned) io.err(`demo: started a private Redis at ${demo.redisUrl}`);
  io.out(
    [
      '',
      'Train Conductor demo is running (no Slack credentials configured).',
      `  Open the local Slack:   ${demo.slack.pageUrl}`,
      `  Clock speed:            ${speed}x (scenario "${scenario.name}": ${scenario.faults.map((f) => `${f.fault} of ${f.run} at ${f.at}`).join(', ') || 'no faults'})`,
      `  Approver user:          ${APPROVER_USER_ID} (switch users on the page to try a non-approver)`,
      `  Health and metrics:     http://127.0.0.1:${demo.appPort}/healthz  /metrics`,
      `  Simulated Vast.ai API:  ${demo.world.vast.url}/api/v0/`,
      `  Files for your tools:   ${config.stateDir}/status.json, journal.jsonl, CONTINUATION_CONTEXT.md`,
      'Press Ctrl+C to stop.',
    ].join('\n'),
  );
  return new Promise((resolve) => demo.ctx.shutdown.installSignalHandlers((code) => resolve(code)));
}
