import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { Clock } from '../../clock.js';
import { errorMessage, ValidationError } from '../../errors.js';
import { type Logger, silentLogger } from '../../logger.js';
import type { SimHostProvider } from '../types.js';
import {
  BidChangeSchema,
  createSimCloud,
  InstanceUpdateSchema,
  type Outcome,
  RentBodySchema,
  type SimInstanceView,
} from './cloud.js';
import { createFaultBook, type SimFault, SimFaultSchema } from './faults.js';
import { createMarket, type MarketOptions, type SimOffer } from './market.js';
import { applyOfferQuery, parseOfferQuery } from './offer-query.js';
import { createRng } from './rng.js';

/**
 * The simulated Vast.ai REST API (DESIGN.md "Vast.ai REST API") on 127.0.0.1, plus a control API
 * under /_sim/ for tests and the demo. The real client talks to it unchanged.
 */

export interface VastSimOptions {
  clock: Clock;
  hosts: SimHostProvider;
  apiKey: string;
  market?: MarketOptions;
  seed?: number;
  logger?: Logger;
  port?: number;
  /** Clock ms an instance spends in "loading" after a rent or a start. */
  loadingMs?: number;
  /** Real ms between background lifecycle ticks (requests also tick); 0 = only on requests. */
  tickIntervalMs?: number;
}

export interface SimRequestRecord {
  /** Clock time the request arrived. */
  at: number;
  method: string;
  /** Path without the query string (which may carry an api_key). */
  path: string;
  /** HTTP status sent; 0 when the socket was destroyed instead. */
  status: number;
}

export interface VastSimControl {
  instances(): SimInstanceView[];
  offers(): readonly SimOffer[];
  addOffer(offer: Partial<SimOffer> & Pick<SimOffer, 'gpu_name' | 'num_gpus'>): SimOffer;
  outbid(instanceId: number): Promise<void>;
  hostGone(instanceId: number, status?: 'offline' | 'unknown'): Promise<void>;
  setLoadingMs(ms: number): void;
  /** Applies a fault now (request faults arm for the next matching requests). */
  fault(fault: SimFault): Promise<void>;
  clearFaults(): void;
  schedule(at: number, fault: SimFault): void;
  /** Runs the lifecycle at the current clock time (requests do this too). */
  tick(): Promise<void>;
  requests(): readonly SimRequestRecord[];
}

export interface VastSim {
  /** Base URL to use as VAST_API_URL (the client adds /api/v0). */
  url: string;
  control: VastSimControl;
  close(): Promise<void>;
}

type Reply = { status: number; body: unknown };

const MAX_BODY_BYTES = 1 << 20;
/** The demo runs for hours: keep only the most recent requests. */
const MAX_REQUEST_LOG = 2000;
const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

const replyOf = <T>(outcome: Outcome<T>, body: (value: T) => unknown): Reply =>
  outcome.ok
    ? { status: 200, body: body(outcome.value) }
    : { status: outcome.status, body: { success: false, error: outcome.error, msg: outcome.msg } };

const failure = (status: number, error: string, msg: string): Reply => ({
  status,
  body: { success: false, error, msg },
});

const invalidArgs = (err: z.ZodError): Reply =>
  failure(
    400,
    'invalid_args',
    err.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
  );

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function presentedKey(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers.authorization;
  const bearer = header?.match(/^Bearer\s+(.+)$/i)?.[1];
  return bearer ?? url.searchParams.get('api_key') ?? undefined;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new ValidationError('request body too large');
    chunks.push(buf);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ValidationError('request body is not valid JSON', { cause: err });
  }
}

function sendJson(res: ServerResponse, reply: Reply): void {
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

const ASK_PATH = /^\/api\/v0\/asks\/(\d+)\/$/;
const BID_PATH = /^\/api\/v0\/instances\/bid_price\/(\d+)\/$/;
const INSTANCE_PATH = /^\/api\/v0\/instances\/(\d+)\/$/;
const OUTBID_PATH = /^\/_sim\/instances\/(\d+)\/outbid$/;
const HOST_GONE_PATH = /^\/_sim\/instances\/(\d+)\/host-gone$/;

/** The numeric id captured by `pattern`, or undefined when the path is not that route. */
function idIn(path: string, pattern: RegExp): number | undefined {
  const captured = path.match(pattern)?.[1];
  return captured === undefined ? undefined : Number(captured);
}

export async function startVastSim(options: VastSimOptions): Promise<VastSim> {
  const { clock, hosts, apiKey } = options;
  const logger = options.logger ?? silentLogger;
  const seed = options.seed ?? 1;
  const rng = createRng(seed);
  const market = createMarket({ ...options.market, seed });
  const faults = createFaultBook(rng);
  const cloud = createSimCloud({
    clock,
    hosts,
    market,
    faults,
    logger,
    loadingMs: options.loadingMs ?? 90_000,
    firstInstanceId: 21_000_000 + rng.int(0, 3_000_000),
  });
  const requestLog: SimRequestRecord[] = [];
  let closing: Promise<void> | undefined;
  const delays = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

  /** Real-time delay (network latency is real even when the clock is not); cut short by close(). */
  const delay = (ms: number) =>
    new Promise<void>((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          delays.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      delays.add(entry);
    });

  const throwIfRefused = (outcome: Outcome<unknown>): void => {
    if (!outcome.ok) throw new ValidationError(outcome.msg);
  };

  const control: VastSimControl = {
    instances: () => cloud.views(),
    offers: () => market.offers(),
    addOffer: (offer) => market.add(offer),
    outbid: async (id) => throwIfRefused(await cloud.outbid(id)),
    hostGone: async (id, status = 'offline') => throwIfRefused(await cloud.hostGone(id, status)),
    setLoadingMs: (ms) => cloud.setLoadingMs(ms),
    fault: async (fault) => throwIfRefused(await cloud.applyFault(fault)),
    clearFaults: () => faults.clear(),
    schedule: (at, fault) => faults.schedule(at, fault),
    tick: () => cloud.tick(),
    requests: () => requestLog,
  };

  async function routeApi(method: string, path: string, body: unknown): Promise<Reply> {
    const askId = idIn(path, ASK_PATH);
    const bidId = idIn(path, BID_PATH);
    const instanceId = idIn(path, INSTANCE_PATH);
    if (path === '/api/v0/bundles/') {
      if (method !== 'POST') return failure(405, 'method_not_allowed', 'Use POST /api/v0/bundles/.');
      const parsed = parseOfferQuery(body ?? {}, market.fields);
      if (!parsed.ok) return failure(400, 'invalid_args', parsed.msg);
      return { status: 200, body: { offers: applyOfferQuery(market.offers(), parsed.query) } };
    }
    if (askId !== undefined) {
      if (method !== 'PUT') return failure(405, 'method_not_allowed', 'Use PUT to rent an offer.');
      const parsed = RentBodySchema.safeParse(body);
      if (!parsed.success) return invalidArgs(parsed.error);
      return replyOf(await cloud.rent(askId, parsed.data), (id) => ({ success: true, new_contract: id }));
    }
    if (path === '/api/v0/instances/') {
      if (method !== 'GET') return failure(405, 'method_not_allowed', 'Use GET /api/v0/instances/.');
      return { status: 200, body: { instances: cloud.list() } };
    }
    if (bidId !== undefined) {
      if (method !== 'PUT') return failure(405, 'method_not_allowed', 'Use PUT to change a bid.');
      const parsed = BidChangeSchema.safeParse(body);
      if (!parsed.success) return invalidArgs(parsed.error);
      return replyOf(await cloud.changeBid(bidId, parsed.data.price), () => ({ success: true }));
    }
    if (instanceId !== undefined) {
      const id = instanceId;
      if (method === 'GET') return replyOf(cloud.get(id), (instance) => ({ instances: instance }));
      if (method === 'DELETE') return replyOf(await cloud.destroy(id), () => ({ success: true }));
      if (method !== 'PUT') return failure(405, 'method_not_allowed', `${method} is not supported here.`);
      const parsed = InstanceUpdateSchema.safeParse(body);
      if (!parsed.success) return invalidArgs(parsed.error);
      return replyOf(await cloud.update(id, parsed.data), () => ({ success: true }));
    }
    const hint = path.endsWith('/') ? '' : ' (Vast paths end with a slash)';
    return failure(404, 'not_found', `No route for ${method} ${path}${hint}.`);
  }

  async function routeControl(method: string, path: string, body: unknown): Promise<Reply> {
    const done = async (action: Promise<Outcome<true>>) => replyOf(await action, () => ({ success: true }));
    const outbidId = idIn(path, OUTBID_PATH);
    const goneId = idIn(path, HOST_GONE_PATH);
    await cloud.tick();
    if (method === 'GET' && path === '/_sim/instances')
      return { status: 200, body: { instances: cloud.views() } };
    if (method === 'GET' && path === '/_sim/offers')
      return { status: 200, body: { offers: market.offers() } };
    if (method === 'GET' && path === '/_sim/requests') return { status: 200, body: { requests: requestLog } };
    if (method === 'POST' && path === '/_sim/tick') return { status: 200, body: { success: true } };
    if (method === 'POST' && outbidId !== undefined) return done(cloud.outbid(outbidId));
    if (method === 'POST' && goneId !== undefined) {
      const parsed = z.object({ status: z.enum(['offline', 'unknown']).optional() }).safeParse(body ?? {});
      if (!parsed.success) return invalidArgs(parsed.error);
      return done(cloud.hostGone(goneId, parsed.data.status ?? 'offline'));
    }
    if (method === 'PUT' && path === '/_sim/loading-time') {
      const parsed = z.object({ ms: z.number().int().nonnegative() }).safeParse(body);
      if (!parsed.success) return invalidArgs(parsed.error);
      cloud.setLoadingMs(parsed.data.ms);
      return { status: 200, body: { success: true } };
    }
    if (path === '/_sim/faults' && method === 'DELETE') {
      faults.clear();
      return { status: 200, body: { success: true } };
    }
    if (path === '/_sim/faults' && method === 'POST') {
      const parsed = SimFaultSchema.safeParse(body);
      if (!parsed.success) return invalidArgs(parsed.error);
      return done(cloud.applyFault(parsed.data));
    }
    if (path === '/_sim/faults' && method === 'GET') {
      return { status: 200, body: { active: faults.active(), scheduled: faults.scheduled() } };
    }
    if (method === 'POST' && path === '/_sim/schedule') {
      const parsed = z.object({ at: z.number(), fault: SimFaultSchema }).safeParse(body);
      if (!parsed.success) return invalidArgs(parsed.error);
      faults.schedule(parsed.data.at, parsed.data.fault);
      return { status: 200, body: { success: true } };
    }
    return failure(404, 'not_found', `No control route for ${method} ${path}.`);
  }

  async function handleApi(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    method: string,
  ): Promise<number> {
    const key = presentedKey(req, url);
    if (key === undefined || !sameSecret(key, apiKey)) {
      sendJson(res, failure(401, 'auth_error', 'Invalid or missing API key.'));
      return 401;
    }
    await cloud.tick();
    const verdict = faults.judge(method, url.pathname);
    const body = await readBody(req);
    if (verdict.delayMs > 0) await delay(verdict.delayMs);
    if (closing) {
      // Shut down mid-delay: do not act on a request nobody will see answered.
      req.socket.destroy();
      return 0;
    }
    if (verdict.reject?.kind === 'rateLimit') {
      // The real API answers 429 with plain text and no Retry-After.
      sendText(res, 429, 'API requests too frequent endpoint threshold=2.0');
      return 429;
    }
    if (verdict.reject) {
      sendJson(res, failure(verdict.reject.status, 'server_error', 'Internal server error.'));
      return verdict.reject.status;
    }
    const reply = await routeApi(method, url.pathname, body);
    if (reply.status === 200 && faults.takeLostResponse(method, url.pathname)) {
      req.socket.destroy();
      return 0;
    }
    sendJson(res, reply);
    return reply.status;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim.invalid');
    const method = req.method ?? 'GET';
    const record: SimRequestRecord = { at: clock.now(), method, path: url.pathname, status: 0 };
    try {
      if (url.pathname.startsWith('/_sim/')) {
        if (!LOOPBACK.has(req.socket.remoteAddress ?? '')) {
          record.status = 403;
          sendJson(res, failure(403, 'forbidden', 'The control API is loopback only.'));
          return;
        }
        const reply = await routeControl(method, url.pathname, await readBody(req));
        record.status = reply.status;
        sendJson(res, reply);
        return;
      }
      requestLog.push(record);
      if (requestLog.length > MAX_REQUEST_LOG) requestLog.splice(0, requestLog.length - MAX_REQUEST_LOG);
      record.status = await handleApi(req, res, url, method);
    } catch (err) {
      const status = err instanceof ValidationError ? 400 : 500;
      record.status = status;
      if (status === 500)
        logger.error({ err: errorMessage(err), path: url.pathname }, 'sim vast request failed');
      if (!res.headersSent && !res.destroyed) {
        sendJson(res, failure(status, status === 400 ? 'invalid_args' : 'server_error', errorMessage(err)));
      }
    } finally {
      logger.debug({ method, path: url.pathname, status: record.status }, 'sim vast request');
    }
  }

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  const tickIntervalMs = options.tickIntervalMs ?? 1000;
  const ticker =
    tickIntervalMs > 0
      ? setInterval(() => {
          cloud
            .tick()
            .catch((err: unknown) => logger.error({ err: errorMessage(err) }, 'sim vast tick failed'));
        }, tickIntervalMs)
      : undefined;
  ticker?.unref();

  const close = () => {
    closing ??= (async () => {
      if (ticker) clearInterval(ticker);
      for (const entry of delays) {
        clearTimeout(entry.timer);
        entry.resolve();
      }
      delays.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    })();
    return closing;
  };

  logger.info({ port }, 'simulated Vast.ai API listening');
  return { url: `http://127.0.0.1:${port}`, control, close };
}
