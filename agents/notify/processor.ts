import type { webApi } from '@slack/bolt';
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Clock } from '../../src/clock.js';
import { SlackApiError } from '../../src/errors.js';
import type { Fleet } from '../../src/fleet/schema.js';
import type { Logger } from '../../src/logger.js';
import type { NotifyJob } from '../../src/queues/jobs.js';
import type { Queues } from '../../src/queues/queues.js';
import { loadDigestInput } from '../../src/slack-app/fleet-view.js';
import { rememberBotThread } from '../../src/slack-app/threads.js';
import { type AlertEscalation, renderAlert } from '../../src/slack-messages/alert.js';
import { formatMentions } from '../../src/slack-messages/format.js';
import { renderStatusDigest } from '../../src/slack-messages/status-digest.js';
import type { Store } from '../../src/state/store.js';
import type { Incident } from '../../src/state/types.js';
import { suggestedActionFor } from './suggested-action.js';

/**
 * Every Slack write goes through here: at most about one message per second per channel, Slack's
 * 429 Retry-After honoured (the job waits without spending an attempt), other failures retried
 * with backoff by the queue so an alert survives a Slack outage.
 */
export interface NotifyDeps {
  client: webApi.WebClient;
  store: Store;
  queues: Queues;
  redis: Redis;
  prefix: string;
  fleet: Fleet;
  clock: Clock;
  logger: Logger;
  channelId: string;
  oncall: readonly string[];
  /** fetch for response_url posts (injectable for tests). */
  fetch?: typeof fetch;
}

const CHANNEL_INTERVAL_MS = 1000;
/** How long a post for an incident's thread waits for the alert before going to the channel. */
const ALERT_WAIT_MS = 120_000;

type Message = { text: string; blocks?: object[] | undefined };

/** Metadata event type of posts that must not be made twice. */
const POST_EVENT_TYPE = 'train_conductor_post';
/** Recent channel messages searched for an earlier attempt's post (it is minutes old at most). */
const HISTORY_LOOKBACK = 200;
/** Thread replies come oldest first: read as many as Slack gives in one page. */
const REPLIES_LOOKBACK = 1000;
/** How long an attempt's intent to post is remembered: longer than any retry schedule. */
const INTENT_TTL_MS = 7 * 86_400_000;

export function notifyProcessor(deps: NotifyDeps) {
  const doFetch = deps.fetch ?? fetch;

  /** Waits for the channel's one-per-second slot by moving the job back to delayed. */
  async function channelSlot(channel: string, job: Job, token: string | undefined): Promise<void> {
    const ok = await deps.redis.set(
      `${deps.prefix}:slack-slot:${channel}`,
      '1',
      'PX',
      CHANNEL_INTERVAL_MS,
      'NX',
    );
    if (ok === 'OK' || !token) return;
    await job.moveToDelayed(Date.now() + CHANNEL_INTERVAL_MS, token);
    throw new DelayedError();
  }

  async function slack<T>(job: Job, token: string | undefined, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      const e = err as { code?: string; retryAfter?: number; data?: { error?: string } };
      if (e.code === 'slack_webapi_rate_limited_error' && token) {
        await job.moveToDelayed(Date.now() + (e.retryAfter ?? 1) * 1000, token);
        throw new DelayedError();
      }
      const code = e.data?.error ?? e.code ?? 'unknown';
      // Errors no retry can fix: a bad request is dropped (and logged) rather than retried 25 times.
      if (
        [
          'invalid_blocks',
          'msg_too_long',
          'channel_not_found',
          'not_in_channel',
          'invalid_auth',
          'no_text',
        ].includes(code)
      ) {
        throw new UnrecoverableError(`slack ${code}`);
      }
      throw new SlackApiError(`slack call failed: ${code}`, code, e.retryAfter, { cause: err });
    }
  }

  /**
   * Posts a message. With `onceKey`, posts it at most once even when the worker dies between
   * Slack's answer and recording the ts (the retry would post it again): the message carries the
   * key in its metadata, and a retry that finds an earlier attempt's intent looks the message up
   * in the channel (or thread) before posting.
   */
  async function post(
    job: Job,
    token: string | undefined,
    channel: string,
    message: Message,
    threadTs?: string,
    onceKey?: string,
  ) {
    if (onceKey) {
      const earlier = await findEarlierPost(channel, onceKey, threadTs);
      if (earlier) return earlier;
    }
    await channelSlot(channel, job, token);
    if (onceKey) await deps.store.setMeta(`slack-intent:${onceKey}`, String(Date.now()), INTENT_TTL_MS);
    const result = await slack(job, token, () =>
      deps.client.chat.postMessage({
        channel,
        text: message.text,
        ...(message.blocks && { blocks: message.blocks as never }),
        ...(threadTs && { thread_ts: threadTs }),
        ...(onceKey && { metadata: { event_type: POST_EVENT_TYPE, event_payload: { key: onceKey } } }),
      }),
    );
    const ts = result.ts as string;
    if (!threadTs) await rememberBotThread(deps.store, channel, ts);
    return ts;
  }

  /** The ts of a message an earlier attempt posted under `key`, when one may exist. */
  async function findEarlierPost(channel: string, key: string, threadTs?: string): Promise<string | null> {
    if (!(await deps.store.getMeta(`slack-intent:${key}`))) return null;
    const page = threadTs
      ? await deps.client.conversations.replies({
          channel,
          ts: threadTs,
          limit: REPLIES_LOOKBACK,
          include_all_metadata: true,
        })
      : await deps.client.conversations.history({
          channel,
          limit: HISTORY_LOOKBACK,
          include_all_metadata: true,
        });
    const found = (page.messages ?? []).find(
      (m) =>
        m.metadata?.event_type === POST_EVENT_TYPE &&
        (m.metadata.event_payload as Record<string, unknown> | undefined)?.['key'] === key,
    );
    if (found?.ts) deps.logger.info({ key, ts: found.ts }, 'found the message an earlier attempt posted');
    return found?.ts ?? null;
  }

  async function alertMessage(incident: Incident): Promise<Message> {
    const [health, runSpec] = [
      await deps.store.getHealth(incident.run),
      deps.fleet.runs.find((r) => r.name === incident.run),
    ];
    let escalation: AlertEscalation | undefined;
    if (incident.escalated) {
      const windowHours = deps.fleet.thresholds.recurring_window_hours;
      const history = await deps.store.journal.recent(20, { run: incident.run });
      escalation = {
        count: (
          await deps.store.incidents.history(
            incident.run,
            incident.kind,
            deps.clock.now() - windowHours * 3_600_000,
          )
        ).length,
        windowHours,
        history: history.map((r) => r.entry),
      };
    }
    return renderAlert({
      incident,
      runSpec,
      health,
      suggestedAction: suggestedActionFor(incident.kind),
      oncall: deps.oncall,
      escalation,
      now: deps.clock.now(),
    });
  }

  const THREAD_NOTE: Record<string, (i: Incident) => string> = {
    updated: (i) => `Still ${i.kind} (${i.count} sweeps): ${i.message}`,
    acked: (i) => `:eyes: Acknowledged by <@${i.ackedBy ?? '?'}>.`,
    resolved: (i) => `:white_check_mark: Resolved after ${i.count} sweep(s).`,
    escalated: (i) =>
      `:rotating_light: ${formatMentions(deps.oncall)} ${i.kind} keeps recurring on ${i.run}: escalated to a human. The journal history is attached above.`,
  };

  async function incidentJob(
    data: Extract<NotifyJob, { kind: 'incident' }>,
    job: Job,
    token: string | undefined,
  ) {
    const incident = await deps.store.incidents.get(data.incidentId);
    if (!incident) return { skipped: 'incident gone' };
    const channel = incident.slack?.channel ?? deps.channelId;
    const message = await alertMessage(incident);

    if (data.change === 'repage') {
      if (incident.state !== 'open' || incident.ackedBy || !incident.slack)
        return { skipped: 'no longer needs paging' };
      await post(
        job,
        token,
        channel,
        {
          text: `:rotating_light: ${formatMentions(deps.oncall)} still unacknowledged: ${incident.run} ${incident.kind}`,
        },
        incident.slack.ts,
      );
      await deps.store.incidents.markPaged(incident.id);
      await scheduleRepage(incident);
      return { repaged: true };
    }

    if (!incident.slack) {
      const ts = await post(job, token, channel, message, undefined, `alert-${incident.id}`);
      await deps.store.incidents.setSlackRef(incident.id, { channel, ts });
      if (incident.severity === 'critical') {
        await deps.store.incidents.markPaged(incident.id);
        await scheduleRepage(incident);
      }
      if (data.change === 'opened') return { posted: ts };
    } else {
      await slack(job, token, () =>
        deps.client.chat.update({
          channel,
          ts: incident.slack!.ts,
          text: message.text,
          blocks: message.blocks as never,
        }),
      );
    }
    const note = THREAD_NOTE[data.change];
    const ref = (await deps.store.incidents.get(incident.id))?.slack;
    if (note && ref) await post(job, token, channel, { text: note(incident) }, ref.ts);
    return { updated: true };
  }

  async function scheduleRepage(incident: Incident) {
    const delayMs = (deps.fleet.thresholds.repage_minutes * 60_000) / deps.clock.speed;
    await deps.queues.enqueue(
      'notify',
      'repage',
      { kind: 'incident', incidentId: incident.id, change: 'repage' },
      { delay: delayMs, jobId: `repage-${incident.id}-${incident.lastPagedAt ?? incident.firstSeen}` },
    );
  }

  return async (data: NotifyJob, job: Job, token?: string): Promise<unknown> => {
    switch (data.kind) {
      case 'post': {
        if (data.refKey && (await deps.store.getMeta(`slack-ref:${data.refKey}`)))
          return { skipped: 'already posted' };
        let channel = data.channel;
        let threadTs = data.threadTs;
        if (data.incidentId && !threadTs) {
          const ref = (await deps.store.incidents.get(data.incidentId))?.slack;
          if (ref) {
            channel = ref.channel;
            threadTs = ref.ts;
          } else if (token && Date.now() - job.timestamp < ALERT_WAIT_MS) {
            // The alert is still on its way: wait for it rather than post outside its thread.
            await job.moveToDelayed(Date.now() + 500, token);
            throw new DelayedError();
          }
        }
        const ts = await post(job, token, channel, data, threadTs, data.refKey);
        if (data.refKey) await deps.store.setMeta(`slack-ref:${data.refKey}`, ts);
        if (data.ask) {
          await deps.queues.enqueue(
            'conductor',
            'thread',
            {
              kind: 'thread',
              channel,
              threadTs: ts,
              ts,
              user: data.ask.user,
              text: data.ask.text,
            },
            { jobId: `ask-${data.channel}-${ts.replace('.', '_')}` },
          );
        }
        return { ts };
      }
      case 'update':
        // Only new messages count against the per-channel pace: edits are a separate, larger budget.
        await slack(job, token, () =>
          deps.client.chat.update({
            channel: data.channel,
            ts: data.ts,
            text: data.text,
            ...(data.blocks && { blocks: data.blocks as never }),
          }),
        );
        return { updated: data.ts };
      case 'ephemeral':
        await slack(job, token, () =>
          deps.client.chat.postEphemeral({ channel: data.channel, user: data.user, text: data.text }),
        );
        return { sent: true };
      case 'response': {
        const res = await doFetch(data.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(data.body),
        });
        if (res.status === 404 || res.status === 400)
          throw new UnrecoverableError(`response_url answered ${res.status}`);
        if (!res.ok) throw new SlackApiError(`response_url answered ${res.status}`, String(res.status));
        return { status: res.status };
      }
      case 'incident':
        return incidentJob(data, job, token);
      case 'digest': {
        const channel = data.channel ?? deps.channelId;
        const digest = renderStatusDigest(await loadDigestInput(deps.store, deps.fleet, deps.clock.now()));
        return { ts: await post(job, token, channel, digest) };
      }
    }
  };
}
