import { type ClientRequest, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ConductorError, errorMessage } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { signedHeaders } from './signing.js';

/**
 * Requests to the app at `{appUrl}/slack/events`, made the way Slack makes them: signed, with
 * Slack's content types, a 3 s deadline for the answer, and (Events API only, as in Slack)
 * retries carrying `x-slack-retry-num` / `x-slack-retry-reason` when the app fails to answer 2xx.
 * When the app runs in Socket Mode the same deliveries go over its WebSocket instead (see
 * socket-mode.ts), with the same deadline, retries and records. Every attempt is recorded with
 * its ack latency.
 */

export type DeliveryKind = 'slash_command' | 'block_actions' | 'event_callback';
/**
 * Slack names a missed deadline `http_timeout` on both transports (it is the retry_reason a
 * Socket Mode envelope carries too); `connection_failed` over Socket Mode means no app connection.
 */
export type DeliveryOutcome = 'acked' | 'http_error' | 'http_timeout' | 'connection_failed' | 'no_app_url';
export type DeliveryTransport = 'http' | 'socket_mode';

export interface DeliveryRecord {
  /** One id per delivery; its retries share it. */
  id: number;
  kind: DeliveryKind;
  /** The command, the action_id, or the event type (with subtype). */
  label: string;
  /** 0 for the first try; 1..3 for retries, as sent in x-slack-retry-num. */
  attempt: number;
  retryReason?: string;
  /** HTTP status of the app's answer (an ack over Socket Mode counts as 200); 0 when there was none. */
  status: number;
  outcome: DeliveryOutcome;
  transport: DeliveryTransport;
  /** Real milliseconds from sending to the app's answer (or to giving up). */
  latencyMs: number;
  /** Wall-clock epoch ms when the attempt started. */
  at: number;
}

export interface DeliveryAnswer {
  status: number;
  outcome: DeliveryOutcome;
  body: string;
  contentType: string | undefined;
  latencyMs: number;
}

export interface RetryOptions {
  enabled: boolean;
  /** Wait before retry 1, 2, 3. Slack: nearly immediately, after 1 minute, after 5 minutes. */
  delaysMs: readonly number[];
}

export const SLACK_RETRY_DELAYS_MS: readonly number[] = [0, 60_000, 300_000];
export const SLACK_ACK_TIMEOUT_MS = 3000;
const USER_AGENT = 'Slackbot 1.0 (+https://api.slack.com/robots)';

/** What the app answered to one attempt, whichever way it was sent. */
export interface TransportAnswer {
  status: number;
  outcome: DeliveryOutcome;
  body: string;
  contentType: string | undefined;
  /** The app asked Slack not to retry (HTTP `x-slack-no-retry: 1`). */
  noRetry: boolean;
}

/** Sends one attempt over the app's Socket Mode connection; never rejects. */
export interface SocketTransport {
  send(
    req: DeliveryRequest,
    attempt: { number: number; reason?: string },
    timeoutMs: number,
  ): Promise<TransportAnswer>;
}

export interface DelivererOptions {
  signingSecret: string;
  appUrl?: string;
  /** Set when the app runs in Socket Mode: every delivery goes over its WebSocket instead of HTTP. */
  socket?: SocketTransport;
  ackTimeoutMs: number;
  retries: RetryOptions;
  logger: Logger;
  onRecord(record: DeliveryRecord): void;
}

export interface DeliveryRequest {
  kind: DeliveryKind;
  label: string;
  body: string;
  contentType: 'application/x-www-form-urlencoded' | 'application/json';
}

export type Deliverer = ReturnType<typeof createDeliverer>;

const retryReasonOf = (outcome: DeliveryOutcome): string =>
  outcome === 'http_timeout' ? 'http_timeout' : outcome === 'http_error' ? 'http_error' : 'connection_failed';

export function createDeliverer(options: DelivererOptions) {
  const { signingSecret, logger } = options;
  let appUrl = options.appUrl?.replace(/\/+$/, '');
  let retries = options.retries;
  const timers = new Set<NodeJS.Timeout>();
  const inflight = new Set<ClientRequest>();
  let nextId = 1;
  let closed = false;

  function record(r: DeliveryRecord): void {
    options.onRecord(r);
    const level = r.outcome === 'acked' ? 'debug' : 'warn';
    logger[level](
      {
        kind: r.kind,
        label: r.label,
        attempt: r.attempt,
        transport: r.transport,
        status: r.status,
        latencyMs: r.latencyMs,
      },
      `local slack delivery ${r.outcome}`,
    );
  }

  async function attempt(
    req: DeliveryRequest,
    id: number,
    attemptNo: number,
    reason?: string,
  ): Promise<DeliveryAnswer & { noRetry: boolean }> {
    const at = Date.now();
    const started = performance.now();
    const transport = options.socket ? 'socket_mode' : 'http';
    const base = { id, kind: req.kind, label: req.label, attempt: attemptNo, transport, at } as const;
    const withReason = reason === undefined ? base : { ...base, retryReason: reason };
    let sent: TransportAnswer;
    if (closed || (!options.socket && !appUrl)) {
      sent = { status: 0, outcome: 'no_app_url', body: '', contentType: undefined, noRetry: false };
    } else if (options.socket) {
      sent = await options.socket.send(
        req,
        reason === undefined ? { number: attemptNo } : { number: attemptNo, reason },
        options.ackTimeoutMs,
      );
    } else {
      sent = await attemptHttp(req, `${appUrl}/slack/events`, attemptNo, reason);
    }
    const latencyMs = sent.outcome === 'no_app_url' ? 0 : elapsed(started);
    record({ ...withReason, status: sent.status, outcome: sent.outcome, latencyMs });
    return { ...sent, latencyMs };
  }

  async function attemptHttp(
    req: DeliveryRequest,
    url: string,
    attemptNo: number,
    reason: string | undefined,
  ): Promise<TransportAnswer> {
    const headers: Record<string, string> = {
      'content-type': req.contentType,
      'user-agent': USER_AGENT,
      // Signed with the wall clock: Bolt compares the timestamp with its own Date.now().
      ...signedHeaders(signingSecret, req.body, Math.floor(Date.now() / 1000)),
      ...(attemptNo > 0 && { 'x-slack-retry-num': String(attemptNo), 'x-slack-retry-reason': reason ?? '' }),
    };
    try {
      const res = await post(url, headers, req.body, options.ackTimeoutMs, inflight);
      const ok = res.status >= 200 && res.status < 300;
      return {
        status: res.status,
        outcome: ok ? 'acked' : 'http_error',
        body: res.body,
        contentType: res.contentType,
        noRetry: res.noRetry,
      };
    } catch (err) {
      const outcome: DeliveryOutcome = err instanceof DeadlineError ? 'http_timeout' : 'connection_failed';
      if (outcome === 'connection_failed')
        logger.debug({ err: errorMessage(err) }, 'local slack: app unreachable');
      return { status: 0, outcome, body: '', contentType: undefined, noRetry: false };
    }
  }

  function wait(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (closed) return resolve(false);
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve(!closed);
      }, ms);
      timers.add(timer);
    });
  }

  async function retryInBackground(req: DeliveryRequest, id: number, first: DeliveryOutcome): Promise<void> {
    let previous = first;
    for (let n = 1; n <= retries.delaysMs.length; n += 1) {
      if (!(await wait(retries.delaysMs[n - 1] ?? 0))) return;
      const answer = await attempt(req, id, n, retryReasonOf(previous));
      if (answer.outcome === 'acked' || answer.noRetry) return;
      previous = answer.outcome;
    }
  }

  return {
    setAppUrl(url: string | undefined): void {
      appUrl = url?.replace(/\/+$/, '');
    },
    get appUrl(): string | undefined {
      return appUrl;
    },
    setRetries(next: RetryOptions): void {
      retries = next;
    },
    /** Sends once and answers with the first attempt; Events API deliveries retry in the background. */
    async deliver(req: DeliveryRequest): Promise<DeliveryAnswer> {
      const id = nextId++;
      const { noRetry, ...answer } = await attempt(req, id, 0);
      const retryable = req.kind === 'event_callback' && retries.enabled && !noRetry;
      if (answer.outcome !== 'acked' && retryable) void retryInBackground(req, id, answer.outcome);
      return answer;
    },
    close(): void {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const r of inflight) r.destroy(new ConductorError('local slack closed'));
    },
  };
}

function elapsed(startedPerfMs: number): number {
  return Math.round((performance.now() - startedPerfMs) * 10) / 10;
}

class DeadlineError extends ConductorError {
  override readonly name = 'DeadlineError';
}

interface PostResult {
  status: number;
  body: string;
  contentType: string | undefined;
  noRetry: boolean;
}

/**
 * One POST on its own connection: when the deadline passes the socket is destroyed, as Slack
 * hangs up on a slow app, so nothing lingers on either side.
 */
function post(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  inflight: Set<ClientRequest>,
): Promise<PostResult> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(target, {
      method: 'POST',
      agent: false,
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)), connection: 'close' },
    });
    inflight.add(req);
    const deadline = setTimeout(
      () => req.destroy(new DeadlineError(`no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const done = () => {
      clearTimeout(deadline);
      inflight.delete(req);
    };
    req.on('error', (err) => {
      done();
      reject(err);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => {
        done();
        reject(err);
      });
      res.on('close', () => {
        if (res.complete) return;
        done();
        reject(new DeadlineError(`answer cut off after ${timeoutMs} ms`));
      });
      res.on('end', () => {
        done();
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          contentType: res.headers['content-type'],
          noRetry: res.headers['x-slack-no-retry'] === '1',
        });
      });
    });
    req.end(body);
  });
}
