import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type App,
  type Logger as BoltLogger,
  HTTPResponseAck,
  HTTPModuleFunctions as httpFunc,
  type Receiver,
  type ReceiverEvent,
} from '@slack/bolt';
import type { Metrics } from '../http/metrics.js';
import type { Route } from '../http/routes.js';
import { startHttpServer } from '../http/server.js';

/**
 * Bolt's HTTP receiver, reordered so Slack never waits on the app: a slash command, a button
 * click or an Events API callback is answered 200 as soon as its signature checks out, and the
 * app processes it afterwards (Bolt's own receiver answers only when a listener calls `ack()`,
 * after the whole middleware chain has run). Under a burst, every request is acked before any
 * of them is processed (see `defer`).
 *
 * Every listener of this app acks with an empty body and answers through `response_url` or the
 * notify queue, so nothing is lost by acking first. Anything whose ack carries an answer (a view
 * submission's `response_action`, block suggestions, shortcuts) keeps Bolt's order: the
 * listener's `ack(...)` is the HTTP response.
 *
 * Signature checks, body limits, `ssl_check` and `url_verification` are Bolt's own functions.
 * Any other path goes to the operator routes (/healthz, /metrics, /admin/queues).
 */

export interface AckFirstReceiverOptions {
  signingSecret: string;
  /** Path Slack posts to. */
  endpoint?: string;
  routes: readonly Route[];
  logger: BoltLogger;
  metrics?: Pick<Metrics, 'ackLatency'>;
  host?: string;
  /**
   * True the first time a request signature is seen within Slack's 5-minute window. Slack's
   * scheme has no nonce: the same signed bytes sent again (a captured request replayed, a proxy
   * that retries) verify again, so they are answered but never processed twice. Slack's own
   * retries carry a new timestamp, hence a new signature.
   */
  firstSeen?: (signature: string) => Promise<boolean>;
}

type AckKind = 'command' | 'action' | 'event';

/** The request kinds acked before processing, by what Slack sent. */
function ackFirstKind(body: Record<string, unknown>): AckKind | null {
  if (typeof body.command === 'string') return 'command';
  if (body.type === 'block_actions') return 'action';
  if (body.type === 'event_callback') return 'event';
  return null;
}

const noAck = async (): Promise<void> => {};

/** Processing starts once no request has come for this long... */
const QUIET_MS = 20;
/** ...or once the oldest acked request has waited this long, under sustained load. */
const MAX_DEFER_MS = 250;

export class AckFirstReceiver implements Receiver {
  private app: App | undefined;
  private server: { port: number; close(): Promise<void> } | undefined;
  private readonly endpoint: string;
  private deferred: (() => Promise<void>)[] = [];
  private oldestDeferredAt: number | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  private readonly processing = new Set<Promise<void>>();

  constructor(private readonly options: AckFirstReceiverOptions) {
    this.endpoint = options.endpoint ?? '/slack/events';
  }

  init(app: App): void {
    this.app = app;
  }

  /** The port it listens on, once started. */
  get port(): number | undefined {
    return this.server?.port;
  }

  /** Serves /slack/events beside the operator routes (the same server the worker role uses). */
  async start(port: number): Promise<{ port: number }> {
    if (this.server) throw new Error('receiver already started');
    const slackEvents: Route = {
      path: this.endpoint,
      method: 'POST',
      handler: (req, res) =>
        this.handle(req, res).catch((err: unknown) => {
          // `serve` answers 500; nothing escapes as an unhandled rejection.
          this.options.logger.error(`handling a Slack request failed: ${(err as Error).message}`);
          throw err;
        }),
    };
    this.server = await startHttpServer([slackEvents, ...this.options.routes], port, this.options.host);
    return { port: this.server.port };
  }

  /** Stops taking requests, then finishes processing every request already acked. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await server.close();
    this.drain();
    await Promise.allSettled([...this.processing]);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const { logger } = this.options;
    let buffered: Awaited<ReturnType<typeof httpFunc.parseAndVerifyHTTPRequest>>;
    try {
      buffered = await httpFunc.parseAndVerifyHTTPRequest(
        { enabled: true, signingSecret: this.options.signingSecret, logger },
        req,
      );
    } catch (err) {
      if (httpFunc.isRawBodyError(err) && (err.type === 'entity.too.large' || err.statusCode === 413)) {
        logger.warn(`request body exceeded the limit (${err.limit} bytes)`);
        return httpFunc.buildNoBodyResponse(res, 413);
      }
      logger.warn(`refused a request that failed verification: ${(err as Error).message}`);
      return httpFunc.buildNoBodyResponse(res, 401);
    }
    let body: Record<string, unknown>;
    try {
      body = httpFunc.parseHTTPRequestBody(buffered);
    } catch (err) {
      logger.warn(`malformed request body: ${(err as Error).message}`);
      return httpFunc.buildNoBodyResponse(res, 400);
    }
    if (body.ssl_check === '1') return httpFunc.buildSSLCheckResponse(res);
    if (body.type === 'url_verification') return httpFunc.buildUrlVerificationResponse(res, body);

    const kind = ackFirstKind(body);
    const retryNum = httpFunc.extractRetryNumFromHTTPRequest(req);
    const retryReason = httpFunc.extractRetryReasonFromHTTPRequest(req);
    const base = {
      body,
      ...(retryNum !== undefined && { retryNum }),
      ...(retryReason !== undefined && { retryReason }),
      customProperties: {},
    };
    const signature = httpFunc.getHeader(req, 'x-slack-signature');
    if (kind !== null) {
      httpFunc.buildNoBodyResponse(res, 200);
      this.options.metrics?.ackLatency.observe({ kind }, (performance.now() - started) / 1000);
      this.defer(async () => {
        if (await this.isReplay(signature)) return;
        await this.process({ ...base, ack: noAck }, res, req);
      });
      return;
    }
    if (await this.isReplay(signature)) return httpFunc.buildNoBodyResponse(res, 200);
    const ack = new HTTPResponseAck({
      logger,
      processBeforeResponse: false,
      httpRequest: buffered,
      httpRequestBody: body,
      httpResponse: res,
    });
    await this.process({ ...base, ack: ack.bind() }, res, req, ack);
  }

  /**
   * Acks first, processing after: work waits until no new request has come for QUIET_MS, so a
   * burst is acked in full before any of it is processed, but never more than MAX_DEFER_MS.
   */
  private defer(work: () => Promise<void>): void {
    this.deferred.push(work);
    this.oldestDeferredAt ??= performance.now();
    clearTimeout(this.drainTimer);
    const waited = performance.now() - this.oldestDeferredAt;
    this.drainTimer = setTimeout(() => this.drain(), Math.max(0, Math.min(QUIET_MS, MAX_DEFER_MS - waited)));
  }

  private drain(): void {
    clearTimeout(this.drainTimer);
    const work = this.deferred;
    this.deferred = [];
    this.oldestDeferredAt = undefined;
    for (const run of work) {
      const running = run()
        .catch((err: unknown) => {
          this.options.logger.error(`processing an acknowledged request failed: ${(err as Error).message}`);
        })
        .finally(() => this.processing.delete(running));
      this.processing.add(running);
    }
  }

  private async isReplay(signature: string): Promise<boolean> {
    const { firstSeen, logger } = this.options;
    if (!firstSeen) return false;
    try {
      if (await firstSeen(signature)) return false;
      logger.warn('ignored a request whose exact signed bytes were already received (a replay)');
      return true;
    } catch (err) {
      // Unable to tell: process it rather than drop a genuine request.
      logger.warn(`replay check failed, processing anyway: ${(err as Error).message}`);
      return false;
    }
  }

  private async process(
    event: ReceiverEvent,
    res: ServerResponse,
    req: IncomingMessage,
    ack?: HTTPResponseAck,
  ): Promise<void> {
    const { logger } = this.options;
    try {
      if (!this.app) throw new Error('receiver not initialised by an App');
      await this.app.processEvent(event);
    } catch (error) {
      if (!ack) {
        logger.error(`processing an acknowledged request failed: ${(error as Error).message}`);
        return;
      }
      const acknowledged = await httpFunc.defaultProcessEventErrorHandler({
        error: error as Error,
        logger,
        request: req,
        response: res,
        storedResponse: ack.storedResponse,
      });
      if (acknowledged) ack.ack();
    }
  }
}
