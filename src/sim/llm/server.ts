import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Logger, silentLogger } from '../../logger.js';
import { defaultResponder } from './default-responder.js';
import { type CacheUsage, PromptCache } from './prompt-cache.js';
import {
  countBreakpoints,
  estimateTokens,
  type FakeRequest,
  FakeRequestSchema,
  MAX_CACHE_BREAKPOINTS,
  promptBlocks,
  toolPairingError,
} from './request.js';
import { contentOf, type FakeResponder, type FakeStep, newId } from './script.js';

/**
 * A fake Anthropic Messages API on 127.0.0.1: `POST /v1/messages`, non-streaming, with the real
 * headers, body, response and error shapes, so the real SDK can be pointed at it with `baseURL`.
 * Replies are scripted (text, tool_use, errors, slow replies); usage numbers honour cache_control
 * like the real prompt cache does (see prompt-cache.ts).
 */

export interface FakeAnthropicOptions {
  /** Steps queued before the first request. */
  script?: readonly FakeStep[];
  /** Decides when the queue is empty (default: a small tool-using responder for the demo). */
  fallback?: FakeResponder;
  /** When set, requests must present exactly this key (x-api-key or Authorization: Bearer). */
  apiKey?: string;
  /** Shortest cacheable prefix in tokens (default 1024, the Sonnet models' minimum). */
  minCacheableTokens?: number;
  /** Epoch ms for cache lifetimes (default Date.now). */
  now?: () => number;
  port?: number;
  logger?: Logger;
}

export type FakeUsage = CacheUsage & { output_tokens: number };

export interface FakeExchange {
  /** The parsed body, when it was valid JSON of the right shape. */
  request: FakeRequest | null;
  headers: Record<string, string>;
  status: number;
  usage?: FakeUsage;
}

export interface FakeAnthropic {
  /** Base URL for the SDK's `baseURL` (and ANTHROPIC_BASE_URL). */
  url: string;
  /** Bodies of the message requests received, in order (retries included). */
  requests: FakeRequest[];
  /** Every HTTP exchange with its status and the usage sent back. */
  exchanges: FakeExchange[];
  enqueue(...steps: FakeStep[]): void;
  /** Steps still queued. */
  pending(): number;
  /** Forgets every cached prefix (as if the cache had expired). */
  clearCache(): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 32 << 20;
const STATUS_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = STATUS_TYPES[status] ?? 'api_error',
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) reject(new HttpFailure(413, 'Request exceeds the maximum allowed size'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function headerRecord(req: IncomingMessage): Record<string, string> {
  const record: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') record[name] = value;
    else if (Array.isArray(value)) record[name] = value.join(', ');
  }
  return record;
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.destroyed || res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    'request-id': newId('req'),
    ...headers,
  });
  res.end(text);
}

function errorBody(type: string, message: string): unknown {
  return { type: 'error', error: { type, message }, request_id: newId('req') };
}

function parseRequest(raw: string): FakeRequest {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new HttpFailure(400, 'There was an error parsing the body of your request: invalid JSON');
  }
  const parsed = FakeRequestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.map(String).join('.') || 'body';
    throw new HttpFailure(400, `${where}: ${issue?.message ?? 'invalid request'}`);
  }
  const request = parsed.data;
  if (request.stream === true)
    throw new HttpFailure(400, 'stream: the fake API only answers non-streaming requests');
  const breakpoints = countBreakpoints(request);
  if (breakpoints > MAX_CACHE_BREAKPOINTS) {
    throw new HttpFailure(
      400,
      `A maximum of ${MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. Found ${breakpoints}.`,
    );
  }
  const pairing = toolPairingError(request);
  if (pairing) throw new HttpFailure(400, pairing);
  return request;
}

export async function startFakeAnthropic(options: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  const logger = options.logger ?? silentLogger;
  const queue: FakeStep[] = [...(options.script ?? [])];
  const fallback = options.fallback ?? defaultResponder;
  const cache = new PromptCache({
    minTokens: options.minCacheableTokens ?? 1024,
    now: options.now ?? Date.now,
  });
  const requests: FakeRequest[] = [];
  const exchanges: FakeExchange[] = [];
  const timers = new Set<NodeJS.Timeout>();

  function nextStep(request: FakeRequest): FakeStep {
    let step = queue.shift() ?? fallback(request);
    while (step.kind === 'respond') step = step.respond(request);
    return step;
  }

  function delay(ms: number, res: ServerResponse): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve(!res.destroyed);
      }, ms);
      timers.add(timer);
      res.on('close', () => {
        clearTimeout(timer);
        timers.delete(timer);
        resolve(false);
      });
    });
  }

  /**
   * The API takes the key as `x-api-key` (curl, older SDKs) or as `Authorization: Bearer` (what
   * SDK 1.x sends for `apiKey`).
   */
  function checkHeaders(headers: Record<string, string>): void {
    const bearer = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '')?.[1];
    const key = headers['x-api-key'] ?? bearer;
    if (!key || (options.apiKey !== undefined && key !== options.apiKey)) {
      throw new HttpFailure(401, 'invalid x-api-key');
    }
    if (!headers['anthropic-version']) throw new HttpFailure(400, 'anthropic-version: header is required');
  }

  async function answer(
    res: ServerResponse,
    request: FakeRequest,
    step: FakeStep,
    exchange: FakeExchange,
  ): Promise<void> {
    if (step.kind === 'slow') {
      if (!(await delay(step.delayMs, res))) return;
      await answer(res, request, step.then, exchange);
      return;
    }
    if (step.kind === 'respond') {
      await answer(res, request, step.respond(request), exchange);
      return;
    }
    if (step.kind === 'error') {
      exchange.status = step.status;
      const headers: Record<string, string> =
        step.retryAfterS === undefined ? {} : { 'retry-after': String(step.retryAfterS) };
      send(res, step.status, errorBody(step.type, step.message), headers);
      return;
    }
    const { content, stopReason } = contentOf(step);
    const usage: FakeUsage = {
      ...cache.account(`${options.apiKey ?? ''}\u0000${request.model}`, promptBlocks(request)),
      output_tokens: estimateTokens(JSON.stringify(content)),
    };
    exchange.status = 200;
    exchange.usage = usage;
    send(res, 200, {
      id: newId('msg'),
      type: 'message',
      role: 'assistant',
      model: request.model,
      content,
      stop_reason: stopReason,
      stop_sequence: null,
      stop_details: null,
      container: null,
      usage: { ...usage, service_tier: 'standard', server_tool_use: null, inference_geo: 'global' },
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const headers = headerRecord(req);
    const exchange: FakeExchange = { request: null, headers, status: 0 };
    exchanges.push(exchange);
    try {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (req.method !== 'POST' || path !== '/v1/messages') throw new HttpFailure(404, 'Not found');
      checkHeaders(headers);
      const request = parseRequest(await readBody(req));
      exchange.request = request;
      requests.push(request);
      await answer(res, request, nextStep(request), exchange);
    } catch (err) {
      const failure = err instanceof HttpFailure ? err : new HttpFailure(500, 'Internal server error');
      if (!(err instanceof HttpFailure)) logger.error({ err }, 'fake Anthropic API failed');
      exchange.status = failure.status;
      send(res, failure.status, errorBody(failure.type, failure.message));
    }
  }

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  logger.info({ port }, 'fake Anthropic API listening');
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    exchanges,
    enqueue: (...steps) => {
      queue.push(...steps);
    },
    pending: () => queue.length,
    clearCache: () => cache.clear(),
    close() {
      closing ??= (async () => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
}

/** A key the fake accepts; never a real credential. */
export function fakeApiKey(): string {
  return `sk-ant-fake-${randomBytes(8).toString('hex')}`;
}
