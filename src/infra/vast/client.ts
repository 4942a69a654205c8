import { z } from 'zod';
import type { Clock } from '../../clock.js';
import { VastApiError, VastRentUnknownError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import {
  backoffDelayMs,
  classifyFetchError,
  classifyStatus,
  type FailureKind,
  outcomeUnknown,
  shouldRetry,
} from './retry-policy.js';
import {
  type OfferQuery,
  type RentRequest,
  type VastInstance,
  VastInstanceSchema,
  type VastOffer,
  VastOfferSchema,
} from './types.js';

/**
 * The Vast.ai REST client (DESIGN.md "Vast.ai REST API"). Talks to the real console or to the
 * simulator unchanged. Every request has a deadline; transient failures are retried with backoff
 * on the injected clock, except that a rent is only repeated when the server certainly did not
 * act on it (see retry-policy.ts). Request deadlines are real time (a network wait is real even
 * when the clock is scaled); backoff waits use `clock.sleep`. The API key is sent as a Bearer
 * header only, never in a URL, and never logged.
 */

export interface VastClientOptions {
  /** e.g. https://console.vast.ai (a trailing /api/v0 is accepted too). */
  baseUrl: string;
  apiKey: string;
  fetch?: typeof fetch;
  clock: Clock;
  logger: Logger;
  /** Real milliseconds each attempt may take, response body included. */
  timeoutMs: number;
  /** Extra attempts after the first. */
  retries: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Jitter source in [0, 1); injectable for tests. */
  random?: () => number;
}

export type InstanceState = 'running' | 'stopped';

export interface VastClient {
  searchOffers(query: OfferQuery): Promise<VastOffer[]>;
  /** Throws VastRentUnknownError when an instance may or may not have been created. */
  rent(offerId: number, req: RentRequest): Promise<{ instanceId: number }>;
  listInstances(): Promise<VastInstance[]>;
  /** null when Vast.ai does not know the instance (destroyed or never existed). */
  getInstance(id: number): Promise<VastInstance | null>;
  setLabel(id: number, label: string): Promise<void>;
  setState(id: number, state: InstanceState): Promise<void>;
  changeBid(id: number, price: number): Promise<void>;
  /** An instance that is already gone counts as destroyed. */
  destroy(id: number): Promise<{ alreadyGone: boolean }>;
}

const OffersResponse = z.looseObject({ offers: z.array(VastOfferSchema) });
const RentResponse = z.looseObject({ success: z.literal(true), new_contract: z.number().int() });
const InstancesResponse = z.looseObject({ instances: z.array(VastInstanceSchema) });
const InstanceResponse = z.looseObject({ instances: VastInstanceSchema.nullable() });
const SuccessResponse = z.looseObject({ success: z.literal(true) });
const ErrorBody = z.looseObject({
  success: z.literal(false),
  error: z.string().optional(),
  msg: z.string().optional(),
});

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
type Answer = { ok: true; status: number; body: unknown };
type Failure = { ok: false; kind: FailureKind; error: VastApiError };
type Result = Answer | Failure;

interface RequestSpec {
  method: Method;
  path: string;
  body?: unknown;
  idempotent: boolean;
}

function apiRoot(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '').replace(/\/api\/v0$/, '') + '/api/v0';
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function offerQueryBody(query: OfferQuery): Record<string, unknown> {
  return {
    ...query.filters,
    type: query.type,
    ...(query.order !== undefined && { order: query.order }),
    ...(query.limit !== undefined && { limit: query.limit }),
  };
}

export function createVastClient(options: VastClientOptions): VastClient {
  const { apiKey, clock, logger, timeoutMs, retries } = options;
  const fetchFn = options.fetch ?? fetch;
  const root = apiRoot(options.baseUrl);
  const backoff = { baseMs: options.backoffBaseMs ?? 1000, maxMs: options.backoffMaxMs ?? 30_000 };
  const random = options.random ?? Math.random;

  function httpFailure(spec: RequestSpec, status: number, text: string, body: unknown): Failure {
    const parsed = ErrorBody.safeParse(body);
    const code =
      parsed.success && parsed.data.error
        ? parsed.data.error
        : status === 429
          ? 'rate_limited'
          : `http_${status}`;
    const detail = parsed.success ? (parsed.data.msg ?? '') : text.slice(0, 200);
    const kind = status >= 200 && status < 300 ? 'rejected' : classifyStatus(status);
    const message = `Vast ${spec.method} ${spec.path} failed: ${status} ${code}${detail ? `: ${detail}` : ''}`;
    return { ok: false, kind, error: new VastApiError(message, status, code) };
  }

  async function attempt(spec: RequestSpec): Promise<Result> {
    const headers: Record<string, string> = { authorization: `Bearer ${apiKey}`, accept: 'application/json' };
    if (spec.body !== undefined) headers['content-type'] = 'application/json';
    let status: number;
    let text: string;
    try {
      const res = await fetchFn(root + spec.path, {
        method: spec.method,
        headers,
        ...(spec.body !== undefined && { body: JSON.stringify(spec.body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = res.status;
      text = await res.text();
    } catch (err) {
      const kind = classifyFetchError(err);
      const what = kind === 'timeout' ? `no answer within ${timeoutMs} ms` : kind.replace('_', ' ');
      const error = new VastApiError(`Vast ${spec.method} ${spec.path} failed: ${what}`, 0, kind, {
        cause: err,
      });
      return { ok: false, kind, error };
    }
    const body = parseJson(text);
    const refused = ErrorBody.safeParse(body).success;
    if (status < 200 || status >= 300 || refused) return httpFailure(spec, status, text, body);
    return { ok: true, status, body };
  }

  /** Attempts until an answer, a failure not worth retrying, or the retries run out. */
  async function send(spec: RequestSpec): Promise<Result> {
    for (let n = 0; ; n++) {
      const result = await attempt(spec);
      logger.debug(
        {
          method: spec.method,
          path: spec.path,
          attempt: n + 1,
          ok: result.ok,
          ...(!result.ok && { code: result.error.code }),
        },
        'vast request',
      );
      if (result.ok || n >= retries || !shouldRetry(result.kind, spec.idempotent)) return result;
      const waitMs = backoffDelayMs(n, backoff, random());
      logger.warn(
        { method: spec.method, path: spec.path, attempt: n + 1, code: result.error.code, waitMs },
        'vast request failed; retrying',
      );
      await clock.sleep(waitMs);
    }
  }

  function parse<T>(schema: z.ZodType<T>, spec: RequestSpec, answer: Answer): T {
    const parsed = schema.safeParse(answer.body);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    throw new VastApiError(
      `Vast ${spec.method} ${spec.path}: unexpected response (${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'bad shape'})`,
      answer.status,
      'bad_response',
      { cause: parsed.error },
    );
  }

  async function call<T>(spec: RequestSpec, schema: z.ZodType<T>): Promise<T> {
    const result = await send(spec);
    if (!result.ok) throw result.error;
    return parse(schema, spec, result);
  }

  async function rent(offerId: number, req: RentRequest): Promise<{ instanceId: number }> {
    const spec: RequestSpec = {
      method: 'PUT',
      path: `/asks/${offerId}/`,
      idempotent: false,
      body: {
        client_id: 'me',
        image: req.image,
        disk: req.disk,
        label: req.label,
        onstart: req.onstart,
        env: req.env,
        runtype: req.runtype ?? 'ssh',
        price: req.price,
      },
    };
    const unknown = (status: number, code: string, message: string, cause: unknown) =>
      new VastRentUnknownError(
        `${message}; an instance labelled "${req.label}" may exist: look it up before renting again`,
        status,
        code,
        offerId,
        req.label,
        { cause },
      );
    const result = await send(spec);
    if (!result.ok) {
      if (!outcomeUnknown(result.kind)) throw result.error;
      throw unknown(
        result.error.status,
        result.error.code ?? result.kind,
        result.error.message,
        result.error,
      );
    }
    const parsed = RentResponse.safeParse(result.body);
    if (!parsed.success) {
      // A 2xx we cannot read may still have rented a machine.
      throw unknown(
        result.status,
        'bad_response',
        `Vast PUT ${spec.path}: unreadable rent answer`,
        parsed.error,
      );
    }
    logger.info({ offerId, instanceId: parsed.data.new_contract, bid: req.price !== undefined }, 'vast rent');
    return { instanceId: parsed.data.new_contract };
  }

  async function getInstance(id: number): Promise<VastInstance | null> {
    const spec: RequestSpec = { method: 'GET', path: `/instances/${id}/`, idempotent: true };
    const result = await send(spec);
    if (!result.ok) {
      // Only Vast's own verdict means "gone": a bare 404 (wrong base URL, proxy) must not look
      // like a vanished instance, or the caller would replace a healthy machine.
      if (result.error.code === 'no_such_instance') return null;
      throw result.error;
    }
    return parse(InstanceResponse, spec, result).instances;
  }

  async function update(id: number, body: Record<string, unknown>): Promise<void> {
    await call({ method: 'PUT', path: `/instances/${id}/`, body, idempotent: true }, SuccessResponse);
  }

  async function destroy(id: number): Promise<{ alreadyGone: boolean }> {
    const spec: RequestSpec = { method: 'DELETE', path: `/instances/${id}/`, idempotent: true };
    const result = await send(spec);
    if (!result.ok) {
      // Also covers a retried DELETE whose first response was lost after it succeeded.
      if (result.error.code === 'no_such_instance') return { alreadyGone: true };
      throw result.error;
    }
    parse(SuccessResponse, spec, result);
    logger.info({ instanceId: id }, 'vast destroy');
    return { alreadyGone: false };
  }

  return {
    async searchOffers(query) {
      const spec: RequestSpec = {
        method: 'POST',
        path: '/bundles/',
        body: offerQueryBody(query),
        idempotent: true,
      };
      return (await call(spec, OffersResponse)).offers;
    },
    rent,
    async listInstances() {
      return (await call({ method: 'GET', path: '/instances/', idempotent: true }, InstancesResponse))
        .instances;
    },
    getInstance,
    setLabel: (id, label) => update(id, { label }),
    setState: (id, state) => update(id, { state }),
    async changeBid(id, price) {
      const spec: RequestSpec = {
        method: 'PUT',
        path: `/instances/bid_price/${id}/`,
        body: { client_id: 'me', price },
        idempotent: true,
      };
      await call(spec, SuccessResponse);
    },
    destroy,
  };
}
