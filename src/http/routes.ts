import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import { type HealthDeps, healthReport } from './health.js';
import type { Metrics } from './metrics.js';

export interface Route {
  path: string;
  method: 'GET' | 'POST';
  handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
}

/** /healthz and /metrics, shaped as Bolt custom routes so the bot and bare workers share them. */
export function operatorRoutes(deps: HealthDeps & { metrics: Metrics; logger: Logger }): Route[] {
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
  ];
}
