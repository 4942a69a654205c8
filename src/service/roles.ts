import { remoteProbe } from '../../agents/monitor/probe.js';
import type { CliIo } from '../cli/main.js';
import { type Config, hasSlackCredentials, loadConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { operatorRoutes } from '../http/routes.js';
import { startHttpServer } from '../http/server.js';
import { ensureRedis } from '../infra/redis/bootstrap.js';
import { createContext, registerContextShutdown } from './context.js';
import { slackWebClient, startSlackApp } from './slack-app.js';
import { startWorkers } from './workers.js';

export type Role = 'start' | 'bot' | 'worker' | 'demo';

/** Resolves when the process should exit (after SIGTERM/SIGINT closed everything). */
function untilShutdown(ctx: {
  shutdown: { installSignalHandlers(exit: (code: number) => void): void };
}): Promise<number> {
  return new Promise((resolve) => ctx.shutdown.installSignalHandlers((code) => resolve(code)));
}

function slackSettingsFrom(config: Config) {
  const { slack } = config;
  if (!slack.botToken || !slack.channelId) throw new ConfigError('environment: SLACK_BOT_TOKEN: required');
  return {
    botToken: slack.botToken,
    ...(slack.signingSecret && { signingSecret: slack.signingSecret }),
    ...(slack.appToken && { appToken: slack.appToken }),
    ...(slack.apiUrl && { apiUrl: slack.apiUrl }),
    channelId: slack.channelId,
    oncall: slack.oncall,
    approvers: slack.approvers,
    port: config.port,
  };
}

export async function runRole(
  role: Role,
  env: NodeJS.ProcessEnv,
  args: string[],
  io: CliIo,
): Promise<number> {
  const config = loadConfig(env);
  if (role === 'demo' || (role === 'start' && !hasSlackCredentials(config))) {
    if (config.production) {
      throw new ConfigError(
        'environment: SLACK_BOT_TOKEN: required in production (NODE_ENV=production never runs the demo)',
      );
    }
    if (role === 'start')
      io.err('conductor: no Slack credentials configured: starting the local demo instead');
    const { runDemo } = await import('../demo/demo.js');
    return runDemo(config, args, io);
  }

  const redis = await ensureRedis(config.redisUrl, true);
  const ctx = createContext(config, { redisUrl: redis.url });
  const slack = slackSettingsFrom(config);
  if (role === 'start' || role === 'bot') {
    const app = await startSlackApp(ctx, slack);
    ctx.shutdown.add('slack app', () => app.stop());
    io.err(
      slack.appToken
        ? `conductor: connected to Slack in Socket Mode; listening on :${app.port} (GET /healthz, GET /metrics)`
        : `conductor: listening on :${app.port} (POST /slack/events, GET /healthz, GET /metrics)`,
    );
  } else {
    const server = await startHttpServer(
      operatorRoutes({
        ...ctx,
        sweepIntervalS: config.fleet.thresholds.sweep_interval_s,
        dashboardPassword: config.dashboardPassword,
      }),
      config.port,
    );
    ctx.shutdown.add('http', () => server.close());
    io.err(`conductor worker: /healthz and /metrics on :${server.port}`);
  }
  registerContextShutdown(ctx);
  // `bot` answers Slack only: a large fleet's sweeps then never compete with acks in its event loop.
  if (role === 'bot') await ctx.queues.scheduleSweep(config.fleet.thresholds.sweep_interval_s * 1000);
  else await startWorkers(ctx, { probe: remoteProbe, slackClient: slackWebClient(slack, ctx.logger), slack });
  return untilShutdown(ctx);
}
