import {
  App,
  type Logger as BoltLogger,
  HTTPReceiver,
  LogLevel,
  SocketModeReceiver,
  webApi,
} from '@slack/bolt';
import { registerHandlers } from '../../handlers/index.js';
import { ConfigError } from '../errors.js';
import { boltCustomRoutes, operatorRoutes } from '../http/routes.js';
import { startHttpServer } from '../http/server.js';
import { freePort } from '../infra/redis/bootstrap.js';
import type { Logger } from '../logger.js';
import type { SlackDeps } from '../slack-app/deps.js';
import type { AppContext } from './context.js';

export interface SlackSettings {
  botToken: string;
  signingSecret?: string;
  appToken?: string;
  apiUrl?: string;
  channelId: string;
  oncall: readonly string[];
  approvers: readonly string[];
  /** 0 = a free port. */
  port: number;
}

export interface RunningSlackApp {
  app: App;
  client: webApi.WebClient;
  port: number;
  stop(): Promise<void>;
}

export function slackWebClient(
  settings: Pick<SlackSettings, 'botToken' | 'apiUrl'>,
  logger?: Logger,
): webApi.WebClient {
  // Retries are the notify queue's job (with Retry-After honoured there), not the client's.
  return new webApi.WebClient(settings.botToken, {
    ...(settings.apiUrl && { slackApiUrl: settings.apiUrl }),
    ...(logger && { logger: boltLogger(logger, LogLevel.ERROR) }),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    logLevel: webApi.LogLevel.ERROR,
  });
}

const LEVEL_RANK: Record<LogLevel, number> = {
  [LogLevel.ERROR]: 0,
  [LogLevel.WARN]: 1,
  [LogLevel.INFO]: 2,
  [LogLevel.DEBUG]: 3,
};

/**
 * Bolt's logs (its own, its receivers' and what listeners log through `logger`) go through pino:
 * structured JSON with secrets scrubbed, never plain text on the console.
 */
export function boltLogger(logger: Logger, level: LogLevel = LogLevel.WARN): BoltLogger {
  const log = logger.child({ component: 'bolt' });
  let current = level;
  let name = 'bolt';
  const emit =
    (lvl: LogLevel) =>
    (...msg: unknown[]): void => {
      if (LEVEL_RANK[lvl] > LEVEL_RANK[current]) return;
      const err = msg.find((m): m is Error => m instanceof Error);
      const text = msg
        .filter((m) => m !== err)
        .map((m) => (typeof m === 'string' ? m : JSON.stringify(m)))
        .join(' ');
      log[lvl]({ logger: name, ...(err && { err }) }, text || err?.message || '');
    };
  return {
    debug: emit(LogLevel.DEBUG),
    info: emit(LogLevel.INFO),
    warn: emit(LogLevel.WARN),
    error: emit(LogLevel.ERROR),
    setLevel: (l) => {
      current = l;
    },
    getLevel: () => current,
    setName: (n) => {
      name = n;
    },
  };
}

/** The Bolt app: HTTP receiver with /slack/events, /healthz, /metrics and /admin/queues, or Socket Mode. */
export async function startSlackApp(ctx: AppContext, settings: SlackSettings): Promise<RunningSlackApp> {
  const routes = operatorRoutes({
    redis: ctx.redis,
    store: ctx.store,
    queues: ctx.queues,
    clock: ctx.clock,
    sweepIntervalS: ctx.config.fleet.thresholds.sweep_interval_s,
    metrics: ctx.metrics,
    logger: ctx.logger,
    dashboardPassword: ctx.config.dashboardPassword,
  });
  const port = settings.port === 0 ? await freePort() : settings.port;
  const customRoutes = boltCustomRoutes(routes);
  const clientOptions = {
    ...(settings.apiUrl && { slackApiUrl: settings.apiUrl }),
    retryConfig: { retries: 0 },
  };
  const logger = boltLogger(ctx.logger);
  let app: App;
  let sidecar: { close(): Promise<void> } | undefined;
  if (settings.appToken) {
    // Socket Mode needs no public endpoint; /healthz and /metrics get their own small server.
    const receiver = new SocketModeReceiver({ appToken: settings.appToken, logger, logLevel: LogLevel.WARN });
    app = new App({ token: settings.botToken, receiver, clientOptions, logger, logLevel: LogLevel.WARN });
    sidecar = await startHttpServer(routes, port);
  } else {
    if (!settings.signingSecret)
      throw new ConfigError('environment: SLACK_SIGNING_SECRET: required in HTTP mode');
    const receiver = new HTTPReceiver({
      signingSecret: settings.signingSecret,
      endpoints: '/slack/events',
      customRoutes,
      processBeforeResponse: false,
      logger,
      logLevel: LogLevel.WARN,
    });
    app = new App({ token: settings.botToken, receiver, clientOptions, logger, logLevel: LogLevel.WARN });
  }
  const deps: SlackDeps = {
    store: ctx.store,
    queues: ctx.queues,
    fleet: ctx.config.fleet,
    clock: ctx.clock,
    logger: ctx.logger.child({ component: 'slack' }),
    metrics: ctx.metrics,
    channelId: settings.channelId,
    oncall: settings.oncall,
    approvers: settings.approvers,
  };
  registerHandlers(app, deps);
  app.error(async (err) => {
    ctx.logger.error({ err: err.message }, 'unhandled slack listener error');
  });
  await (settings.appToken ? app.start() : app.start(port));
  let stopping: Promise<void> | undefined;
  return {
    app,
    client: app.client,
    port,
    stop() {
      stopping ??= app.stop().then(async () => {
        await sidecar?.close();
      });
      return stopping;
    },
  };
}
