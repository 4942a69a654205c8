import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { remoteProbe } from '../../agents/monitor/probe.js';
import { ConfigError, SlackApiError } from '../../src/errors.js';
import { createLlmClient } from '../../src/infra/llm/client.js';
import {
  type RunningSlackApp,
  type SlackSettings,
  slackWebClient,
  startSlackApp,
} from '../../src/service/slack-app.js';
import { startWorkers } from '../../src/service/workers.js';
import { type FakeAnthropic, fakeReply, startFakeAnthropic } from '../../src/sim/llm/index.js';
import {
  APPROVER_USER_ID,
  DEFAULT_BOT_USER_ID,
  type DeliveryRecord,
  type LocalSlack,
  startLocalSlack,
  VIEWER_USER_ID,
} from '../../src/sim/slack/index.js';
import { encodeApproveValue } from '../../src/slack-messages/proposal.js';
import { type TestContext, testContext } from '../helpers/app-context.js';

/**
 * The real Bolt app in Socket Mode against the local Slack's Socket Mode server: the app opens its
 * WebSocket through apps.connections.open at SLACK_API_URL, and commands, clicks and events reach
 * it as envelopes over that socket only (the app has no /slack/events at all).
 */

const CHANNEL = 'CTRAINOPS';
const BOT_TOKEN = 'xoxb-socket-mode-test';
const APP_TOKEN = 'xapp-1-ACONDUCTOR-1-socketmodetest';
const SIGNING_SECRET = 'socket-mode-test-unused-secret';
const LLM_KEY = 'sk-ant-socket-mode-test-0123456789';

const socketAcks = (slack: LocalSlack, since = 0): DeliveryRecord[] =>
  slack
    .deliveries()
    .slice(since)
    .filter((d) => d.transport === 'socket_mode' && d.outcome === 'acked');

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function textOf(body: unknown): string {
  return JSON.stringify(body);
}

describe('the app in Socket Mode (real Bolt, local Slack, real Redis)', () => {
  let ctx: TestContext;
  let slack: LocalSlack;
  let app: RunningSlackApp;
  let fake: FakeAnthropic;
  let settings: SlackSettings;

  beforeAll(async () => {
    fake = await startFakeAnthropic({ apiKey: LLM_KEY });
    ctx = testContext({ label: 'sock' });
    slack = await startLocalSlack({
      signingSecret: SIGNING_SECRET,
      botToken: BOT_TOKEN,
      appToken: APP_TOKEN,
    });
    settings = {
      botToken: BOT_TOKEN,
      appToken: APP_TOKEN,
      apiUrl: slack.url,
      channelId: CHANNEL,
      oncall: ['SONCALL'],
      approvers: ['SAPPROVERS'],
      port: 0,
    };
    app = await startSlackApp(ctx, settings);
    await startWorkers(ctx, {
      probe: remoteProbe,
      slackClient: slackWebClient(settings),
      slack: settings,
      schedule: false,
      llm: createLlmClient({ ...ctx.config.anthropic, apiKey: LLM_KEY, baseUrl: fake.url }),
    });
  }, 30_000);

  afterAll(async () => {
    await app?.stop();
    await slack?.close();
    await ctx?.cleanup();
    await fake?.close();
  });

  async function proposal() {
    return ctx.store.proposals.create({
      run: 'mosaic_moe',
      action: 'migrate',
      reason: 'outbid',
      params: { offerIds: [101, 102] },
      createdBy: 'ops',
      ttlMs: 600_000,
    });
  }

  async function postedApproveButton(value: string): Promise<string> {
    const posted = await app.client.chat.postMessage({
      channel: CHANNEL,
      text: 'proposal',
      blocks: [
        {
          type: 'actions',
          elements: [
            {
              type: 'button',
              action_id: 'proposal_approve',
              text: { type: 'plain_text', text: 'Approve' },
              value,
            },
          ],
        },
      ],
    });
    return posted.ts as string;
  }

  const opsJobCount = () =>
    ctx.queues.queue('ops').getJobCountByTypes('waiting', 'active', 'delayed', 'completed', 'failed');

  it('connects through apps.connections.open at SLACK_API_URL with the app-level token', () => {
    const opens = slack.apiCalls().filter((c) => c.method === 'apps.connections.open');
    expect(opens).toHaveLength(1);
    expect(opens[0]).toMatchObject({ ok: true, status: 200 });
    expect(slack.openSocketConnections()).toBe(1);
  });

  it('acks /train status over the socket and answers through the response_url', async () => {
    const before = slack.deliveries().length;
    const result = await slack.sendCommand({ user: VIEWER_USER_ID, channel: CHANNEL, text: '/train status' });
    expect(result).toMatchObject({ status: 200, outcome: 'acked' });
    expect(result.latencyMs).toBeLessThan(3000);
    expect(slack.deliveries().slice(before)).toEqual([
      expect.objectContaining({
        kind: 'slash_command',
        label: '/train',
        transport: 'socket_mode',
        attempt: 0,
      }),
    ]);
    const answer = await slack.waitFor(() => result.responseUrlPosts[0], 10_000);
    expect(answer.status).toBe(200);
    expect(textOf(answer.body)).toMatch(/mosaic_moe/);
  });

  it('the app has no HTTP endpoint for Slack: the sidecar serves /healthz and /metrics only', async () => {
    const base = `http://127.0.0.1:${app.port}`;
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, redis: 'up' });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/tc_slack_ack_seconds_count\{kind="command"\} [1-9]/);
    const events = await fetch(`${base}/slack/events`, { method: 'POST', body: 'x' });
    expect(events.status).toBe(404);
  });

  it('refuses a non-approver click: acked over the socket, refusal to the clicker, no job', async () => {
    const p = await proposal();
    const value = encodeApproveValue(p.id, 101) ?? '';
    const ts = await postedApproveButton(value);
    const click = await slack.clickButton({
      user: VIEWER_USER_ID,
      channel: CHANNEL,
      ts,
      actionId: 'proposal_approve',
      value,
    });
    expect(click).toMatchObject({ status: 200, outcome: 'acked' });
    const refusal = await slack.waitFor(() => click.responseUrlPosts[0], 10_000);
    expect(textOf(refusal.body)).toMatch(/Only approvers can approve/);
    expect(await ctx.store.proposals.get(p.id)).not.toBeNull();
    expect(await opsJobCount()).toBe(0);
  });

  it('ten concurrent clicks of one Approve start exactly one job', async () => {
    const p = await proposal();
    const value = encodeApproveValue(p.id, 102) ?? '';
    const ts = await postedApproveButton(value);
    const before = slack.deliveries().length;
    const clicks = await Promise.all(
      Array.from({ length: 10 }, () =>
        slack.clickButton({
          user: APPROVER_USER_ID,
          channel: CHANNEL,
          ts,
          actionId: 'proposal_approve',
          value,
        }),
      ),
    );
    expect(clicks.map((c) => c.outcome)).toEqual(Array(10).fill('acked'));
    const clickAcks = () => socketAcks(slack, before).filter((d) => d.kind === 'block_actions');
    expect(clickAcks()).toHaveLength(10);
    await expect.poll(opsJobCount, { timeout: 10_000 }).toBe(1);
    await new Promise((r) => setTimeout(r, 500));
    expect(await opsJobCount()).toBe(1);
    const jobs = await ctx.queues
      .queue('ops')
      .getJobs(['waiting', 'active', 'delayed', 'completed', 'failed']);
    expect(jobs[0]?.data).toMatchObject({ action: 'migrate', run: 'mosaic_moe', offerId: 102 });
    const approvals = await ctx.store.journal.recent(50, { type: 'APPROVED' });
    expect(approvals.filter((r) => r.entry.details?.['proposal'] === p.id)).toHaveLength(1);
    const latencies = clickAcks().map((d) => d.latencyMs);
    console.info(
      `socket mode: 10 concurrent clicks acked, p50 ${percentile(latencies, 50)} ms, max ${Math.max(...latencies)} ms`,
    );
  });

  it('answers an @mention once, in its thread (app_mention and message both came over the socket)', async () => {
    fake.enqueue(fakeReply.text('mosaic_moe is training on its instance.'));
    const requestsBefore = fake.requests.length;
    const posted = await slack.postUserMessage({
      user: VIEWER_USER_ID,
      channel: CHANNEL,
      text: `<@${DEFAULT_BOT_USER_ID}> how is mosaic_moe?`,
    });
    expect(posted.deliveries.map((d) => d.outcome)).toEqual(['acked', 'acked']);
    const replies = () =>
      slack.messages(CHANNEL).filter((m) => m.threadTs === posted.ts && m.user === DEFAULT_BOT_USER_ID);
    const reply = await slack.waitFor(() => replies()[0], 15_000);
    expect(reply.text).toBe('mosaic_moe is training on its instance.');
    await new Promise((r) => setTimeout(r, 1500));
    expect(replies()).toHaveLength(1);
    expect(fake.requests.length - requestsBefore).toBe(1);
  });

  it('reconnects after Slack sends disconnect (refresh_requested), and the next command still works', async () => {
    const opensBefore = slack.apiCalls().filter((c) => c.method === 'apps.connections.open').length;
    const [first] = slack.socketConnections().filter((c) => c.closedAt === undefined);
    const asked = Date.now();
    expect(slack.sendSocketDisconnect('refresh_requested')).toBe(1);
    // The client closes at once and reconnects after its back-off (clientPingTimeout, 5 s).
    await slack.waitFor(
      () => slack.socketConnections().length === (first?.id ?? 0) + 1 && slack.openSocketConnections() === 1,
      15_000,
    );
    const gapMs = Date.now() - asked;
    const old = slack.socketConnections().find((c) => c.id === first?.id);
    expect(old?.closedAt).toBeDefined();
    expect(old?.closeCode).toBe(1000);
    expect(slack.apiCalls().filter((c) => c.method === 'apps.connections.open')).toHaveLength(
      opensBefore + 1,
    );
    const result = await slack.sendCommand({ user: VIEWER_USER_ID, channel: CHANNEL, text: '/train help' });
    expect(result).toMatchObject({ status: 200, outcome: 'acked' });
    const answer = await slack.waitFor(() => result.responseUrlPosts[0], 10_000);
    expect(textOf(answer.body)).toMatch(/\/train status/);
    console.info(`socket mode: reconnected ${gapMs} ms after the disconnect message`);
  }, 30_000);

  it('reports the ack latencies of every socket delivery', () => {
    const acked = socketAcks(slack);
    expect(acked.length).toBeGreaterThanOrEqual(15);
    expect(slack.deliveries().every((d) => d.transport === 'socket_mode')).toBe(true);
    const latencies = acked.map((d) => d.latencyMs);
    expect(Math.max(...latencies)).toBeLessThan(3000);
    console.info(
      `socket mode: ${acked.length} acks, p50 ${percentile(latencies, 50)} ms, p95 ${percentile(latencies, 95)} ms, max ${Math.max(...latencies)} ms`,
    );
  });

  it('stop() closes the socket with a close handshake', async () => {
    const open = slack.socketConnections().filter((c) => c.closedAt === undefined);
    expect(open).toHaveLength(1);
    await app.stop();
    await slack.waitFor(() => slack.openSocketConnections() === 0, 5000);
    expect(slack.socketConnections().find((c) => c.id === open[0]?.id)?.closeCode).toBe(1000);
    // Nothing reconnects after a stop.
    await new Promise((r) => setTimeout(r, 500));
    expect(slack.openSocketConnections()).toBe(0);
  });
});

describe('Socket Mode start-up failures', () => {
  let ctx: TestContext;
  let slack: LocalSlack;

  beforeAll(async () => {
    ctx = testContext({ label: 'sockfail' });
    slack = await startLocalSlack({
      signingSecret: SIGNING_SECRET,
      botToken: BOT_TOKEN,
      appToken: APP_TOKEN,
    });
  });

  afterAll(async () => {
    await slack?.close();
    await ctx?.cleanup();
  });

  const base = (): SlackSettings => ({
    botToken: BOT_TOKEN,
    apiUrl: slack.url,
    channelId: CHANNEL,
    oncall: ['SONCALL'],
    approvers: ['SAPPROVERS'],
    port: 0,
  });

  it('a wrong app-level token stops start-up at once with an error naming SLACK_APP_TOKEN', async () => {
    const started = Date.now();
    const failure = await startSlackApp(ctx, { ...base(), appToken: 'xapp-1-ACONDUCTOR-1-wrong' }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as Error).message).toMatch(/^environment: SLACK_APP_TOKEN: refused by Slack/);
    expect((failure as Error).message).toMatch(/invalid_auth/);
    expect((failure as Error).message).toContain(slack.url);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(slack.openSocketConnections()).toBe(0);
  });

  it('a Slack that never says hello fails start-up after the connect deadline, not a hang', async () => {
    // apps.connections.open answers, but the WebSocket behind the URL stays silent.
    const silent = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => silent.once('listening', () => resolve()));
    const wsPort = (silent.address() as AddressInfo).port;
    const api: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, url: `ws://127.0.0.1:${wsPort}/link/?ticket=t` }));
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', () => resolve()));
    const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}/api/`;
    try {
      const started = Date.now();
      const failure = await startSlackApp(ctx, {
        ...base(),
        apiUrl,
        appToken: APP_TOKEN,
        socketConnectTimeoutMs: 1500,
      }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failure).toBeInstanceOf(SlackApiError);
      expect((failure as Error).message).toMatch(/no connection to Slack within 1500 ms/);
      expect(Date.now() - started).toBeLessThan(8000);
    } finally {
      await new Promise((r) => api.close(r));
      for (const client of silent.clients) client.terminate();
      await new Promise((r) => silent.close(r));
    }
  });
});

describe('local Slack Socket Mode protocol (raw WebSocket client)', () => {
  let slack: LocalSlack;

  beforeAll(async () => {
    slack = await startLocalSlack({
      signingSecret: SIGNING_SECRET,
      botToken: BOT_TOKEN,
      appToken: APP_TOKEN,
      ackTimeoutMs: 400,
      retries: { delaysMs: [50, 50, 50] },
    });
  });

  afterAll(async () => {
    await slack?.close();
  });

  async function api(method: string, token?: string) {
    const res = await fetch(`${slack.url}${method}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(token !== undefined && { authorization: `Bearer ${token}` }),
      },
      body: '',
    });
    return (await res.json()) as { ok: boolean; error?: string; url?: string };
  }

  /** A connection with every message it receives; resolves after `hello`. */
  async function connect(url: string) {
    const ws = new WebSocket(url);
    const received: Record<string, unknown>[] = [];
    ws.on('message', (data) => received.push(JSON.parse(data.toString()) as Record<string, unknown>));
    await new Promise<void>((resolve, reject) => {
      ws.once('error', reject);
      ws.once('open', () => resolve());
    });
    await slack.waitFor(() => received.find((m) => m['type'] === 'hello'));
    return { ws, received };
  }

  it('apps.connections.open takes the app-level token only, as Slack does', async () => {
    expect(await api('apps.connections.open')).toEqual({ ok: false, error: 'not_authed' });
    expect(await api('apps.connections.open', BOT_TOKEN)).toEqual({
      ok: false,
      error: 'not_allowed_token_type',
    });
    expect(await api('apps.connections.open', 'xapp-1-ACONDUCTOR-1-other')).toEqual({
      ok: false,
      error: 'invalid_auth',
    });
    expect(await api('auth.test', APP_TOKEN)).toEqual({ ok: false, error: 'not_allowed_token_type' });
    const opened = await api('apps.connections.open', APP_TOKEN);
    expect(opened.ok).toBe(true);
    expect(opened.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/link\/\?ticket=[0-9a-f]{32}&app_id=ACONDUCTOR$/);
  });

  it('says hello on connect, and a ticket works once', async () => {
    const { url } = await api('apps.connections.open', APP_TOKEN);
    const { ws, received } = await connect(url ?? '');
    expect(received[0]).toMatchObject({
      type: 'hello',
      num_connections: 1,
      connection_info: { app_id: 'ACONDUCTOR' },
      debug_info: { host: expect.any(String) },
    });
    const replay = new WebSocket(url ?? '');
    const status = await new Promise<number>((resolve) => {
      replay.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      replay.once('open', () => resolve(101));
    });
    expect(status).toBe(401);
    ws.close();
    await slack.waitFor(() => slack.openSocketConnections() === 0);
  });

  it('sends a slash command as a slash_commands envelope; the ack payload is the immediate answer', async () => {
    const { url } = await api('apps.connections.open', APP_TOKEN);
    const { ws, received } = await connect(url ?? '');
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as { envelope_id?: string; type: string };
      if (m.type === 'slash_commands')
        ws.send(JSON.stringify({ envelope_id: m.envelope_id, payload: { text: 'pong from the socket' } }));
    });
    const result = await slack.sendCommand({ user: VIEWER_USER_ID, channel: CHANNEL, text: '/train ping' });
    expect(result).toMatchObject({ status: 200, outcome: 'acked', body: { text: 'pong from the socket' } });
    const envelope = received.find((m) => m['type'] === 'slash_commands');
    expect(envelope).toMatchObject({
      envelope_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      accepts_response_payload: true,
      payload: {
        command: '/train',
        text: 'ping',
        user_id: VIEWER_USER_ID,
        channel_id: CHANNEL,
        team_id: slack.teamId,
        api_app_id: 'ACONDUCTOR',
        response_url: result.responseUrl,
      },
    });
    const shown = slack.messages(CHANNEL).filter((m) => m.ephemeralTo === VIEWER_USER_ID);
    expect(shown.at(-1)?.text).toBe('pong from the socket');
    ws.close();
    await slack.waitFor(() => slack.openSocketConnections() === 0);
  });

  it('an event not acked in time is a timeout and is retried with retry_attempt and retry_reason', async () => {
    const { url } = await api('apps.connections.open', APP_TOKEN);
    const { ws, received } = await connect(url ?? '');
    // Ack only the second attempt, like an app that was busy the first time.
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as { envelope_id?: string; type: string; retry_attempt?: number };
      if (m.type === 'events_api' && m.retry_attempt === 1)
        ws.send(JSON.stringify({ envelope_id: m.envelope_id }));
    });
    const before = slack.deliveries().length;
    const posted = await slack.postUserMessage({
      user: VIEWER_USER_ID,
      channel: CHANNEL,
      text: 'hello there',
    });
    expect(posted.deliveries.map((d) => d.outcome)).toEqual(['http_timeout']);
    await slack.waitFor(
      () =>
        slack
          .deliveries()
          .slice(before)
          .find((d) => d.outcome === 'acked'),
      3000,
    );
    const attempts = slack.deliveries().slice(before);
    expect(attempts.map((d) => [d.attempt, d.outcome, d.retryReason])).toEqual([
      [0, 'http_timeout', undefined],
      [1, 'acked', 'http_timeout'],
    ]);
    expect(attempts[0]?.latencyMs).toBeGreaterThanOrEqual(400);
    const envelopes = received.filter((m) => m['type'] === 'events_api');
    expect(
      envelopes.map((e) => [e['retry_attempt'], e['retry_reason'], e['accepts_response_payload']]),
    ).toEqual([
      [0, '', false],
      [1, 'http_timeout', false],
    ]);
    expect(envelopes[0]?.['envelope_id']).not.toBe(envelopes[1]?.['envelope_id']);
    expect(envelopes[0]?.['payload']).toMatchObject({
      type: 'event_callback',
      event: { type: 'message', text: 'hello there', ts: posted.ts },
    });
    const eventIds = envelopes.map((e) => (e['payload'] as { event_id?: string } | undefined)?.event_id);
    expect(eventIds[1]).toBe(eventIds[0]);
    ws.close();
    await slack.waitFor(() => slack.openSocketConnections() === 0);
  });

  it('with no app connected a command fails as dispatch_failed, as in Slack', async () => {
    const result = await slack.sendCommand({ user: VIEWER_USER_ID, channel: CHANNEL, text: '/train status' });
    expect(result).toMatchObject({ status: 0, outcome: 'connection_failed' });
    const notice = slack
      .messages(CHANNEL)
      .filter((m) => m.ephemeralTo === VIEWER_USER_ID)
      .at(-1);
    expect(notice?.text).toBe('/train failed with the error "dispatch_failed"');
  });

  it("sends Slack's disconnect message with its reason; the client closes with a handshake", async () => {
    const { url } = await api('apps.connections.open', APP_TOKEN);
    const { ws, received } = await connect(url ?? '');
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    expect(slack.sendSocketDisconnect('warning')).toBe(1);
    await slack.waitFor(() => received.find((m) => m['type'] === 'disconnect'));
    expect(received.find((m) => m['type'] === 'disconnect')).toMatchObject({
      type: 'disconnect',
      reason: 'warning',
    });
    ws.close(1000);
    expect(await closed).toBe(1000);
    await slack.waitFor(() => slack.openSocketConnections() === 0);
  });
});
