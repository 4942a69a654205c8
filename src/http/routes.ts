import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import { dashboardRoutes } from './dashboard.js';
import { type HealthDeps, type HealthReport, healthReport } from './health.js';
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

/** Runs a route; a handler that throws answers 500 instead of leaving the request hanging. */
export function serve(route: Route, req: IncomingMessage, res: ServerResponse): void {
  Promise.resolve()
    .then(() => route.handler(req, res))
    .catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
}

/** A probe gives up after a few seconds; answer before that. */
const HEALTH_TIMEOUT_MS = 2_000;

/**
 * The health report, or a "Redis down" one when it takes too long: the service's Redis client
 * queues commands while disconnected (maxRetriesPerRequest: null), so a ping to a dead Redis
 * never fails, it waits.
 */
async function healthWithin(deps: HealthDeps, timeoutMs: number): Promise<HealthReport> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<HealthReport>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          ok: false,
          redis: 'down',
          lastSweepAgeS: null,
          sweepIntervalS: deps.sweepIntervalS,
          queues: {},
          problems: [`redis unreachable (no answer within ${timeoutMs / 1000} s)`],
        }),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([healthReport(deps), timedOut]);
  } finally {
    clearTimeout(timer);
  }
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
          const report = await healthWithin(deps, HEALTH_TIMEOUT_MS);
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
