import type { webApi } from '@slack/bolt';
import { remoteProbe } from '../../../agents/monitor/probe.js';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import { type AppContext, createContext, registerContextShutdown } from '../../service/context.js';
import { slackWebClient } from '../../service/slack-app.js';
import { startWorkers } from '../../service/workers.js';
import { type LocalSlack, startLocalSlack } from '../../sim/slack/index.js';
import type { SimWorld } from '../../sim/world.js';
import { formatMentions } from '../../slack-messages/format.js';

/**
 * Train Conductor as the campaign runs it: the service context and every worker (monitor, healer,
 * ops, conductor without an LLM, notify) against one simulated world, posting to a local Slack.
 * The parts startDemo wires, minus the Bolt app: the campaign's human acts through the same
 * functions the buttons call, and the clock is shared with the other strategies' worlds.
 */

export const CAMPAIGN_CHANNEL = 'CTRAINOPS';
const SIGNING_SECRET = 'campaign-signing-secret';
const BOT_TOKEN = 'xoxb-campaign-token';
/** Real ms a probe may take: the fast clock shortens everything but the network. */
const PROBE_TIMEOUT_MS = 5_000;

export interface ConductorStack {
  ctx: AppContext;
  slack: LocalSlack;
  /** Messages posted that mention on-call (critical alerts, re-pages, escalations). */
  readonly pages: number;
  stop(): Promise<void>;
}

export interface ConductorStackOptions {
  config: Config;
  world: SimWorld;
  clock: Clock;
  redisUrl: string;
  /** Private key matching the world's authorized key. */
  privateKey: string;
  logger: Logger;
}

/** Counts the posts that page on-call, as Slack would deliver them to phones. */
function countPages(client: webApi.WebClient, oncall: readonly string[], onPage: () => void): void {
  const mentions = formatMentions(oncall);
  const post = client.chat.postMessage.bind(client.chat);
  client.chat.postMessage = (async (args: Parameters<typeof post>[0]) => {
    const result = await post(args);
    const text = 'text' in args && typeof args.text === 'string' ? args.text : '';
    if (result.ok && mentions.some((m) => text.includes(m))) onPage();
    return result;
  }) as typeof client.chat.postMessage;
}

export async function startConductorStack(options: ConductorStackOptions): Promise<ConductorStack> {
  const { config, world, clock, logger } = options;
  const slack = await startLocalSlack({ signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN, clock });
  const ctx = createContext(config, {
    clock,
    logger,
    redisUrl: options.redisUrl,
    sshPrivateKey: options.privateKey,
    vast: { url: world.vast.url, apiKey: world.apiKey },
    probeTimeoutMs: PROBE_TIMEOUT_MS,
  });
  // The seeded instances were "provisioned" before the service started: pin their keys as ops would.
  for (const [hostId, key] of world.hostKeys) await ctx.hostKeys.set(hostId, key);
  registerContextShutdown(ctx);
  ctx.shutdown.add('local slack', () => slack.close());

  const oncall = config.slack.oncall;
  const client = slackWebClient({ botToken: BOT_TOKEN, apiUrl: slack.url });
  let pages = 0;
  countPages(client, oncall, () => {
    pages += 1;
  });
  await startWorkers(ctx, {
    probe: remoteProbe,
    slackClient: client,
    slack: { channelId: CAMPAIGN_CHANNEL, oncall },
    probeTimeoutMs: PROBE_TIMEOUT_MS,
    llm: null,
  });
  // startWorkers floors the sweep at one real second; at the campaign's speed that would sweep
  // every few clock minutes. Sweep at the fleet's configured interval in clock time instead.
  await ctx.queues.scheduleSweep(
    Math.max(20, (config.fleet.thresholds.sweep_interval_s * 1000) / clock.speed),
  );
  return {
    ctx,
    slack,
    get pages() {
      return pages;
    },
    stop: () => ctx.shutdown.close(),
  };
}
