import { monitorProcessor } from '../../agents/monitor/processor.js';
import { queueIncidentEvents } from '../../agents/monitor/queue-events.js';
import type { ProbeSpec } from '../../agents/monitor/sweep.js';
import type { AppContext } from './context.js';

export interface WorkerOptions {
  probe: ProbeSpec;
  /** Real ms each probe may take (the fast demo clock shortens everything but the network). */
  probeTimeoutMs?: number;
  concurrency?: number;
}

/** Starts every queue's worker in this process and registers the shared schedulers. */
export async function startWorkers(ctx: AppContext, options: WorkerOptions): Promise<void> {
  const { config, queues } = ctx;
  const events = queueIncidentEvents(queues);
  queues.work(
    'monitor',
    monitorProcessor({
      redis: ctx.redis,
      prefix: config.keyPrefix,
      fleet: config.fleet,
      store: ctx.store,
      vast: ctx.vast,
      ssh: ctx.ssh,
      probe: options.probe,
      clock: ctx.clock,
      logger: ctx.logger.child({ agent: 'monitor' }),
      events,
      stateDir: config.stateDir,
      metrics: ctx.metrics,
      ...(options.probeTimeoutMs !== undefined && { probeTimeoutMs: options.probeTimeoutMs }),
    }),
    { concurrency: 2 },
  );
  // The scheduler interval is in real ms: a fast clock sweeps as often in clock time as configured.
  await queues.scheduleSweep(Math.max(1000, (config.fleet.thresholds.sweep_interval_s * 1000) / ctx.clock.speed));
}
