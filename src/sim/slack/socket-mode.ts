import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { DeliveryRequest, SocketTransport, TransportAnswer } from './delivery.js';

/**
 * Slack's Socket Mode, as @slack/socket-mode's SocketModeClient expects it: `apps.connections.open`
 * (app-level token only) hands out a `ws://…/link/?ticket=…` URL whose ticket works once; on
 * connect the server says `hello`; deliveries arrive as envelopes
 * `{envelope_id, payload, type, accepts_response_payload}` (events also carry `retry_attempt` and
 * `retry_reason`) and the app acks each with `{envelope_id, payload}`. A `disconnect` message asks
 * the app to reconnect through a fresh `apps.connections.open`. The server pings, and answers the
 * client's pings, as Slack does.
 */

export type SocketEnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

export type DisconnectReason = 'refresh_requested' | 'warning' | 'link_disabled' | 'too_many_websockets';

/** Slack allows an app ten open Socket Mode connections; an eleventh is told `too_many_websockets`. */
export const MAX_SOCKET_CONNECTIONS = 10;

export interface SocketConnectionInfo {
  id: number;
  /** Wall-clock epoch ms. */
  openedAt: number;
  closedAt?: number;
  closeCode?: number;
  /** `disconnect` sent: no new envelopes go here unless no other connection is open. */
  draining: boolean;
  envelopesSent: number;
  acks: number;
}

export interface SocketModeOptions {
  appToken: string;
  appId: string;
  /** `http://host:port` of the local Slack; the WebSocket URL uses the same host and port. */
  origin: string;
  logger: Logger;
  /** How often the server pings each connection (the client drops a link that stays silent for 30 s). */
  pingIntervalMs?: number;
  /** How long a ticket from apps.connections.open stays usable. */
  ticketTtlMs?: number;
  /** How long a connection told to `disconnect` may stay before the server closes it. */
  disconnectGraceMs?: number;
}

interface PendingAck {
  resolve(answer: TransportAnswer): void;
}

interface Connection {
  info: SocketConnectionInfo;
  ws: WebSocket;
  pending: Map<string, PendingAck>;
  ping: NodeJS.Timeout;
  graceTimer?: NodeJS.Timeout;
}

export type ConnectionsOpenAnswer = { ok: true; url: string } | { ok: false; error: string };

const AckSchema = z.object({ envelope_id: z.string().min(1), payload: z.unknown().optional() });

const FormPayload = z.string().transform((raw, ctx) => {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'payload is not JSON' });
    return z.NEVER;
  }
});

/**
 * The envelope Slack sends over the socket for a delivery that would otherwise be an HTTP POST:
 * a slash command's form fields as an object, the interactivity form's `payload` JSON, or the
 * Events API body itself.
 */
export function socketEnvelope(
  req: DeliveryRequest,
  envelopeId: string,
  attempt: { number: number; reason?: string },
): Record<string, unknown> {
  switch (req.kind) {
    case 'slash_command':
      return {
        envelope_id: envelopeId,
        payload: Object.fromEntries(new URLSearchParams(req.body)),
        type: 'slash_commands',
        accepts_response_payload: true,
      };
    case 'block_actions':
      return {
        envelope_id: envelopeId,
        payload: FormPayload.parse(new URLSearchParams(req.body).get('payload') ?? ''),
        type: 'interactive',
        accepts_response_payload: false,
      };
    case 'event_callback':
      return {
        envelope_id: envelopeId,
        payload: JSON.parse(req.body) as unknown,
        type: 'events_api',
        accepts_response_payload: false,
        retry_attempt: attempt.number,
        retry_reason: attempt.reason ?? '',
      };
  }
}

/** An ack's payload as the answer body: nothing for an empty ack, as an empty HTTP 200 would be. */
function ackBody(payload: unknown): Pick<TransportAnswer, 'body' | 'contentType'> {
  const empty =
    payload === undefined ||
    payload === null ||
    (typeof payload === 'object' && Object.keys(payload).length === 0);
  return empty
    ? { body: '', contentType: undefined }
    : { body: JSON.stringify(payload), contentType: 'application/json' };
}

export type SocketMode = ReturnType<typeof createSocketMode>;

export function createSocketMode(options: SocketModeOptions) {
  const { logger } = options;
  const pingIntervalMs = options.pingIntervalMs ?? 10_000;
  const ticketTtlMs = options.ticketTtlMs ?? 30_000;
  const disconnectGraceMs = options.disconnectGraceMs ?? 10_000;
  const host = new URL(options.origin).host;
  const wss = new WebSocketServer({ noServer: true, clientTracking: false, maxPayload: 5 * 1024 * 1024 });
  const tickets = new Map<string, number>();
  const connections = new Map<number, Connection>();
  const history: SocketConnectionInfo[] = [];
  let nextConnectionId = 1;
  let roundRobin = 0;
  let closed = false;

  /** `apps.connections.open`: the app-level token only, as Slack checks it. */
  function openConnection(token: string): ConnectionsOpenAnswer {
    if (!token.startsWith('xapp-')) return { ok: false, error: 'not_allowed_token_type' };
    if (token !== options.appToken) return { ok: false, error: 'invalid_auth' };
    const now = Date.now();
    for (const [ticket, expires] of tickets) if (expires <= now) tickets.delete(ticket);
    const ticket = randomBytes(16).toString('hex');
    tickets.set(ticket, now + ticketTtlMs);
    return { ok: true, url: `ws://${host}/link/?ticket=${ticket}&app_id=${options.appId}` };
  }

  function rejectUpgrade(socket: Duplex, status: string): void {
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  }

  /** Takes the HTTP upgrade for `/link/`; answers false for any other path. */
  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', options.origin);
    if (url.pathname !== '/link/' && url.pathname !== '/link') return false;
    const ticket = url.searchParams.get('ticket') ?? '';
    const expires = tickets.get(ticket);
    // A ticket works once: a replayed or stale URL is refused before the handshake.
    tickets.delete(ticket);
    if (closed) {
      rejectUpgrade(socket, '503 Service Unavailable');
    } else if (expires === undefined || expires <= Date.now()) {
      logger.warn({ ticket: ticket.slice(0, 6) }, 'local slack: socket mode ticket refused');
      rejectUpgrade(socket, '401 Unauthorized');
    } else {
      wss.handleUpgrade(req, socket, head, (ws) => accept(ws));
    }
    return true;
  }

  function live(): Connection[] {
    return [...connections.values()].filter((c) => c.ws.readyState === c.ws.OPEN);
  }

  function accept(ws: WebSocket): void {
    const info: SocketConnectionInfo = {
      id: nextConnectionId++,
      openedAt: Date.now(),
      draining: false,
      envelopesSent: 0,
      acks: 0,
    };
    history.push(info);
    if (live().length >= MAX_SOCKET_CONNECTIONS) {
      info.draining = true;
      ws.send(JSON.stringify({ type: 'disconnect', reason: 'too_many_websockets', debug_info: debugInfo() }));
      ws.close(1000);
      info.closedAt = Date.now();
      return;
    }
    const ping = setInterval(() => {
      if (ws.readyState === ws.OPEN) ws.ping(Buffer.from(`ping ${Date.now()}`));
    }, pingIntervalMs);
    ping.unref();
    const conn: Connection = { info, ws, pending: new Map(), ping };
    connections.set(info.id, conn);
    ws.on('message', (data, isBinary) => onMessage(conn, data, isBinary));
    ws.on('error', (err) =>
      logger.debug({ err: errorMessage(err), id: info.id }, 'local slack: socket error'),
    );
    ws.on('close', (code) => onClose(conn, code));
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: live().length,
        debug_info: { ...debugInfo(), build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: options.appId },
      }),
    );
    logger.info({ id: info.id, connections: live().length }, 'local slack: socket mode connection open');
  }

  function debugInfo() {
    return { host: `applink-local-${host.replace(/[^0-9a-z]/gi, '-')}` };
  }

  function onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    if (isBinary) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data.toString());
    } catch {
      logger.debug({ id: conn.info.id }, 'local slack: socket message is not JSON; ignored');
      return;
    }
    const ack = AckSchema.safeParse(parsed);
    if (!ack.success) {
      logger.debug({ id: conn.info.id }, 'local slack: socket message is not an ack; ignored');
      return;
    }
    const pending = conn.pending.get(ack.data.envelope_id);
    // An ack after the deadline, for another connection's envelope, or twice: Slack drops it.
    if (!pending) return;
    conn.pending.delete(ack.data.envelope_id);
    conn.info.acks += 1;
    pending.resolve({ status: 200, outcome: 'acked', noRetry: false, ...ackBody(ack.data.payload) });
  }

  function onClose(conn: Connection, code: number): void {
    if (conn.info.closedAt !== undefined) return;
    clearInterval(conn.ping);
    if (conn.graceTimer) clearTimeout(conn.graceTimer);
    connections.delete(conn.info.id);
    conn.info.closedAt = Date.now();
    conn.info.closeCode = code;
    // Envelopes still waiting for an ack on a link that went away reached no app.
    for (const pending of conn.pending.values()) pending.resolve(failed('connection_failed'));
    conn.pending.clear();
    logger.info(
      { id: conn.info.id, code, connections: live().length },
      'local slack: socket mode connection closed',
    );
  }

  function failed(outcome: 'connection_failed' | 'http_timeout'): TransportAnswer {
    return { status: 0, outcome, body: '', contentType: undefined, noRetry: false };
  }

  /** One connection for the next envelope: round robin over links not told to go, else any open one. */
  function pick(): Connection | undefined {
    const open = live();
    const preferred = open.filter((c) => !c.info.draining);
    const pool = preferred.length > 0 ? preferred : open;
    if (pool.length === 0) return undefined;
    roundRobin = (roundRobin + 1) % pool.length;
    return pool[roundRobin];
  }

  const transport: SocketTransport = {
    send(req, attempt, timeoutMs) {
      const conn = pick();
      if (!conn) return Promise.resolve(failed('connection_failed'));
      const envelopeId = randomUUID();
      const envelope = socketEnvelope(req, envelopeId, attempt);
      return new Promise<TransportAnswer>((resolve) => {
        const deadline = setTimeout(() => {
          conn.pending.delete(envelopeId);
          resolve(failed('http_timeout'));
        }, timeoutMs);
        conn.pending.set(envelopeId, {
          resolve(answer) {
            clearTimeout(deadline);
            resolve(answer);
          },
        });
        conn.info.envelopesSent += 1;
        conn.ws.send(JSON.stringify(envelope), (err) => {
          if (!err) return;
          const pending = conn.pending.get(envelopeId);
          conn.pending.delete(envelopeId);
          pending?.resolve(failed('connection_failed'));
        });
      });
    },
  };

  /** Sends Slack's `disconnect` to every open connection; each is closed after the grace period. */
  function sendDisconnect(reason: DisconnectReason = 'refresh_requested'): number {
    const open = live();
    for (const conn of open) {
      conn.info.draining = true;
      conn.ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: debugInfo() }));
      conn.graceTimer ??= setTimeout(() => conn.ws.close(1000), disconnectGraceMs);
      conn.graceTimer.unref();
    }
    return open.length;
  }

  function close(): void {
    closed = true;
    tickets.clear();
    for (const conn of connections.values()) {
      conn.ws.terminate();
      onClose(conn, 1006);
    }
    wss.close();
  }

  return {
    transport,
    openConnection,
    handleUpgrade,
    sendDisconnect,
    /** Every connection ever opened, oldest first (closed ones carry closedAt). */
    connections: (): readonly SocketConnectionInfo[] => history,
    /** Connections not yet closed (a link in its close handshake still counts). */
    openConnections: (): number => connections.size,
    close,
  };
}
