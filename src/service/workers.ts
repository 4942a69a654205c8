import type { webApi } from '@slack/bolt';
import { monitorProcessor } from '../../agents/monitor/processor.js';
import { queueIncidentEvents } from '../../agents/monitor/queue-events.js';
import type { ProbeSpec } from '../../agents/monitor/sweep.js';
import { notifyProcessor } from '../../agents/notify/processor.js';
import type { AppContext } from './context.js';

export interface WorkerOptions {
  probe: ProbeSpec;
  slackClient: webApi.WebClient;
  slack: { channelId: string; oncall: readonly string[] };
  /** Real ms each probe may take (the fast demo clock shortens everything but the network). */
  probeTimeoutMs?: number;
  /** Register the shared schedulers (sweep, digest); any process may, they are upserts. */
  schedule?: boolean;
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
      onSweep: async (job, report) => {
        if (job.kind !== 'sweep_run' || !job.responseUrl) return;
        const { loadDigestInput } = await import('../slack-app/fleet-view.js');
        const { renderStatusDigest } = await import('../slack-messages/status-digest.js');
        const digest = renderStatusDigest(
          await loadDigestInput(ctx.store, config.fleet, ctx.clock.now(), job.run),
        );
        await queues.enqueue('notify', 'response', {
          kind: 'response',
          url: job.responseUrl,
          body: {
            response_type: 'ephemeral',
            replace_original: false,
            ...digest,
            text: `${digest.text} (swept ${report.runs.length})`,
          },
        });
      },
    }),
    { concurrency: 2 },
  );
  queues.work(
    'notify',
    notifyProcessor({
      client: options.slackClient,
      store: ctx.store,
      queues,
      redis: ctx.redis,
      prefix: config.keyPrefix,
      fleet: config.fleet,
      clock: ctx.clock,
      logger: ctx.logger.child({ agent: 'notify' }),
      channelId: options.slack.channelId,
      oncall: options.slack.oncall,
    }),
    { concurrency: 4 },
  );
  if (options.schedule !== false) {
    // Intervals are real ms: a fast clock sweeps as often in clock time as configured.
    const { thresholds } = config.fleet;
    await queues.scheduleSweep(Math.max(1000, (thresholds.sweep_interval_s * 1000) / ctx.clock.speed));
    await queues.scheduleDigest(
      Math.max(10_000, (thresholds.digest_interval_hours * 3_600_000) / ctx.clock.speed),
    );
  }
}
