import type { BlockAction, ButtonAction, SlashCommand } from '@slack/bolt';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  APPROVER_USER_ID,
  DEFAULT_CHANNEL_ID,
  type LocalSlack,
  startLocalSlack,
  VIEWER_USER_ID,
} from '../../../src/sim/slack/index.js';
import { BOT_TOKEN, SIGNING_SECRET, startBoltApp, type TestApp } from './bolt-app.js';

const CHANNEL = DEFAULT_CHANNEL_ID;

interface Seen {
  commands: SlashCommand[];
  actions: { body: BlockAction; action: ButtonAction }[];
  mentions: Record<string, unknown>[];
  messages: Record<string, unknown>[];
  contexts: { botUserId: string | undefined; botId: string | undefined }[];
}

const seen: Seen = { commands: [], actions: [], mentions: [], messages: [], contexts: [] };
let slack: LocalSlack;
let bolt: TestApp;

const approveBlocks = (proposalId: string) => [
  { type: 'section', text: { type: 'mrkdwn', text: '*mosaic_moe* was outbid. Replace it?' } },
  {
    type: 'actions',
    block_id: 'proposal',
    elements: [
      {
        type: 'button',
        action_id: 'approve',
        text: { type: 'plain_text', text: 'Approve' },
        style: 'primary',
        value: proposalId,
      },
    ],
  },
];

beforeAll(async () => {
  slack = await startLocalSlack({ signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN });
  bolt = await startBoltApp(slack, (app) => {
    app.use(async ({ context, next }) => {
      seen.contexts.push({ botUserId: context.botUserId, botId: context.botId });
      await next();
    });
    app.command('/train', async ({ command, ack, respond }) => {
      seen.commands.push(command);
      if (command.text === 'help') {
        await ack('Usage: /train status');
        return;
      }
      await ack();
      if (command.text === 'announce')
        await respond({ response_type: 'in_channel', text: 'Fleet is healthy' });
      else await respond({ text: `status for ${command.text}` });
    });
    app.action<BlockAction<ButtonAction>>('approve', async ({ ack, body, action, respond }) => {
      await ack();
      seen.actions.push({ body, action });
      await respond({ replace_original: true, text: `Approved by <@${body.user.id}>` });
    });
    app.event('app_mention', async ({ event }) => {
      seen.mentions.push({ ...event });
    });
    app.message(async ({ message }) => {
      seen.messages.push({ ...message });
    });
  });
});

afterAll(async () => {
  await bolt?.stop();
  await slack?.close();
});

beforeEach(() => {
  seen.commands.length = 0;
  seen.actions.length = 0;
  seen.mentions.length = 0;
  seen.messages.length = 0;
});

describe('local Slack with the real Bolt app', () => {
  it('answers the auth.test Bolt makes at start with the bot identity', async () => {
    // Bolt's constructor starts auth.test without waiting for it.
    const authCalls = await slack.waitFor(() => {
      const calls = slack.apiCalls().filter((c) => c.method === 'auth.test');
      return calls.length > 0 && calls;
    });
    expect(authCalls.every((c) => c.ok)).toBe(true);
    await slack.postUserMessage({ user: VIEWER_USER_ID, channel: CHANNEL, text: 'hello' });
    await slack.waitFor(() => seen.contexts.length > 0);
    expect(seen.contexts.at(-1)).toEqual({ botUserId: slack.botUserId, botId: slack.botId });
  });

  it('delivers a slash command with the real fields, and respond() reaches the response_url', async () => {
    const result = await slack.sendCommand({
      user: APPROVER_USER_ID,
      channel: CHANNEL,
      text: '/train status gpt2',
    });
    expect(result.status).toBe(200);
    expect(result.outcome).toBe('acked');
    const command = seen.commands[0];
    expect(command).toMatchObject({
      command: '/train',
      text: 'status gpt2',
      user_id: APPROVER_USER_ID,
      user_name: 'alice',
      channel_id: CHANNEL,
      channel_name: 'train-ops',
      team_id: slack.teamId,
      api_app_id: slack.appId,
      is_enterprise_install: 'false',
    });
    expect(command?.response_url.startsWith(`${slack.origin}/response/`)).toBe(true);
    expect(command?.trigger_id).toMatch(/^\d+\.\d+\.[0-9a-f]+$/);
    await slack.waitFor(() => result.responseUrlPosts.length === 1);
    expect(result.responseUrlPosts[0]).toMatchObject({
      status: 200,
      body: { text: 'status for status gpt2' },
    });
    const answer = slack.messages(CHANNEL).find((m) => m.text === 'status for status gpt2');
    expect(answer?.ephemeralTo).toBe(APPROVER_USER_ID);
    expect(answer?.botId).toBe(slack.botId);
  });

  it('posts an in_channel response for everyone, and an ack body as an ephemeral answer', async () => {
    const announced = await slack.sendCommand({
      user: VIEWER_USER_ID,
      channel: CHANNEL,
      text: '/train announce',
    });
    await slack.waitFor(() => announced.responseUrlPosts.length === 1);
    const posted = slack.messages(CHANNEL).find((m) => m.text === 'Fleet is healthy');
    expect(posted).toBeDefined();
    expect(posted?.ephemeralTo).toBeUndefined();

    const help = await slack.sendCommand({ user: VIEWER_USER_ID, channel: CHANNEL, text: '/train help' });
    expect(help.body).toBe('Usage: /train status');
    const usage = slack.messages(CHANNEL).find((m) => m.text === 'Usage: /train status');
    expect(usage?.ephemeralTo).toBe(VIEWER_USER_ID);
  });

  it('delivers a button click as block_actions with the value, and replace_original updates the message', async () => {
    const posted = await bolt.app.client.chat.postMessage({
      channel: CHANNEL,
      text: 'mosaic_moe was outbid',
      blocks: approveBlocks('proposal-42'),
    });
    const ts = posted.ts ?? '';
    const result = await slack.clickButton({
      user: APPROVER_USER_ID,
      channel: CHANNEL,
      ts,
      actionId: 'approve',
    });
    expect(result.status).toBe(200);
    const click = seen.actions[0];
    expect(click?.action).toMatchObject({
      action_id: 'approve',
      block_id: 'proposal',
      value: 'proposal-42',
      type: 'button',
      text: { type: 'plain_text', text: 'Approve' },
    });
    expect(click?.body).toMatchObject({
      type: 'block_actions',
      user: { id: APPROVER_USER_ID, username: 'alice', name: 'alice', team_id: slack.teamId },
      api_app_id: slack.appId,
      container: { type: 'message', message_ts: ts, channel_id: CHANNEL, is_ephemeral: false },
      channel: { id: CHANNEL, name: 'train-ops' },
      team: { id: slack.teamId },
      message: { ts, text: 'mosaic_moe was outbid', bot_id: slack.botId },
    });
    expect(click?.body.message?.blocks).toHaveLength(2);
    expect(click?.body.trigger_id).toBeTruthy();
    await slack.waitFor(() => result.responseUrlPosts.length === 1);
    const replaced = slack.messages(CHANNEL).find((m) => m.ts === ts);
    expect(replaced?.text).toBe(`Approved by <@${APPROVER_USER_ID}>`);
    expect(replaced?.blocks).toBeUndefined();
  });

  it('delivers a mention of the bot as both app_mention and message events (same channel and ts)', async () => {
    const { ts, deliveries } = await slack.postUserMessage({
      user: APPROVER_USER_ID,
      channel: CHANNEL,
      text: '@conductor how is gpt2 doing?',
    });
    expect(deliveries.map((d) => d.status)).toEqual([200, 200]);
    // Other events (edits echoed from earlier tests) may arrive too: pick this message's by ts.
    const mention = await slack.waitFor(() => seen.mentions.find((e) => e['ts'] === ts));
    const message = await slack.waitFor(() => seen.messages.find((e) => e['ts'] === ts));
    expect(seen.mentions.filter((e) => e['ts'] === ts)).toHaveLength(1);
    expect(seen.messages.filter((e) => e['ts'] === ts)).toHaveLength(1);
    expect(mention).toMatchObject({ type: 'app_mention', channel: CHANNEL, ts, user: APPROVER_USER_ID });
    expect(message).toMatchObject({ type: 'message', channel: CHANNEL, ts, channel_type: 'channel' });
    expect(mention?.['text']).toBe(`<@${slack.botUserId}> how is gpt2 doing?`);
  });

  it('carries thread_ts on a reply in a thread', async () => {
    const parent = await bolt.app.client.chat.postMessage({
      channel: CHANNEL,
      text: 'Incident: gpt2 stalled',
    });
    const { ts } = await slack.postUserMessage({
      user: VIEWER_USER_ID,
      channel: CHANNEL,
      text: `<@${slack.botUserId}> why?`,
      threadTs: parent.ts ?? '',
    });
    const mention = await slack.waitFor(() => seen.mentions.find((e) => e['ts'] === ts));
    const message = await slack.waitFor(() => seen.messages.find((e) => e['ts'] === ts));
    expect(mention['thread_ts']).toBe(parent.ts);
    expect(message).toMatchObject({ thread_ts: parent.ts, parent_user_id: slack.botUserId });
  });

  it('delivers the bot’s own messages as message events, which Bolt drops', async () => {
    const before = slack.deliveries().length;
    const posted = await bolt.app.client.chat.postMessage({
      channel: CHANNEL,
      text: 'digest: all runs healthy',
    });
    const echo = await slack.waitFor(() =>
      slack
        .deliveries()
        .slice(before)
        .find((d) => d.kind === 'event_callback' && d.label === 'message'),
    );
    expect(echo.status).toBe(200);
    expect(echo.latencyMs).toBeGreaterThanOrEqual(0);
    await slack.postUserMessage({ user: VIEWER_USER_ID, channel: CHANNEL, text: 'marker' });
    await slack.waitFor(() => seen.messages.some((m) => m['text'] === 'marker'));
    expect(seen.messages.some((m) => m['ts'] === posted.ts)).toBe(false);
  });

  it('echoes the app’s own edits as message_changed events, as Slack does for message.channels', async () => {
    const posted = await bolt.app.client.chat.postMessage({ channel: CHANNEL, text: 'step 100' });
    await bolt.app.client.chat.update({ channel: CHANNEL, ts: posted.ts ?? '', text: 'step 200' });
    const Changed = z.object({
      subtype: z.literal('message_changed'),
      message: z.object({ ts: z.string() }),
    });
    const changed = await slack.waitFor(() =>
      seen.messages.find((m) => Changed.safeParse(m).data?.message.ts === posted.ts),
    );
    expect(changed).toMatchObject({
      channel: CHANNEL,
      hidden: true,
      message: { ts: posted.ts, text: 'step 200', bot_id: slack.botId },
      previous_message: { ts: posted.ts, text: 'step 100' },
    });
  });

  it('counts the remaining Web API behaviour through the app’s own client', async () => {
    const parent = await bolt.app.client.chat.postMessage({ channel: CHANNEL, text: 'parent' });
    await bolt.app.client.chat.postMessage({ channel: CHANNEL, text: 'reply', thread_ts: parent.ts ?? '' });
    const replies = await bolt.app.client.conversations.replies({ channel: CHANNEL, ts: parent.ts ?? '' });
    expect(replies.messages?.map((m) => m.text)).toEqual(['parent', 'reply']);
    const members = await bolt.app.client.usergroups.users.list({ usergroup: 'SONCALL' });
    expect(members.users).toEqual([APPROVER_USER_ID]);
  });
});

describe('local Slack deliveries the app must reject or that it answers slowly', () => {
  it('gets 401 from Bolt when it signs with the wrong secret', async () => {
    const impostor = await startLocalSlack({ signingSecret: 'not-the-app-secret', botToken: BOT_TOKEN });
    try {
      impostor.setAppUrl(bolt.url);
      const result = await impostor.sendCommand({
        user: APPROVER_USER_ID,
        channel: CHANNEL,
        text: '/train status',
      });
      expect(result.status).toBe(401);
      expect(seen.commands).toHaveLength(0);
      const notice = impostor.messages(CHANNEL).find((m) => m.ephemeralTo === APPROVER_USER_ID);
      expect(notice?.text).toBe('/train failed with the error "dispatch_failed"');
    } finally {
      await impostor.close();
    }
  });

  it('retries an event the app does not ack within the deadline, with x-slack-retry-num', async () => {
    const slow = await startLocalSlack({
      signingSecret: SIGNING_SECRET,
      botToken: BOT_TOKEN,
      ackTimeoutMs: 300,
      retries: { enabled: true, delaysMs: [0, 0, 0] },
    });
    const attempts: { retryNum?: number; retryReason?: string }[] = [];
    const app = await startBoltApp(
      slow,
      (a) => {
        a.message(async ({ context }) => {
          const retryNum = context.retryNum;
          attempts.push({
            ...(retryNum !== undefined && { retryNum }),
            ...(context.retryReason && { retryReason: context.retryReason }),
          });
          // Too slow on the first attempt only: with processBeforeResponse the ack waits for this.
          if (retryNum === undefined) await new Promise((r) => setTimeout(r, 600));
        });
      },
      { processBeforeResponse: true },
    );
    try {
      await slow.postUserMessage({ user: VIEWER_USER_ID, channel: CHANNEL, text: 'anyone there?' });
      const records = await slow.waitFor(() => {
        const list = slow.deliveries().filter((d) => d.label === 'message');
        return list.some((d) => d.outcome === 'acked') ? list : undefined;
      });
      expect(records.map((d) => [d.attempt, d.outcome])).toEqual([
        [0, 'http_timeout'],
        [1, 'acked'],
      ]);
      expect(records[1]?.retryReason).toBe('http_timeout');
      expect(records.every((d) => d.id === records[0]?.id)).toBe(true);
      await slow.waitFor(() => attempts.length === 2);
      expect(attempts).toEqual([{}, { retryNum: 1, retryReason: 'http_timeout' }]);

      slow.setRetries(false);
      const before = slow.deliveries().length;
      await slow.postUserMessage({ user: VIEWER_USER_ID, channel: CHANNEL, text: 'still there?' });
      await new Promise((r) => setTimeout(r, 200));
      const after = slow.deliveries().slice(before);
      expect(after.map((d) => [d.attempt, d.outcome])).toEqual([[0, 'http_timeout']]);
    } finally {
      await app.stop();
      await slow.close();
    }
  });
});
