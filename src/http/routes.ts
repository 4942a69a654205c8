import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import { dashboardRoutes } from './dashboard.js';
import { type HealthDeps, healthReport } from './health.js';
import type { Metrics } from './metrics.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface Route {
  path: string;
  /** Also serve every path below `path` (the dashboard's pages, assets and API). */
  prefix?: boolean;
  method: HttpMethod | readonly HttpMethod[];
  handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
}

function methodsOf(route: Route): readonly HttpMethod[] {
  return typeof route.method === 'string' ? [route.method] : route.method;
}

/** The route serving `method` at `url`, matched as Bolt matches its custom routes below. */
export function findRoute(routes: readonly Route[], method: string | undefined, url: string | undefined) {
  const { pathname } = new URL(url ?? '/', 'http://localhost');
  const path = pathname.length > 1 ? pathname.replace(/\/$/, '') : pathname;
  return routes.find(
    (r) =>
      methodsOf(r).some((m) => m === method) &&
      (path === r.path || (r.prefix === true && path.startsWith(`${r.path}/`))),
  );
}

/**
 * The same routes as Bolt HTTPReceiver custom routes. Bolt matches paths with path-to-regexp 8,
 * where `{/*rest}` is an optional wildcard: `/admin/queues` and everything below it.
 */
export function boltCustomRoutes(routes: readonly Route[]) {
  return routes.map((r) => ({
    path: r.prefix ? `${r.path}{/*rest}` : r.path,
    method: [...methodsOf(r)],
    handler: (req: IncomingMessage, res: ServerResponse) => serve(r, req, res),
  }));
}

/** Runs a route; a handler that throws answers 500 instead of leaving the request hanging. */
export function serve(route: Route, req: IncomingMessage, res: ServerResponse): void {
  Promise.resolve()
    .then(() => route.handler(req, res))
    .catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
}

/** /healthz, /metrics and (with a password) the queue dashboard, for the bot and bare workers alike. */
export function operatorRoutes(
  deps: HealthDeps & { metrics: Metrics; logger: Logger; dashboardPassword?: string | undefined },
): Route[] {
  return [
    {
      path: '/healthz',
      method: 'GET',
      handler: async (_req, res) => {
        try {
          const report = await healthReport(deps);
          res.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json' });
          res.end(JSON.stringify(report));
        } catch (err) {
          deps.logger.warn({ err }, 'health check failed');
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ok: false, problems: ['health check failed'] }));
        }
      },
    },
    {
      path: '/metrics',
      method: 'GET',
      handler: async (_req, res) => {
        res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
        res.end(await deps.metrics.registry.metrics());
      },
    },
    ...dashboardRoutes({ queues: deps.queues, logger: deps.logger, password: deps.dashboardPassword }),
  ];
}
