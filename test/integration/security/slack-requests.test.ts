import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RunningSlackApp, startSlackApp } from '../../../src/service/slack-app.js';
import {
  APPROVER_USER_ID,
  type LocalSlack,
  startLocalSlack,
  VIEWER_USER_ID,
} from '../../../src/sim/slack/index.js';
import { slackSignature } from '../../../src/sim/slack/signing.js';
import { ACTION_IDS } from '../../../src/slack-messages/blocks.js';
import { encodeApproveValue } from '../../../src/slack-messages/proposal.js';
import {
  type CapturedRequest,
  recordingProxy,
  replay,
  type SecurityContext,
  securityContext,
} from './harness.js';

/**
 * Requests that must not do anything, over real HTTP against the real Bolt app: forged and
 * replayed Slack requests, approvals by the wrong people, and proposal ids that were guessed,
 * tampered with or already used.
 */

const SECRET = 'sec-requests-signing-secret-5d4c';
const TOKEN = 'xoxb-sec-requests-token-9a8b';
const CHANNEL = 'CTRAINOPS';
const JOB_STATES = ['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized'] as const;

let ctx: SecurityContext;
let slack: LocalSlack;
let app: RunningSlackApp;
let proxy: Awaited<ReturnType<typeof recordingProxy>>;
let appUrl: string;

beforeAll(async () => {
  ctx = securityContext({
    label: 'secreq',
    env: { SLACK_BOT_TOKEN: TOKEN, SLACK_SIGNING_SECRET: SECRET, SLACK_CHANNEL_ID: CHANNEL },
  });
  slack = await startLocalSlack({ signingSecret: SECRET, botToken: TOKEN });
  app = await startSlackApp(ctx, {
    botToken: TOKEN,
    signingSecret: SECRET,
    apiUrl: slack.url,
    channelId: CHANNEL,
    oncall: ['SONCALL'],
    approvers: ['SAPPROVERS'],
    port: 0,
  });
  appUrl = `http://127.0.0.1:${app.port}`;
  proxy = await recordingProxy(() => appUrl);
  slack.setAppUrl(proxy.url);
});

afterEach(() => {
  vi.useRealTimers();
});

afterAll(async () => {
  await proxy?.close();
  await app?.stop();
  await slack?.close();
  await ctx?.cleanup();
});

/** Every job in the queues that act: nothing may be here after a refused request. */
async function actingJobs() {
  const jobs = await Promise.all(
    (['healer', 'ops', 'monitor'] as const).map((q) => ctx.queues.queue(q).getJobs([...JOB_STATES])),
  );
  return jobs.flat();
}

/** Texts the app queued for Slack (the refusals go through the notify queue). */
async function notifyTexts(): Promise<string> {
  const jobs = await ctx.queues.queue('notify').getJobs([...JOB_STATES]);
  return jobs.map((j) => JSON.stringify(j.data)).join('\n');
}

async function drainQueues() {
  for (const q of ['healer', 'ops', 'monitor', 'notify'] as const)
    await ctx.queues.queue(q).obliterate({ force: true });
}

async function proposal(offerIds = [101, 102]) {
  return ctx.store.proposals.create({
    run: 'mosaic_moe',
    action: 'migrate',
    reason: 'outbid',
    params: { offerIds },
    createdBy: 'ops',
    ttlMs: 600_000,
  });
}

/** A message holding an Approve button with this value, as the proposal message would. */
async function buttonMessage(value: string): Promise<string> {
  const posted = await app.client.chat.postMessage({
    channel: CHANNEL,
    text: 'proposal',
    blocks: [
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            action_id: ACTION_IDS.proposalApprove,
            text: { type: 'plain_text', text: 'Approve' },
            value,
          },
        ],
      },
    ],
  });
  return posted.ts as string;
}

async function click(user: string, value: string) {
  const ts = await buttonMessage(value);
  const result = await slack.clickButton({
    user,
    channel: CHANNEL,
    ts,
    actionId: ACTION_IDS.proposalApprove,
    value,
  });
  expect(result.status).toBe(200);
  return result;
}

/** The request the proxy captured last whose body contains `marker`. */
function capturedWith(marker: string): CapturedRequest {
  const found = proxy.captured.filter((r) => r.body.includes(marker)).at(-1);
  if (!found) throw new Error(`no captured request contains ${marker}`);
  return found;
}

const formBody = (text: string) =>
  new URLSearchParams({
    command: '/train',
    text,
    user_id: APPROVER_USER_ID,
    channel_id: CHANNEL,
    response_url: `${slack.origin}/response/forged`,
  }).toString();

describe('forged Slack requests', () => {
  const post = (headers: Record<string, string>, body: string) =>
    fetch(`${appUrl}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body,
    });
  const now = () => Math.floor(Date.now() / 1000);

  it('rejects a wrong-secret signature, a tampered body, a moved timestamp and missing headers with 401, doing nothing', async () => {
    await drainQueues();
    const body = formBody('restart mosaic_moe');
    const ts = now();
    const cases: [string, Record<string, string>, string][] = [
      [
        'wrong secret',
        {
          'x-slack-request-timestamp': String(ts),
          'x-slack-signature': slackSignature('not-the-secret', ts, body),
        },
        body,
      ],
      [
        'tampered body',
        {
          'x-slack-request-timestamp': String(ts),
          'x-slack-signature': slackSignature(SECRET, ts, formBody('status')),
        },
        body,
      ],
      [
        'timestamp changed after signing',
        {
          'x-slack-request-timestamp': String(ts + 1),
          'x-slack-signature': slackSignature(SECRET, ts, body),
        },
        body,
      ],
      ['no signature', { 'x-slack-request-timestamp': String(ts) }, body],
      ['no timestamp', { 'x-slack-signature': slackSignature(SECRET, ts, body) }, body],
      ['garbage signature', { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': 'v0=00' }, body],
      [
        'v1 scheme',
        {
          'x-slack-request-timestamp': String(ts),
          'x-slack-signature': slackSignature(SECRET, ts, body).replace('v0=', 'v1='),
        },
        body,
      ],
    ];
    for (const [name, headers, b] of cases) {
      const res = await post(headers, b);
      expect(res.status, name).toBe(401);
    }
    expect(await actingJobs()).toEqual([]);
    expect(await notifyTexts()).toBe('');
    // Bolt's refusal is logged through the service logger as JSON, not printed on the console.
    const refusals = ctx.logLines.map((l) => JSON.parse(l) as { component?: string; msg?: string });
    expect(refusals.some((r) => r.component === 'bolt' && /verify authenticity/i.test(r.msg ?? ''))).toBe(
      true,
    );
    expect(ctx.logLines.join('\n')).not.toContain(SECRET);
  });

  it('rejects a correctly signed request whose timestamp is over 5 minutes old with 401', async () => {
    await drainQueues();
    const body = formBody('restart mosaic_moe');
    const ts = now() - 5 * 60 - 5;
    const res = await post(
      { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': slackSignature(SECRET, ts, body) },
      body,
    );
    expect(res.status).toBe(401);
    expect(await actingJobs()).toEqual([]);
  });

  it('does a captured genuine command once: replayed fresh it is answered but not run again, after 5 minutes it is refused', async () => {
    await drainQueues();
    const sent = await slack.sendCommand({
      user: APPROVER_USER_ID,
      channel: CHANNEL,
      text: '/train status mosaic_moe --refresh',
    });
    expect(sent.status).toBe(200);
    await expect.poll(async () => (await actingJobs()).length).toBe(1);
    const captured = capturedWith('--refresh');
    // Fresh, the captured bytes still verify (Slack's scheme has no nonce), so the app remembers
    // signatures: the replay is answered 200 and ignored.
    expect((await replay(appUrl, captured)).status).toBe(200);
    expect((await replay(appUrl, captured)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 400));
    expect(await actingJobs()).toHaveLength(1);

    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 5 * 60_000 + 2_000);
    const late = await replay(appUrl, captured);
    vi.useRealTimers();
    expect(late.status).toBe(401);
    expect(await actingJobs()).toHaveLength(1);
  });
});

describe('approvals by the wrong people', () => {
  it('refuses a non-approver: nothing enqueued, proposal intact, refusal sent', async () => {
    await drainQueues();
    const p = await proposal();
    await click(VIEWER_USER_ID, encodeApproveValue(p.id, 101) as string);
    await expect.poll(notifyTexts).toMatch(/Only approvers can approve/);
    expect(await actingJobs()).toEqual([]);
    expect(await ctx.store.proposals.get(p.id)).not.toBeNull();
    const approvals = await ctx.store.journal.recent(50, { type: 'APPROVED' });
    expect(approvals.filter((r) => r.entry.details?.['proposal'] === p.id)).toEqual([]);
  });

  it('refuses a user removed from the approvers group, at once (no cached membership)', async () => {
    await drainQueues();
    const p = await proposal();
    slack.setUsergroupMembers('SAPPROVERS', []);
    try {
      await click(APPROVER_USER_ID, encodeApproveValue(p.id, 101) as string);
      await expect.poll(notifyTexts).toMatch(/Only approvers can approve/);
      expect(await actingJobs()).toEqual([]);
      expect(await ctx.store.proposals.get(p.id)).not.toBeNull();
    } finally {
      slack.setUsergroupMembers('SAPPROVERS', [APPROVER_USER_ID]);
    }
    // Restored to the group, the same person's click is carried out: the refusal was about membership.
    await click(APPROVER_USER_ID, encodeApproveValue(p.id, 101) as string);
    await expect.poll(async () => (await actingJobs()).map((j) => j.id)).toEqual([`proposal-${p.id}`]);
  });
});

describe('guessed, tampered and reused proposal ids', () => {
  it('refuses random ids of the right shape and every malformed value, with nothing enqueued', async () => {
    await drainQueues();
    const real = await proposal();
    const flipped = `${real.id.slice(0, -1)}${real.id.endsWith('A') ? 'B' : 'A'}`;
    const rightShape = [
      randomBytes(18).toString('base64url'),
      randomBytes(18).toString('base64url'),
      `${randomBytes(18).toString('base64url')}:101`,
      `${flipped}:101`,
      real.id.toUpperCase() === real.id ? real.id.toLowerCase() : real.id.toUpperCase(),
    ];
    const malformed = [
      'x',
      `${real.id}:`,
      `${real.id}:-1`,
      `${real.id}:1e3`,
      `${real.id}:101:102`,
      `${real.id};restart`,
      `../${real.id}`,
      `${real.id}\n:101`,
      'a'.repeat(2000),
      `${real.id}:99999999999999999999`,
    ];
    for (const value of [...rightShape, ...malformed]) await click(APPROVER_USER_ID, value);
    await expect
      .poll(async () => (await notifyTexts()).match(/no such proposal/g)?.length ?? 0)
      .toBeGreaterThanOrEqual(3);
    await expect.poll(notifyTexts).toMatch(/does not carry a valid proposal/);
    expect(await actingJobs()).toEqual([]);
    // The real proposal was never touched by the guesses.
    expect(await ctx.store.proposals.get(real.id)).not.toBeNull();
  });

  it('refuses a proposal reused after it was consumed: a second click and the genuine click replayed', async () => {
    await drainQueues();
    const p = await proposal();
    const value = encodeApproveValue(p.id, 102) as string;
    await click(APPROVER_USER_ID, value);
    await expect.poll(async () => (await actingJobs()).map((j) => j.id)).toEqual([`proposal-${p.id}`]);
    expect(await ctx.store.proposals.get(p.id)).toBeNull();

    // Clicked again (refused: already decided), and the genuine signed click replayed byte for
    // byte (answered 200 and ignored: those exact bytes were already processed).
    await click(APPROVER_USER_ID, value);
    const captured = capturedWith(encodeURIComponent(value));
    expect((await replay(appUrl, captured)).status).toBe(200);
    await expect
      .poll(async () => (await notifyTexts()).match(/already been decided|no such proposal/g)?.length ?? 0)
      .toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 300));
    expect((await actingJobs()).map((j) => j.id)).toEqual([`proposal-${p.id}`]);
    const approvals = await ctx.store.journal.recent(50, { type: 'APPROVED' });
    expect(approvals.filter((r) => r.entry.details?.['proposal'] === p.id)).toHaveLength(1);
  });

  it('refuses an expired proposal', async () => {
    await drainQueues();
    const p = await ctx.store.proposals.create({
      run: 'mosaic_moe',
      action: 'migrate',
      reason: 'outbid',
      params: { offerIds: [101] },
      createdBy: 'ops',
      ttlMs: 50,
    });
    await new Promise((r) => setTimeout(r, 150));
    await click(APPROVER_USER_ID, encodeApproveValue(p.id, 101) as string);
    await expect.poll(notifyTexts).toMatch(/expired|no such proposal/);
    expect(await actingJobs()).toEqual([]);
  });
});
