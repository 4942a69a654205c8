import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express from 'express';
import type { Logger } from '../logger.js';
import { QUEUE_NAMES, type QueueName } from '../queues/jobs.js';
import type { Queues } from '../queues/queues.js';
import type { Route } from './routes.js';

/**
 * The operator's view of the five queues: Bull Board (Express adapter) under `/admin/queues`,
 * behind HTTP Basic authentication with DASHBOARD_PASSWORD. Without a password it is not mounted
 * at all, so an unconfigured service answers 404 rather than an open board.
 */

export const DASHBOARD_PATH = '/admin/queues';
export const DASHBOARD_USER = 'admin';
const REALM = 'Train Conductor queues';

/**
 * Jobs on these queues act on instances or spend money only after a Slack approval or a policy
 * decision: the board may show them but must not add, edit, retry or promote them, or it would
 * be a way around the Approve button. Monitor (sweeps) and notify (Slack posts) stay operable.
 */
export const READ_ONLY_QUEUES: ReadonlySet<QueueName> = new Set(['healer', 'ops', 'conductor']);

/**
 * @bull-board/express 9.10.1 pins its own copy of @bull-board/api 9.10.1, whose adapter types
 * TypeScript cannot unify with the 9.10.2 createBullBoard takes; at run time they are the same
 * shape (the Express adapter imports nothing from its copy).
 */
type ServerAdapter = Parameters<typeof createBullBoard>[0]['serverAdapter'];

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * True when an `Authorization` header carries `admin:<password>`. Both halves are compared as
 * fixed-length digests with timingSafeEqual, and both comparisons always run, so the answer
 * takes the same time whatever the guess and however much of it was right.
 */
export function basicAuthMatches(header: string | undefined, password: string): boolean {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  const decoded = match?.[1] ? Buffer.from(match[1], 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  const user = colon >= 0 ? decoded.slice(0, colon) : '';
  const pass = colon >= 0 ? decoded.slice(colon + 1) : '';
  const userOk = timingSafeEqual(sha256(user), sha256(DASHBOARD_USER));
  const passOk = timingSafeEqual(sha256(pass), sha256(password));
  return match !== null && colon >= 0 && userOk && passOk;
}

function refuse(res: ServerResponse): void {
  res.writeHead(401, {
    'content-type': 'text/plain; charset=utf-8',
    'www-authenticate': `Basic realm="${REALM}", charset="UTF-8"`,
    'cache-control': 'no-store',
  });
  res.end('authentication required\n');
}

/** The Bull Board app for these queues, mounted at DASHBOARD_PATH of a plain Express app. */
function boardApp(queues: Queues): express.Express {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: QUEUE_NAMES.map(
      (name) => new BullMQAdapter(queues.queue(name), { readOnlyMode: READ_ONLY_QUEUES.has(name) }),
    ),
    serverAdapter: serverAdapter as unknown as ServerAdapter,
    options: { uiConfig: { boardTitle: 'Train Conductor', hideDocsLink: true } },
  });
  const app = express();
  app.disable('x-powered-by');
  app.use(DASHBOARD_PATH, serverAdapter.getRouter());
  return app;
}

export interface DashboardDeps {
  queues: Queues;
  logger: Logger;
  /** DASHBOARD_PASSWORD; undefined or empty leaves the dashboard unmounted. */
  password: string | undefined;
}

/** The dashboard as one prefix route (every method), or none without a password. */
export function dashboardRoutes(deps: DashboardDeps): Route[] {
  const { password } = deps;
  if (!password) return [];
  // Built on the first authenticated request: a service nobody opens the board on pays nothing.
  let app: express.Express | undefined;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (!basicAuthMatches(req.headers.authorization, password)) {
      deps.logger.warn({ path: DASHBOARD_PATH, remote: req.socket.remoteAddress }, 'dashboard: refused');
      refuse(res);
      return;
    }
    app ??= boardApp(deps.queues);
    app(req, res);
  };
  return [
    {
      path: DASHBOARD_PATH,
      prefix: true,
      method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      handler,
    },
  ];
}
