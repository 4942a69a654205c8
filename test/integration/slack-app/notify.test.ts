import { afterEach, describe, expect, it } from 'vitest';
import { notifyProcessor } from '../../../agents/notify/processor.js';
import { scaledClock } from '../../../src/clock.js';
import { slackWebClient } from '../../../src/service/slack-app.js';
import { type LocalSlack, startLocalSlack } from '../../../src/sim/slack/index.js';
import type { Incident } from '../../../src/state/types.js';
import { type TestContext, testContext } from '../../helpers/app-context.js';

const SECRET = 'notify-test-secret';
const TOKEN = 'xoxb-notify-test';
const CHANNEL = 'CTRAINOPS';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A context whose clock runs 900x: the 15-minute re-page delay passes in one real second. */
async function setup(speed = 900, patch?: (client: ReturnType<typeof slackWebClient>) => void) {
  const ctx: TestContext = testContext({ label: 'notify', clock: scaledClock(speed) });
  const slack: LocalSlack = await startLocalSlack({ signingSecret: SECRET, botToken: TOKEN });
  const client = slackWebClient({ botToken: TOKEN, apiUrl: slack.url });
  patch?.(client);
  ctx.queues.work(
    'notify',
    notifyProcessor({
      client,
      store: ctx.store,
      queues: ctx.queues,
      redis: ctx.redis,
      prefix: ctx.config.keyPrefix,
      fleet: ctx.config.fleet,
      clock: ctx.clock,
      logger: ctx.logger,
      channelId: CHANNEL,
      oncall: ['SONCALL'],
    }),
    { concurrency: 4 },
  );
  cleanups.push(async () => {
    await ctx.cleanup();
    await slack.close();
  });
  const topLevel = () => slack.messages(CHANNEL).filter((m) => !m.threadTs && !m.ephemeralTo);
  const replies = (ts: string) => slack.messages(CHANNEL).filter((m) => m.threadTs === ts);
  return { ctx, slack, topLevel, replies };
}

async function openIncident(ctx: TestContext, severity: Incident['severity'] = 'critical') {
  const { incident } = await ctx.store.incidents.openOrUpdate({
    run: 'mosaic_moe',
    kind: 'preempted',
    severity,
    message: 'bid instance 42 was stopped by Vast (outbid)',
  });
  return incident;
}

describe('notify: alerts and paging', () => {
  it('posts one alert per incident, pages on-call, updates it in place and threads the changes', async () => {
    const { ctx, slack, topLevel, replies } = await setup(1);
    const incident = await openIncident(ctx);
    await ctx.queues.enqueue('notify', 'incident', {
      kind: 'incident',
      incidentId: incident.id,
      change: 'opened',
    });
    const alert = await slack.waitFor(() => topLevel()[0], 5000);
    expect(alert.text).toContain('<!subteam^SONCALL>');
    expect(alert.text).toContain('mosaic_moe');
    for (let i = 0; i < 3; i++) {
      await ctx.store.incidents.openOrUpdate({
        run: 'mosaic_moe',
        kind: 'preempted',
        severity: 'critical',
        message: 'still down',
      });
      await ctx.queues.enqueue('notify', 'incident', {
        kind: 'incident',
        incidentId: incident.id,
        change: 'updated',
      });
    }
    await ctx.store.incidents.resolve(incident.id);
    await ctx.queues.enqueue('notify', 'incident', {
      kind: 'incident',
      incidentId: incident.id,
      change: 'resolved',
    });
    await slack.waitFor(() => replies(alert.ts).some((m) => /Resolved/.test(m.text)), 20_000);
    expect(topLevel()).toHaveLength(1);
    const final = topLevel()[0]!;
    expect(final.edited).toBeDefined();
    expect(JSON.stringify(final.blocks)).not.toContain('incident_ack');
    expect((await ctx.store.incidents.get(incident.id))?.slack?.ts).toBe(alert.ts);
  });

  it('posts an alert once even when the worker dies after Slack answered and before the ts was saved', async () => {
    let deaths = 0;
    const { ctx, slack, topLevel } = await setup(1, (client) => {
      const real = client.chat.postMessage.bind(client.chat);
      client.chat.postMessage = (async (args: Parameters<typeof real>[0]) => {
        const answer = await real(args);
        if (deaths === 0) {
          deaths += 1;
          throw new Error('worker killed between chat.postMessage and recording its ts');
        }
        return answer;
      }) as typeof real;
    });
    const incident = await openIncident(ctx);
    await ctx.queues.enqueue('notify', 'incident', {
      kind: 'incident',
      incidentId: incident.id,
      change: 'opened',
    });
    // The retry (after the queue's 1 s backoff) finds the first post by its metadata.
    await expect
      .poll(async () => (await ctx.store.incidents.get(incident.id))?.slack, { timeout: 10_000 })
      .toBeDefined();
    expect(deaths).toBe(1);
    const alerts = topLevel();
    expect(alerts).toHaveLength(1);
    expect((await ctx.store.incidents.get(incident.id))?.slack?.ts).toBe(alerts[0]?.ts);
    // Later changes update that one message in place.
    await ctx.queues.enqueue('notify', 'incident', {
      kind: 'incident',
      incidentId: incident.id,
      change: 'resolved',
    });
    await expect
      .poll(() => slack.messages(CHANNEL).filter((m) => m.threadTs === alerts[0]?.ts).length)
      .toBe(1);
    expect(topLevel()).toHaveLength(1);
  });

  it('warning alerts do not page', async () => {
    const { ctx, slack, topLevel } = await setup(1);
    const incident = await openIncident(ctx, 'warning');
    await ctx.queues.enqueue('notify', 'incident', {
      kind: 'incident',
      incidentId: incident.id,
      change: 'opened',
    });
    const alert = await slack.waitFor(() => topLevel()[0], 5000);
    expect(alert.text).not.toContain('<!subteam^');
  });

  it('re-pages an unacknowledged critical alert after the delay, and stops once acknowledged', async () => {
    const { ctx, slack, topLevel, replies } = await setup(900);
    const incident = await openIncident(ctx);
    await ctx.queues.enqueue('notify', 'incident', {
      kind: 'incident',
      incidentId: incident.id,
      change: 'opened',
    });
    const alert = await slack.waitFor(() => topLevel()[0], 5000);
    const repage = await slack.waitFor(
      () => replies(alert.ts).find((m) => /still unacknowledged/.test(m.text)),
      8000,
    );
    expect(repage.text).toContain('<!subteam^SONCALL>');
    await ctx.store.incidents.ack(incident.id, 'UAPPROVER');
    const pagesAtAck = replies(alert.ts).filter((m) => /still unacknowledged/.test(m.text)).length;
    await new Promise((r) => setTimeout(r, 2500));
    expect(replies(alert.ts).filter((m) => /still unacknowledged/.test(m.text)).length).toBeLessThanOrEqual(
      pagesAtAck + 1,
    );
    const later = replies(alert.ts).filter((m) => /still unacknowledged/.test(m.text)).length;
    await new Promise((r) => setTimeout(r, 2000));
    expect(replies(alert.ts).filter((m) => /still unacknowledged/.test(m.text)).length).toBe(later);
  });
});

describe('notify: Slack limits', () => {
  it('keeps about one message per second per channel', async () => {
    const { ctx, slack } = await setup(1);
    for (let i = 0; i < 4; i++) {
      await ctx.queues.enqueue('notify', 'post', { kind: 'post', channel: CHANNEL, text: `message ${i}` });
    }
    await slack.waitFor(() => slack.messages(CHANNEL).length >= 4, 10_000);
    const posts = slack
      .apiCalls()
      .filter((c) => c.method === 'chat.postMessage' && c.ok)
      .map((c) => c.at);
    const gaps = posts.slice(1).map((t, i) => t - (posts[i] ?? t));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(900);
  });

  it('honours a 429 Retry-After without spending attempts, and the message still arrives', async () => {
    const { ctx, slack } = await setup(1);
    slack.setRateLimit({ perMethodPerMinute: 1 });
    await ctx.queues.enqueue('notify', 'post', { kind: 'post', channel: CHANNEL, text: 'first' });
    await slack.waitFor(() => slack.messages(CHANNEL).length === 1, 5000);
    await new Promise((r) => setTimeout(r, 1100));
    const job = await ctx.queues.enqueue('notify', 'post', {
      kind: 'post',
      channel: CHANNEL,
      text: 'second',
    });
    await slack.waitFor(() => slack.apiCalls().some((c) => c.status === 429), 5000);
    const queue = ctx.queues.queue('notify');
    await expect
      .poll(async () => (await queue.getJob(job.id!))?.delay ?? 0, { timeout: 5000 })
      .toBeGreaterThan(30_000);
    const delayed = await queue.getJob(job.id!);
    expect(delayed?.attemptsMade).toBe(0);
    slack.setRateLimit(undefined);
    await delayed?.promote();
    await slack.waitFor(() => slack.messages(CHANNEL).some((m) => m.text === 'second'), 5000);
  });
});
