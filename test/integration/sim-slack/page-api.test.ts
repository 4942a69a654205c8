import type { SlashCommand } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  APPROVER_USER_ID,
  DEFAULT_CHANNEL_ID,
  type LocalSlack,
  startLocalSlack,
  VIEWER_USER_ID,
} from '../../../src/sim/slack/index.js';
import { BOT_TOKEN, SIGNING_SECRET, startBoltApp, type TestApp } from './bolt-app.js';

/** The page's JSON routes, exercised as the page's script uses them (browser tests live elsewhere). */

const CHANNEL = DEFAULT_CHANNEL_ID;
const PageState = z.object({
  version: z.number(),
  self: z.string(),
  people: z.array(z.object({ id: z.string(), real_name: z.string() })),
  channel: z.object({ id: z.string() }),
  messages: z.array(
    z.object({
      ts: z.string(),
      user: z.string(),
      text: z.string(),
      ephemeral: z.boolean(),
      replyCount: z.number(),
    }),
  ),
});

let slack: LocalSlack;
let bolt: TestApp;
const commands: SlashCommand[] = [];
const mentions: string[] = [];
const clicks: string[] = [];

async function pageState(user: string) {
  const res = await fetch(`${slack.origin}/page/state?user=${user}&channel=${CHANNEL}`);
  return PageState.parse(await res.json());
}

function pagePost(path: string, body: unknown) {
  return fetch(`${slack.origin}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).then((r) => r.json());
}

beforeAll(async () => {
  slack = await startLocalSlack({ signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN });
  bolt = await startBoltApp(slack, (app) => {
    app.command('/train', async ({ command, ack, respond }) => {
      commands.push(command);
      await ack();
      await respond({ text: `only for <@${command.user_id}>` });
    });
    app.event('app_mention', async ({ event, say }) => {
      mentions.push(event.text);
      await say({ text: 'On it', thread_ts: event.ts });
    });
    app.action('approve', async ({ ack, body }) => {
      await ack();
      clicks.push(body.user.id);
    });
  });
});

afterAll(async () => {
  await bolt?.stop();
  await slack?.close();
});

describe('local Slack page', () => {
  it('serves one self-contained HTML page with the stable element ids', async () => {
    const res = await fetch(slack.pageUrl);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    for (const id of [
      'composer',
      'user-select',
      'thread-pane',
      'messages',
      'thread-composer',
      'channel-select',
    ]) {
      expect(html).toContain(`id="${id}"`);
    }
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)=/);
  });

  it('runs a slash command typed in the composer, and shows the answer only to that person', async () => {
    const sent = await pagePost('/page/send', {
      user: VIEWER_USER_ID,
      channel: CHANNEL,
      text: '/train status',
    });
    expect(sent).toMatchObject({ ok: true });
    await slack.waitFor(() => commands.length === 1);
    expect(commands[0]).toMatchObject({ user_id: VIEWER_USER_ID, text: 'status', command: '/train' });
    const answerText = `only for <@${VIEWER_USER_ID}>`;
    await slack.waitFor(() => slack.messages(CHANNEL).some((m) => m.text === answerText));
    expect((await pageState(VIEWER_USER_ID)).messages.some((m) => m.text === answerText && m.ephemeral)).toBe(
      true,
    );
    expect((await pageState(APPROVER_USER_ID)).messages.some((m) => m.text === answerText)).toBe(false);
  });

  it('turns @conductor into a mention, and shows the bot’s thread reply count', async () => {
    const sent = z.object({ ok: z.literal(true), ts: z.string() }).parse(
      await pagePost('/page/send', {
        user: APPROVER_USER_ID,
        channel: CHANNEL,
        text: '@conductor status?',
      }),
    );
    await slack.waitFor(() => mentions.length === 1);
    expect(mentions[0]).toBe(`<@${slack.botUserId}> status?`);
    await slack.waitFor(() => slack.messages(CHANNEL).some((m) => m.threadTs === sent.ts));
    const parent = (await pageState(APPROVER_USER_ID)).messages.find((m) => m.ts === sent.ts);
    expect(parent?.replyCount).toBe(1);
  });

  it('refuses a slash command inside a thread, as Slack does', async () => {
    const parent = await bolt.app.client.chat.postMessage({ channel: CHANNEL, text: 'thread parent' });
    const before = commands.length;
    await pagePost('/page/send', {
      user: APPROVER_USER_ID,
      channel: CHANNEL,
      text: '/train status',
      threadTs: parent.ts,
    });
    const notice = slack.messages(CHANNEL).find((m) => m.threadTs === parent.ts);
    expect(notice).toMatchObject({
      text: '/train is not supported in threads. Sorry!',
      ephemeralTo: APPROVER_USER_ID,
    });
    expect(commands.length).toBe(before);
  });

  it('clicks a button as the person chosen in the switcher', async () => {
    const posted = await bolt.app.client.chat.postMessage({
      channel: CHANNEL,
      text: 'Approve?',
      blocks: [
        {
          type: 'actions',
          elements: [
            {
              type: 'button',
              action_id: 'approve',
              text: { type: 'plain_text', text: 'Approve' },
              value: 'p1',
            },
          ],
        },
      ],
    });
    const result = await pagePost('/page/click', {
      user: VIEWER_USER_ID,
      channel: CHANNEL,
      ts: posted.ts,
      actionId: 'approve',
      value: 'p1',
    });
    expect(result).toMatchObject({ ok: true, status: 200 });
    expect(clicks).toEqual([VIEWER_USER_ID]);
  });

  it('streams a change event when the channel changes', async () => {
    const controller = new AbortController();
    const res = await fetch(`${slack.origin}/page/events`, { signal: controller.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body?.getReader();
    const decoder = new TextDecoder();
    let received = '';
    await bolt.app.client.chat.postMessage({ channel: CHANNEL, text: 'live update' });
    while (reader && !received.includes('event: change')) {
      const chunk = await reader.read();
      if (chunk.done) break;
      received += decoder.decode(chunk.value);
    }
    controller.abort();
    expect(received).toContain('event: change');
  });
});
