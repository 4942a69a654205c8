import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningSlackApp, startSlackApp } from '../../../src/service/slack-app.js';
import {
  APPROVER_USER_ID,
  type LocalSlack,
  startLocalSlack,
  VIEWER_USER_ID,
} from '../../../src/sim/slack/index.js';
import { encodeApproveValue } from '../../../src/slack-messages/proposal.js';
import { type TestContext, testContext } from '../../helpers/app-context.js';

const SECRET = 'approvals-test-signing-secret';
const TOKEN = 'xoxb-approvals-test';

let ctx: TestContext;
let slack: LocalSlack;
let app: RunningSlackApp;

beforeAll(async () => {
  ctx = testContext({ label: 'approve' });
  slack = await startLocalSlack({ signingSecret: SECRET, botToken: TOKEN });
  app = await startSlackApp(ctx, {
    botToken: TOKEN,
    signingSecret: SECRET,
    apiUrl: slack.url,
    channelId: 'CTRAINOPS',
    oncall: ['SONCALL'],
    approvers: ['SAPPROVERS'],
    port: 0,
  });
  slack.setAppUrl(`http://127.0.0.1:${app.port}`);
});

afterAll(async () => {
  await app?.stop();
  await slack?.close();
  await ctx?.cleanup();
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

/** A message carrying an Approve button with this value, as the proposal message would. */
async function postedMessage(value: string) {
  const posted = await app.client.chat.postMessage({
    channel: 'CTRAINOPS',
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

function sign(body: string, ts: number, secret = SECRET) {
  return `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
}

async function rawCommand(headers: Record<string, string>, body: string) {
  return fetch(`http://127.0.0.1:${app.port}/slack/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
  });
}

describe('Slack requests over real HTTP', () => {
  const body = new URLSearchParams({
    command: '/train',
    text: 'status',
    user_id: 'UAPPROVER',
    response_url: 'http://127.0.0.1:1/x',
  }).toString();

  it('rejects a forged signature with 401', async () => {
    const ts = Math.floor(Date.now() / 1000);
    const res = await rawCommand(
      { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': sign(body, ts, 'wrong') },
      body,
    );
    expect(res.status).toBe(401);
  });

  it('rejects a stale (replayed) timestamp with 401 even when correctly signed', async () => {
    const ts = Math.floor(Date.now() / 1000) - 6 * 60;
    const res = await rawCommand(
      { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': sign(body, ts) },
      body,
    );
    expect(res.status).toBe(401);
  });

  it('answers a signed /train status within the ack deadline', async () => {
    const result = await slack.sendCommand({
      user: VIEWER_USER_ID,
      channel: 'CTRAINOPS',
      text: '/train help',
    });
    expect(result.status).toBe(200);
    expect(result.latencyMs).toBeLessThan(3000);
  });
});

describe('approvals', () => {
  it('refuses a non-approver: ephemeral refusal, proposal intact, no job', async () => {
    const p = await proposal();
    const value = encodeApproveValue(p.id, 101)!;
    const ts = await postedMessage(value);
    const click = await slack.clickButton({
      user: VIEWER_USER_ID,
      channel: 'CTRAINOPS',
      ts,
      actionId: 'proposal_approve',
      value,
    });
    expect(click.status).toBe(200);
    const notify = ctx.queues.queue('notify');
    await expect
      .poll(async () =>
        (await notify.getJobs(['waiting', 'delayed', 'active']))
          .map((j) => JSON.stringify(j.data))
          .join('\n'),
      )
      .toMatch(/Only approvers/);
    expect(await ctx.store.proposals.get(p.id)).not.toBeNull();
    expect(await ctx.queues.queue('ops').getJobCountByTypes('waiting', 'active', 'delayed')).toBe(0);
  });

  it('ten concurrent clicks of one Approve start exactly one job', async () => {
    const p = await proposal();
    const value = encodeApproveValue(p.id, 102)!;
    const ts = await postedMessage(value);
    const clicks = await Promise.all(
      Array.from({ length: 10 }, () =>
        slack.clickButton({
          user: APPROVER_USER_ID,
          channel: 'CTRAINOPS',
          ts,
          actionId: 'proposal_approve',
          value,
        }),
      ),
    );
    expect(clicks.every((c) => c.status === 200)).toBe(true);
    const ops = ctx.queues.queue('ops');
    await expect.poll(() => ops.getJobCountByTypes('waiting', 'active', 'delayed')).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    const jobs = await ops.getJobs(['waiting', 'active', 'delayed']);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.data).toMatchObject({
      action: 'migrate',
      run: 'mosaic_moe',
      offerId: 102,
      requestedBy: APPROVER_USER_ID,
    });
    const approvals = await ctx.store.journal.recent(50, { type: 'APPROVED' });
    expect(approvals.filter((r) => r.entry.details?.['proposal'] === p.id)).toHaveLength(1);
  });

  it('refuses a crafted button naming an offer the proposal never presented', async () => {
    const p = await proposal();
    const value = encodeApproveValue(p.id, 999)!;
    const ts = await postedMessage(value);
    await slack.clickButton({
      user: APPROVER_USER_ID,
      channel: 'CTRAINOPS',
      ts,
      actionId: 'proposal_approve',
      value,
    });
    await expect
      .poll(async () =>
        (await ctx.queues.queue('notify').getJobs(['waiting', 'delayed', 'active']))
          .map((j) => JSON.stringify(j.data))
          .join('\n'),
      )
      .toMatch(/offer 999 is not one this proposal presented/);
    expect(await ctx.store.proposals.get(p.id)).not.toBeNull();
  });

  it('refuses a user removed from the approvers group', async () => {
    const p = await proposal();
    const value = encodeApproveValue(p.id, 101)!;
    const ts = await postedMessage(value);
    slack.setUsergroupMembers('SAPPROVERS', []);
    try {
      await slack.clickButton({
        user: APPROVER_USER_ID,
        channel: 'CTRAINOPS',
        ts,
        actionId: 'proposal_approve',
        value,
      });
      await new Promise((r) => setTimeout(r, 500));
      expect(await ctx.store.proposals.get(p.id)).not.toBeNull();
    } finally {
      slack.setUsergroupMembers('SAPPROVERS', [APPROVER_USER_ID]);
    }
  });
});
