import { App, type Logger as BoltLogger, LogLevel, SocketModeReceiver, webApi } from '@slack/bolt';
import { registerHandlers } from '../../handlers/index.js';
import { ConfigError, errorMessage, SlackApiError } from '../errors.js';
import { operatorRoutes } from '../http/routes.js';
import { startHttpServer } from '../http/server.js';
import { freePort } from '../infra/redis/bootstrap.js';
import type { Logger } from '../logger.js';
import { AckFirstReceiver } from '../slack-app/ack-first-receiver.js';
import type { SlackDeps } from '../slack-app/deps.js';
import { withTimeout } from '../with-timeout.js';
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
  /** Socket Mode: how long start-up may take to get Slack's `hello` before it fails (default 30 s). */
  socketConnectTimeoutMs?: number;
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
  const clientOptions = {
    ...(settings.apiUrl && { slackApiUrl: settings.apiUrl }),
    retryConfig: { retries: 0 },
  };
  const logger = boltLogger(ctx.logger);
  let app: App;
  let sidecar: { close(): Promise<void> } | undefined;
  let socket: SocketModeReceiver | undefined;
  if (settings.appToken) {
    // Socket Mode needs no public endpoint; /healthz and /metrics get their own small server.
    socket = new SocketModeReceiver({
      appToken: settings.appToken,
      logger,
      logLevel: LogLevel.WARN,
      // apps.connections.open must go where the Web API goes (SLACK_API_URL), not to slack.com.
      // Its retries stay the Socket Mode client's own: a reconnect has to outlast a Slack blip.
      installerOptions: {
        clientOptions: { ...(settings.apiUrl && { slackApiUrl: settings.apiUrl }), timeout: 10_000 },
      },
    });
    app = new App({
      token: settings.botToken,
      receiver: socket,
      clientOptions,
      logger,
      logLevel: LogLevel.WARN,
    });
    sidecar = await startHttpServer(routes, port);
  } else {
    if (!settings.signingSecret)
      throw new ConfigError('environment: SLACK_SIGNING_SECRET: required in HTTP mode');
    const receiver = new AckFirstReceiver({
      signingSecret: settings.signingSecret,
      routes,
      logger,
      metrics: ctx.metrics,
      // Slack refuses timestamps older than 5 minutes; remember signatures a little longer.
      firstSeen: (signature) => ctx.store.once(`slack-signature:${signature}`, 6 * 60_000),
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
    ackTimedByReceiver: !socket,
  };
  registerHandlers(app, deps);
  app.error(async (err) => {
    ctx.logger.error({ err: err.message }, 'unhandled slack listener error');
  });
  if (socket) {
    try {
      await startSocketMode(app, socket, settings.socketConnectTimeoutMs ?? 30_000, settings.apiUrl);
    } catch (err) {
      await sidecar?.close();
      throw err;
    }
  } else {
    await app.start(port);
  }
  let stopping: Promise<void> | undefined;
  return {
    app,
    client: app.client,
    port,
    stop() {
      stopping ??= (async () => {
        // Close the WebSocket with its close handshake before Bolt's stop, which does not wait for it.
        if (socket) await closeSocket(socket);
        await app.stop();
        await sidecar?.close();
      })();
      return stopping;
    },
  };
}

const SOCKET_CLOSE_TIMEOUT_MS = 5_000;

/** Closes the WebSocket with its close handshake, giving up after SOCKET_CLOSE_TIMEOUT_MS. */
async function closeSocket(receiver: SocketModeReceiver): Promise<void> {
  await withTimeout(
    receiver.client.disconnect(),
    SOCKET_CLOSE_TIMEOUT_MS,
    () => new SlackApiError('Socket Mode: the socket did not close in time', 'socket_mode_timeout'),
  ).catch(() => {});
}

/** Errors apps.connections.open answers for a token Slack will not take: nothing a retry fixes. */
const REFUSED_TOKEN_ERRORS = new Set([
  'not_authed',
  'invalid_auth',
  'not_allowed_token_type',
  'account_inactive',
  'token_revoked',
  'token_expired',
]);

/**
 * Opens the Socket Mode connection: resolves on Slack's `hello`, fails with one clear error when
 * Slack refuses the app-level token, and never waits longer than `timeoutMs` (the client itself
 * would retry some failures for hours).
 */
async function startSocketMode(
  app: App,
  receiver: SocketModeReceiver,
  timeoutMs: number,
  apiUrl: string | undefined,
): Promise<void> {
  const started = app.start();
  // Past the deadline the attempt is abandoned; its eventual failure is already reported.
  started.catch(() => {});
  try {
    await withTimeout(
      started,
      timeoutMs,
      () =>
        new SlackApiError(
          `Socket Mode: no connection to Slack within ${timeoutMs} ms`,
          'socket_mode_timeout',
        ),
    );
  } catch (err) {
    await closeSocket(receiver);
    const code = platformErrorCode(err);
    const where = `apps.connections.open at ${apiUrl ?? 'https://slack.com/api/'}`;
    if (code !== undefined && REFUSED_TOKEN_ERRORS.has(code)) {
      throw new ConfigError(`environment: SLACK_APP_TOKEN: refused by Slack (${where} answered ${code})`, {
        cause: err,
      });
    }
    if (err instanceof SlackApiError) throw err;
    const message = `Socket Mode: could not connect (${where}): ${errorMessage(err)}`;
    throw new SlackApiError(message, code ?? 'socket_mode', undefined, { cause: err });
  }
}

/** The `error` of a Web API `{ok:false}` answer, from @slack/web-api's platform error. */
function platformErrorCode(err: unknown): string | undefined {
  if (!(err instanceof webApi.WebAPIPlatformError)) return undefined;
  const code: unknown = err.data.error;
  return typeof code === 'string' ? code : undefined;
}
