import type { webApi } from '@slack/bolt';
import { UnrecoverableError } from 'bullmq';
import { createConductorProcessor } from '../../agents/conductor/index.js';
import { dispatchDecision, proposeFinish } from '../../agents/decisions/dispatch.js';
import { runTarget } from '../../agents/healer/deps.js';
import { sshHostCommands } from '../../agents/healer/host-commands.js';
import { healerProcessor } from '../../agents/healer/processor.js';
import { monitorProcessor } from '../../agents/monitor/processor.js';
import { queueIncidentEvents } from '../../agents/monitor/queue-events.js';
import type { ProbeSpec } from '../../agents/monitor/sweep.js';
import { notifyProcessor } from '../../agents/notify/processor.js';
import { opsProcessor } from '../../agents/ops/processor.js';
import { searchAndRank } from '../../agents/ops/search.js';
import { REMOTE_COMMANDS } from '../fleet/remote/commands.js';
import type { LlmClient } from '../infra/llm/client.js';
import type { HealerJob, OpsJob } from '../queues/jobs.js';
import { loadDigestInput } from '../slack-app/fleet-view.js';
import { renderLogTail } from '../slack-messages/logs.js';
import { renderStatusDigest } from '../slack-messages/status-digest.js';
import type { AppContext } from './context.js';
import { proposalPoster } from './proposal-post.js';

export interface WorkerOptions {
  probe: ProbeSpec;
  slackClient: webApi.WebClient;
  slack: { channelId: string; oncall: readonly string[] };
  /** Real ms each probe may take (the fast demo clock shortens everything but the network). */
  probeTimeoutMs?: number;
  /** Register the shared schedulers (sweep, digest); any process may, they are upserts. */
  schedule?: boolean;
  /** Overrides the LLM client built from config (the demo and tests use the fake API). */
  llm?: LlmClient | null;
}

/** Starts every queue's worker in this process and registers the shared schedulers. */
export async function startWorkers(ctx: AppContext, options: WorkerOptions): Promise<void> {
  const { config, queues, store, clock } = ctx;
  const fleet = config.fleet;
  const logger = ctx.logger;
  const postProposal = proposalPoster(ctx, options.slack.channelId);
  const events = queueIncidentEvents(queues, {
    onOpened: (incident) => dispatchDecision({ store, queues, fleet, clock, postProposal }, incident),
  });

  /** Progress of an action: into its Slack thread, else its incident's alert thread, else the requester. */
  async function progress(job: HealerJob | OpsJob, step: string, text: string) {
    let thread = job.thread;
    if (!thread && job.incidentId) thread = (await store.incidents.get(job.incidentId))?.slack;
    if (thread) {
      await queues.enqueue('notify', 'progress', {
        kind: 'post',
        channel: thread.channel,
        threadTs: thread.ts,
        text,
      });
    } else if (job.responseUrl) {
      await queues.enqueue('notify', 'progress', {
        kind: 'response',
        url: job.responseUrl,
        body: { response_type: 'ephemeral', replace_original: false, text },
      });
    }
    logger.info({ run: job.run, action: job.action, step }, text);
  }

  const hosts = sshHostCommands({
    ssh: ctx.ssh,
    paths: fleet.paths,
    policy: fleet.policy,
    secrets: config.hfToken ? { HF_TOKEN: config.hfToken } : {},
  });
  const healerDeps = {
    fleet,
    store,
    redis: ctx.redis,
    prefix: config.keyPrefix,
    hosts,
    clock,
    logger: logger.child({ agent: 'healer' }),
    events,
  };

  queues.work(
    'monitor',
    monitorProcessor({
      redis: ctx.redis,
      prefix: config.keyPrefix,
      fleet,
      store,
      vast: ctx.vast,
      ssh: ctx.ssh,
      probe: options.probe,
      clock,
      logger: logger.child({ agent: 'monitor' }),
      events,
      stateDir: config.stateDir,
      metrics: ctx.metrics,
      onComplete: (health, state) =>
        proposeFinish({ store, queues, fleet, clock, postProposal }, health, state),
      ...(options.probeTimeoutMs !== undefined && { probeTimeoutMs: options.probeTimeoutMs }),
      onSweep: async (job, report) => {
        if (job.kind !== 'sweep_run' || !job.responseUrl) return;
        const digest = renderStatusDigest(await loadDigestInput(store, fleet, clock.now(), job.run));
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

  const healer = healerProcessor({ ...healerDeps, onProgress: progress });
  queues.work(
    'healer',
    async (job) => {
      const result = await healer(job);
      if (result.action === 'collect_logs' && job.responseUrl) {
        const message = renderLogTail(job.run, result.lines);
        await queues.enqueue('notify', 'logs', {
          kind: 'response',
          url: job.responseUrl,
          body: { response_type: 'ephemeral', replace_original: false, ...message },
        });
      }
      return result;
    },
    { concurrency: 4 },
  );

  const vast = ctx.vast;
  const ops = vast
    ? opsProcessor({
        ...healerDeps,
        logger: logger.child({ agent: 'ops' }),
        vast,
        hostKeys: ctx.hostKeys,
        stateDir: config.stateDir,
        onProgress: progress,
      })
    : null;
  queues.work(
    'ops',
    async (job, bullJob) => {
      if (!ops) throw new UnrecoverableError('ops needs VAST_API_KEY: no Vast.ai API is configured');
      const result = await ops(job, { id: bullJob.id });
      if (result.action === 'offers' && result.proposal) await postProposal(result.proposal);
      return result;
    },
    { concurrency: 4 },
  );

  queues.work(
    'conductor',
    createConductorProcessor({
      config,
      redis: ctx.redis,
      store,
      clock,
      logger: logger.child({ agent: 'conductor' }),
      metrics: ctx.metrics,
      ...(options.llm !== undefined && { llm: options.llm }),
      async logs(run, n) {
        const spec = fleet.runs.find((r) => r.name === run);
        const target = spec ? runTarget(spec, await store.getRunState(run)) : null;
        if (!target) return [];
        const result = await ctx.ssh.exec(target, REMOTE_COMMANDS.logTail(fleet.paths.log, n), {
          timeoutMs: 15_000,
        });
        return result.stdout.split('\n').filter(Boolean);
      },
      async offers(run) {
        const spec = fleet.runs.find((r) => r.name === run);
        if (!spec || !vast) return [];
        return (await searchAndRank({ vast, fleet, store }, spec)).offers;
      },
      async postToThread(channel, threadTs, message) {
        await queues.enqueue('notify', 'answer', { kind: 'post', channel, threadTs, ...message });
      },
    }),
    { concurrency: 2 },
  );

  queues.work(
    'notify',
    notifyProcessor({
      client: options.slackClient,
      store,
      queues,
      redis: ctx.redis,
      prefix: config.keyPrefix,
      fleet,
      clock,
      logger: logger.child({ agent: 'notify' }),
      channelId: options.slack.channelId,
      oncall: options.slack.oncall,
    }),
    { concurrency: 4 },
  );

  if (options.schedule !== false) {
    // Intervals are real ms: a fast clock sweeps as often in clock time as configured.
    const { thresholds } = fleet;
    await queues.scheduleSweep(Math.max(1000, (thresholds.sweep_interval_s * 1000) / clock.speed));
    await queues.scheduleDigest(
      Math.max(10_000, (thresholds.digest_interval_hours * 3_600_000) / clock.speed),
    );
  }
}
