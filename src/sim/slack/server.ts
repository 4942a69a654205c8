import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type Clock, systemClock } from '../../clock.js';
import { ConductorError, errorMessage, ValidationError } from '../../errors.js';
import { type Logger, silentLogger } from '../../logger.js';
import {
  createDeliverer,
  type DeliveryAnswer,
  type DeliveryRecord,
  type RetryOptions,
  SLACK_ACK_TIMEOUT_MS,
  SLACK_RETRY_DELAYS_MS,
} from './delivery.js';
import { BodyTooLargeError, parseBody, readBody, sendJson } from './http-io.js';
import {
  type ClickButtonInput,
  createInteractions,
  type InteractionResult,
  type SendCommandInput,
} from './interactions.js';
import { toSlackMarkup } from './mentions.js';
import { createMessaging, DEFAULT_EVENT_SUBSCRIPTIONS } from './messaging.js';
import { createPageRoutes } from './page-routes.js';
import { createRateLimiter, type RateLimitOptions } from './rate-limiter.js';
import { createResponseUrls } from './response-urls.js';
import {
  createSocketMode,
  type DisconnectReason,
  type SocketConnectionInfo,
  type SocketMode,
} from './socket-mode.js';
import type { SimMessage, SlackChannelSpec, SlackUsergroupSpec, SlackUserSpec } from './types.js';
import { createWebApi } from './web-api.js';
import { createWorkspace } from './workspace.js';

/**
 * A local Slack for the demo and the end-to-end tests: Slack's Web API, its signed deliveries to
 * the app (slash commands, button clicks, events, with retries), response_url hosting and a web
 * page where a person can use the channel. The real Bolt app runs against it unchanged: point
 * SLACK_API_URL (WebClient `slackApiUrl`) at `url` and the local Slack at the app's base URL.
 * Given an app-level token it runs the app in Socket Mode instead: the app opens its WebSocket
 * through `apps.connections.open` and every delivery goes over that socket.
 */

export const APPROVER_USER_ID = 'UAPPROVER';
export const VIEWER_USER_ID = 'UVIEWER';
export const DEFAULT_BOT_USER_ID = 'UCONDUCTOR';
export const DEFAULT_CHANNEL_ID = 'CTRAINOPS';

export const DEFAULT_USERS: readonly SlackUserSpec[] = [
  { id: APPROVER_USER_ID, name: 'alice', real_name: 'alice (approver)' },
  { id: VIEWER_USER_ID, name: 'bob', real_name: 'bob (viewer)' },
];
export const DEFAULT_CHANNELS: readonly SlackChannelSpec[] = [{ id: DEFAULT_CHANNEL_ID, name: 'train-ops' }];
export const DEFAULT_USERGROUPS: readonly SlackUsergroupSpec[] = [
  { id: 'SONCALL', handle: 'oncall', users: [APPROVER_USER_ID] },
  { id: 'SAPPROVERS', handle: 'approvers', users: [APPROVER_USER_ID] },
];

export interface LocalSlackOptions {
  signingSecret: string;
  botToken: string;
  /**
   * An app-level token (`xapp-…`): the app runs in Socket Mode. `apps.connections.open` accepts
   * this token only, and deliveries go over the app's WebSocket, never to `appUrl`.
   */
  appToken?: string;
  /** Socket Mode: how often the server pings each connection (default 10 s). */
  socketPingIntervalMs?: number;
  /** The app's base URL (where /slack/events lives); settable later with setAppUrl. */
  appUrl?: string;
  channels?: readonly SlackChannelSpec[];
  users?: readonly SlackUserSpec[];
  usergroups?: readonly SlackUsergroupSpec[];
  botUserId?: string;
  botId?: string;
  botName?: string;
  /** Slash commands the app registered (manifest); default ['/train']. */
  commands?: readonly string[];
  /** Bot events the app subscribes to; default as in manifest.json. */
  eventSubscriptions?: readonly string[];
  /** Echo the app's own messages and edits back as events, as Slack does (default true). */
  echoBotMessages?: boolean;
  rateLimit?: RateLimitOptions;
  /** Events API retries: on/off, or the waits before retries 1..3 (default Slack's 0 s, 1 min, 5 min). */
  retries?: boolean | Partial<RetryOptions>;
  /** How long the app has to answer a delivery (Slack: 3 s). */
  ackTimeoutMs?: number;
  /** Timeline for message timestamps; signatures and rate limits always use the wall clock. */
  clock?: Clock;
  logger?: Logger;
  port?: number;
  host?: string;
}

export interface ApiCallRecord {
  method: string;
  /** Wall-clock epoch ms. */
  at: number;
  status: number;
  ok: boolean;
  error?: string;
}

export interface PostUserMessageInput {
  user: string;
  channel: string;
  /** As typed: `@conductor` / `@oncall` / `@here` become Slack mentions; Slack markup passes as is. */
  text: string;
  threadTs?: string;
}

export interface LocalSlack {
  /** Web API base, `http://127.0.0.1:<port>/api/`: use as SLACK_API_URL / slackApiUrl. */
  url: string;
  /** `http://127.0.0.1:<port>` */
  origin: string;
  pageUrl: string;
  teamId: string;
  appId: string;
  botUserId: string;
  botId: string;
  /** True when the app runs in Socket Mode (an appToken was given). */
  socketMode: boolean;
  close(): Promise<void>;
  /** HTTP mode only: in Socket Mode deliveries go over the app's WebSocket. */
  setAppUrl(url: string | undefined): void;
  setRateLimit(options: RateLimitOptions | undefined): void;
  setRetries(options: boolean | Partial<RetryOptions>): void;
  /** Every message in the channel, thread replies and ephemeral ones included, oldest first. */
  messages(channel: string): SimMessage[];
  sendCommand(input: SendCommandInput): Promise<InteractionResult>;
  clickButton(input: ClickButtonInput): Promise<InteractionResult>;
  /** Posts as a person and delivers the resulting events; resolves after their first attempts. */
  postUserMessage(input: PostUserMessageInput): Promise<{ ts: string; deliveries: DeliveryAnswer[] }>;
  setUsergroupMembers(id: string, users: readonly string[]): void;
  deliveries(): readonly DeliveryRecord[];
  apiCalls(): readonly ApiCallRecord[];
  /** Socket Mode: every connection the app opened, oldest first (empty in HTTP mode). */
  socketConnections(): readonly SocketConnectionInfo[];
  /** Socket Mode: connections the app holds open (one in its close handshake still counts). */
  openSocketConnections(): number;
  /** Socket Mode: sends Slack's `disconnect` message to every open connection; returns how many. */
  sendSocketDisconnect(reason?: DisconnectReason): number;
  /** Resolves with the predicate's first value other than undefined, null or false. */
  waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs?: number): Promise<T>;
}

function retryOptions(value: boolean | Partial<RetryOptions> | undefined): RetryOptions {
  if (typeof value === 'boolean') return { enabled: value, delaysMs: SLACK_RETRY_DELAYS_MS };
  return { enabled: value?.enabled ?? true, delaysMs: value?.delaysMs ?? SLACK_RETRY_DELAYS_MS };
}

function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1];
}

export async function startLocalSlack(options: LocalSlackOptions): Promise<LocalSlack> {
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const host = options.host ?? '127.0.0.1';
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://${host}:${port}`;

  const ws = createWorkspace({
    clock,
    team: { id: 'TLOCAL', domain: 'local-slack', name: 'Local Slack' },
    app: {
      appId: 'ACONDUCTOR',
      botId: options.botId ?? 'BCONDUCTOR',
      botUserId: options.botUserId ?? DEFAULT_BOT_USER_ID,
      botName: options.botName ?? 'conductor',
    },
    users: options.users ?? DEFAULT_USERS,
    channels: options.channels ?? DEFAULT_CHANNELS,
    usergroups: options.usergroups ?? DEFAULT_USERGROUPS,
  });
  const records: DeliveryRecord[] = [];
  const calls: ApiCallRecord[] = [];
  const socketMode: SocketMode | undefined = options.appToken
    ? createSocketMode({
        appToken: options.appToken,
        appId: ws.app.appId,
        origin,
        logger,
        ...(options.socketPingIntervalMs !== undefined && { pingIntervalMs: options.socketPingIntervalMs }),
      })
    : undefined;
  const deliverer = createDeliverer({
    signingSecret: options.signingSecret,
    ...(options.appUrl && { appUrl: options.appUrl }),
    ...(socketMode && { socket: socketMode.transport }),
    ackTimeoutMs: options.ackTimeoutMs ?? SLACK_ACK_TIMEOUT_MS,
    retries: retryOptions(options.retries),
    logger,
    // Not a workspace change (the page need not redraw); waitFor's polling sees new records.
    onRecord: (r) => records.push(r),
  });
  const messaging = createMessaging({
    ws,
    deliverer,
    logger,
    subscriptions: options.eventSubscriptions ?? DEFAULT_EVENT_SUBSCRIPTIONS,
    echoBotMessages: options.echoBotMessages ?? true,
  });
  const responseUrls = createResponseUrls({ origin, ws, messaging });
  const interactions = createInteractions({
    ws,
    messaging,
    deliverer,
    responseUrls,
    commands: options.commands ?? ['/train'],
  });
  const webApi = createWebApi({ ws, messaging, origin });
  const limiter = createRateLimiter(options.rateLimit);
  const page = createPageRoutes({ ws, messaging, interactions, logger });
  const pruneTimer = setInterval(() => responseUrls.prune(Date.now()), 60_000);
  pruneTimer.unref();

  function recordCall(method: string, status: number, body: { ok: boolean; error?: unknown }): void {
    const error = typeof body.error === 'string' ? body.error : undefined;
    calls.push({ method, at: Date.now(), status, ok: body.ok, ...(error && { error }) });
    if (calls.length > 10_000) calls.splice(0, calls.length - 10_000);
  }

  async function handleApi(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    url: URL,
  ): Promise<void> {
    const reply = (status: number, body: { ok: boolean } & Record<string, unknown>, headers = {}) => {
      recordCall(method, status, body);
      sendJson(res, status, body, headers);
    };
    const raw = req.method === 'POST' ? await readBody(req) : '';
    const parsed = parseBody(raw, req.headers['content-type']);
    if (!parsed) return reply(200, { ok: false, error: 'invalid_form_data' });
    const isJson = (req.headers['content-type'] ?? '').startsWith('application/json');
    const args: Record<string, unknown> = { ...Object.fromEntries(url.searchParams), ...parsed };
    // Slack reads a token from the Authorization header, or from the form; never from a JSON body.
    const token = bearerToken(req) ?? (isJson ? undefined : args['token']);
    delete args['token'];
    if (method === 'apps.connections.open') return reply(200, connectionsOpen(token));
    if (!webApi.has(method)) return reply(200, { ok: false, error: 'unknown_method' });
    if (method !== 'api.test') {
      if (token === undefined || token === '') return reply(200, { ok: false, error: 'not_authed' });
      // An app-level token is good for apps.connections.open only.
      if (typeof token === 'string' && token.startsWith('xapp-'))
        return reply(200, { ok: false, error: 'not_allowed_token_type' });
      if (token !== options.botToken) return reply(200, { ok: false, error: 'invalid_auth' });
    }
    const decision = limiter.check(method, Date.now());
    if (!decision.ok) {
      return reply(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(decision.retryAfterS) });
    }
    reply(200, webApi.call(method, args));
  }

  /** `apps.connections.open`: an app-level token of an app in Socket Mode gets a WebSocket URL. */
  function connectionsOpen(token: unknown): { ok: boolean } & Record<string, unknown> {
    if (typeof token !== 'string' || token === '') return { ok: false, error: 'not_authed' };
    if (!token.startsWith('xapp-')) return { ok: false, error: 'not_allowed_token_type' };
    // Without Socket Mode no app-level token is known here.
    return socketMode ? socketMode.openConnection(token) : { ok: false, error: 'invalid_auth' };
  }

  async function handleResponseUrl(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const result = responseUrls.post(id, await readBody(req));
    sendJson(res, result.status, result.body);
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', origin);
    const path = url.pathname;
    if (path.startsWith('/api/') && (req.method === 'POST' || req.method === 'GET')) {
      return handleApi(req, res, path.slice('/api/'.length), url);
    }
    const responseId = /^\/response\/([0-9a-f]+)$/.exec(path)?.[1];
    if (responseId && req.method === 'POST') return handleResponseUrl(req, res, responseId);
    if (await page.handle(req, res, url)) return;
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    sendJson(res, 404, { ok: false, error: 'not_found' });
  }

  server.on('request', (req, res) => {
    route(req, res).catch((err: unknown) => {
      const status = err instanceof BodyTooLargeError ? 413 : 500;
      if (status === 500)
        logger.error({ err: errorMessage(err), url: req.url }, 'local slack: request failed');
      if (!res.headersSent)
        sendJson(res, status, { ok: false, error: status === 413 ? 'too_large' : 'internal_error' });
      else res.end();
    });
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (socketMode?.handleUpgrade(req, socket, head)) return;
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });

  function waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs = 5000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let finished = false;
      const finish = () => {
        finished = true;
        unsubscribe();
        clearInterval(poll);
        clearTimeout(timer);
      };
      const check = () => {
        if (finished) return;
        try {
          const value = predicate();
          if (value !== undefined && value !== null && value !== false) {
            finish();
            resolve(value);
          }
        } catch (err) {
          finish();
          reject(err);
        }
      };
      const unsubscribe = ws.onChange(check);
      // Also poll: a predicate may watch things that change without a workspace change.
      const poll = setInterval(check, 25);
      const timer = setTimeout(() => {
        if (finished) return;
        finish();
        reject(new ConductorError(`local slack: waitFor timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      check();
    });
  }

  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    closing ??= new Promise<void>((resolve) => {
      clearInterval(pruneTimer);
      deliverer.close();
      socketMode?.close();
      page.close();
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  }

  logger.info({ url: `${origin}/`, api: `${origin}/api/` }, 'local slack listening');

  return {
    url: `${origin}/api/`,
    origin,
    pageUrl: `${origin}/`,
    teamId: ws.team.id,
    appId: ws.app.appId,
    botUserId: ws.app.botUserId,
    botId: ws.app.botId,
    socketMode: socketMode !== undefined,
    close,
    setAppUrl: (url) => deliverer.setAppUrl(url),
    setRateLimit: (opts) => limiter.configure(opts),
    setRetries: (opts) => deliverer.setRetries(retryOptions(opts)),
    messages: (channel) => {
      const resolved = ws.resolveChannel(channel);
      return resolved ? ws.allMessages(resolved.id).map((m) => structuredClone(m)) : [];
    },
    sendCommand: (input) => interactions.sendCommand(input),
    clickButton: (input) => interactions.clickButton(input),
    async postUserMessage(input) {
      const channel = ws.resolveChannel(input.channel);
      if (!channel) throw new ValidationError(`local slack: no channel ${input.channel}`);
      if (!ws.users.has(input.user)) throw new ValidationError(`local slack: no user ${input.user}`);
      const { message, delivered } = messaging.postAsUser({
        channel,
        user: input.user,
        text: toSlackMarkup(input.text, ws.users.values(), ws.usergroups.values()),
        ...(input.threadTs && { threadTs: input.threadTs }),
      });
      return { ts: message.ts, deliveries: await delivered };
    },
    setUsergroupMembers: (id, users) => ws.setUsergroupMembers(id, users),
    deliveries: () => records,
    apiCalls: () => calls,
    socketConnections: () => socketMode?.connections() ?? [],
    openSocketConnections: () => socketMode?.openConnections() ?? 0,
    sendSocketDisconnect: (reason) => socketMode?.sendDisconnect(reason) ?? 0,
    waitFor,
  };
}
