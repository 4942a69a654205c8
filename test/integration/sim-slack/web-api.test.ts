import { webApi } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  APPROVER_USER_ID,
  DEFAULT_CHANNEL_ID,
  type LocalSlack,
  startLocalSlack,
  VIEWER_USER_ID,
} from '../../../src/sim/slack/index.js';
import { BOT_TOKEN, SIGNING_SECRET } from './bolt-app.js';

const CHANNEL = DEFAULT_CHANNEL_ID;
const PlatformError = z.object({ error: z.string().optional(), errors: z.array(z.string()).optional() });
let slack: LocalSlack;
let client: webApi.WebClient;

/** The platform error code a WebClient call failed with (Slack's `error` field). */
async function slackError(call: Promise<unknown>): Promise<z.infer<typeof PlatformError>> {
  try {
    await call;
  } catch (err) {
    if (err instanceof Error && 'data' in err) return PlatformError.parse(err.data);
    throw err;
  }
  throw new Error('expected the call to fail');
}

function rawCall(method: string, init: { body: string; headers?: Record<string, string> }) {
  return fetch(`${slack.url}${method}`, { method: 'POST', ...init });
}

const button = (text: string) => ({
  type: 'actions',
  elements: [{ type: 'button', action_id: 'go', text: { type: 'plain_text', text } }],
});

beforeAll(async () => {
  slack = await startLocalSlack({ signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN });
  client = new webApi.WebClient(BOT_TOKEN, { slackApiUrl: slack.url, retryConfig: { retries: 0 } });
});

afterAll(async () => {
  await slack?.close();
});

describe('local Slack Web API', () => {
  it('answers auth.test with the bot identity', async () => {
    const auth = await client.auth.test();
    expect(auth).toMatchObject({
      ok: true,
      user_id: slack.botUserId,
      bot_id: slack.botId,
      team_id: slack.teamId,
      user: 'conductor',
    });
    expect(auth.url).toMatch(/^https:\/\/.+\.slack\.com\/$/);
  });

  it('refuses a missing or wrong token and accepts one in the form', async () => {
    const wrong = new webApi.WebClient('xoxb-wrong', { slackApiUrl: slack.url, retryConfig: { retries: 0 } });
    expect((await slackError(wrong.auth.test())).error).toBe('invalid_auth');
    const none = await rawCall('auth.test', { body: '' });
    expect(await none.json()).toEqual({ ok: false, error: 'not_authed' });
    const form = await rawCall('auth.test', {
      body: new URLSearchParams({ token: BOT_TOKEN }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(await form.json()).toMatchObject({ ok: true, user_id: slack.botUserId });
  });

  it('posts messages with unique, increasing Slack timestamps, blocks as a JSON string or an array', async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*gpt2* at step 12,340' } }];
    const first = await client.chat.postMessage({ channel: CHANNEL, text: 'status', blocks });
    const second = await client.chat.postMessage({ channel: CHANNEL, text: 'status again' });
    expect(first.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(Number(second.ts)).toBeGreaterThan(Number(first.ts));
    expect(first.channel).toBe(CHANNEL);
    expect(first.message).toMatchObject({ text: 'status', bot_id: slack.botId, user: slack.botUserId });
    expect(first.message?.blocks?.[0]).toMatchObject(blocks[0] ?? {});

    const json = await rawCall('chat.postMessage', {
      body: JSON.stringify({ channel: CHANNEL, text: 'from json', blocks }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${BOT_TOKEN}` },
    });
    const posted = (await json.json()) as { ok: boolean; ts: string };
    expect(posted.ok).toBe(true);
    expect(slack.messages(CHANNEL).find((m) => m.ts === posted.ts)?.blocks).toHaveLength(1);
  });

  it('keeps message metadata and returns it from history and replies only when asked', async () => {
    const metadata = { event_type: 'train_conductor_post', event_payload: { key: 'alert-42' } };
    const parent = await client.chat.postMessage({ channel: CHANNEL, text: 'with metadata', metadata });
    // A form-encoded call carries it as JSON.
    const form = await rawCall('chat.postMessage', {
      body: new URLSearchParams({
        channel: CHANNEL,
        text: 'reply with metadata',
        thread_ts: parent.ts as string,
        metadata: JSON.stringify({ event_type: 'train_conductor_post', event_payload: { key: 'note-1' } }),
      }).toString(),
      headers: { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(await form.json()).toMatchObject({ ok: true });

    const plain = await client.conversations.history({ channel: CHANNEL, limit: 5 });
    expect(plain.messages?.find((m) => m.ts === parent.ts)?.metadata).toBeUndefined();
    const full = await client.conversations.history({
      channel: CHANNEL,
      limit: 5,
      include_all_metadata: true,
    });
    expect(full.messages?.find((m) => m.ts === parent.ts)?.metadata).toEqual(metadata);
    const thread = await client.conversations.replies({
      channel: CHANNEL,
      ts: parent.ts as string,
      include_all_metadata: true,
    });
    expect(thread.messages?.map((m) => m.metadata?.event_payload)).toEqual([
      { key: 'alert-42' },
      { key: 'note-1' },
    ]);

    expect(
      await slackError(
        client.chat.postMessage({ channel: CHANNEL, text: 'x', metadata: '{not json' as never }),
      ),
    ).toMatchObject({ error: 'invalid_metadata_format' });
    expect(
      await slackError(
        client.chat.postMessage({
          channel: CHANNEL,
          text: 'x',
          metadata: { event_type: 'no payload' } as never,
        }),
      ),
    ).toMatchObject({ error: 'invalid_metadata_schema' });
  });

  it('updates a message in place and reports unknown ones', async () => {
    const posted = await client.chat.postMessage({
      channel: CHANNEL,
      text: 'Approve?',
      blocks: [button('Approve')],
    });
    const updated = await client.chat.update({
      channel: CHANNEL,
      ts: posted.ts ?? '',
      text: 'Approved',
      blocks: [],
    });
    expect(updated).toMatchObject({ ok: true, channel: CHANNEL, ts: posted.ts, text: 'Approved' });
    const stored = slack.messages(CHANNEL).find((m) => m.ts === posted.ts);
    expect(stored?.text).toBe('Approved');
    expect(stored?.blocks).toBeUndefined();
    expect(stored?.edited?.user).toBe(slack.botUserId);
    expect(
      (await slackError(client.chat.update({ channel: CHANNEL, ts: '1.000001', text: 'x' }))).error,
    ).toBe('message_not_found');
  });

  it('posts ephemeral messages only one user sees', async () => {
    const result = await client.chat.postEphemeral({
      channel: CHANNEL,
      user: VIEWER_USER_ID,
      text: 'only bob',
    });
    expect(result.message_ts).toMatch(/^\d+\.\d{6}$/);
    const stored = slack.messages(CHANNEL).find((m) => m.ts === result.message_ts);
    expect(stored?.ephemeralTo).toBe(VIEWER_USER_ID);
    const history = await client.conversations.history({ channel: CHANNEL });
    expect(history.messages?.some((m) => m.ts === result.message_ts)).toBe(false);
    expect(
      (await slackError(client.chat.postEphemeral({ channel: CHANNEL, user: 'UNOBODY', text: 'x' }))).error,
    ).toBe('user_not_found');
  });

  it('adds a reaction once and refuses the same one again', async () => {
    const posted = await client.chat.postMessage({ channel: CHANNEL, text: 'restarted gpt2' });
    await client.reactions.add({ channel: CHANNEL, timestamp: posted.ts ?? '', name: 'white_check_mark' });
    expect(slack.messages(CHANNEL).find((m) => m.ts === posted.ts)?.reactions).toEqual([
      { name: 'white_check_mark', users: [slack.botUserId] },
    ]);
    const again = client.reactions.add({
      channel: CHANNEL,
      timestamp: posted.ts ?? '',
      name: 'white_check_mark',
    });
    expect((await slackError(again)).error).toBe('already_reacted');
  });

  it('returns a thread parent first with its replies, from the parent or a reply ts', async () => {
    const parent = await client.chat.postMessage({ channel: CHANNEL, text: 'Incident: OOM on mosaic_moe' });
    const reply = await client.chat.postMessage({
      channel: CHANNEL,
      text: 'restarting',
      thread_ts: parent.ts ?? '',
    });
    await slack.postUserMessage({
      user: APPROVER_USER_ID,
      channel: CHANNEL,
      text: 'thanks',
      threadTs: parent.ts ?? '',
    });
    const thread = await client.conversations.replies({ channel: CHANNEL, ts: reply.ts ?? '' });
    expect(thread.messages?.map((m) => m.text)).toEqual([
      'Incident: OOM on mosaic_moe',
      'restarting',
      'thanks',
    ]);
    expect(thread.messages?.[0]).toMatchObject({ reply_count: 2, thread_ts: parent.ts });
    expect(thread.messages?.[1]).toMatchObject({ thread_ts: parent.ts, parent_user_id: slack.botUserId });
    expect((await slackError(client.conversations.replies({ channel: CHANNEL, ts: '1.000002' }))).error).toBe(
      'thread_not_found',
    );
  });

  it('lists user group members, follows changes, and knows users', async () => {
    expect((await client.usergroups.users.list({ usergroup: 'SONCALL' })).users).toEqual([APPROVER_USER_ID]);
    slack.setUsergroupMembers('SONCALL', [APPROVER_USER_ID, VIEWER_USER_ID]);
    expect((await client.usergroups.users.list({ usergroup: 'SONCALL' })).users).toEqual([
      APPROVER_USER_ID,
      VIEWER_USER_ID,
    ]);
    expect((await slackError(client.usergroups.users.list({ usergroup: 'SNOPE' }))).error).toBe(
      'no_such_subteam',
    );
    const user = await client.users.info({ user: APPROVER_USER_ID });
    expect(user.user).toMatchObject({ id: APPROVER_USER_ID, name: 'alice', real_name: 'alice (approver)' });
    expect((await slackError(client.users.info({ user: 'UNOBODY' }))).error).toBe('user_not_found');
  });

  it('refuses blocks over Slack limits with invalid_blocks and a pointer per problem', async () => {
    const many = Array.from({ length: 51 }, () => ({ type: 'divider' }));
    const tooMany = await slackError(client.chat.postMessage({ channel: CHANNEL, text: 'x', blocks: many }));
    expect(tooMany.error).toBe('invalid_blocks');
    expect(tooMany.errors).toEqual(['must be less than 51 items [json-pointer:/blocks]']);

    const longButton = await slackError(
      client.chat.postMessage({ channel: CHANNEL, text: 'x', blocks: [button('a'.repeat(76))] }),
    );
    expect(longButton).toMatchObject({
      error: 'invalid_blocks',
      errors: ['must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]'],
    });
    await client.chat.postMessage({ channel: CHANNEL, text: 'x', blocks: [button('a'.repeat(75))] });

    const problems = await slackError(
      client.chat.postMessage({
        channel: CHANNEL,
        text: 'x',
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } },
          { type: 'section', text: { type: 'mrkdwn', text: 's'.repeat(3001) } },
          // @ts-expect-error: a block without a type, which the Web API must refuse
          { text: { type: 'mrkdwn', text: 'no type' } },
        ],
      }),
    );
    expect(problems.errors).toEqual([
      'must be less than 151 characters [json-pointer:/blocks/0/text/text]',
      'must be less than 3001 characters [json-pointer:/blocks/1/text/text]',
      'missing required field: type [json-pointer:/blocks/2]',
    ]);
    expect(slack.messages(CHANNEL).some((m) => m.text === 'x' && m.blocks?.length === 51)).toBe(false);
  });

  it('refuses text over 40,000 characters and a message with nothing in it', async () => {
    const long = client.chat.postMessage({ channel: CHANNEL, text: 'a'.repeat(40_001) });
    expect((await slackError(long)).error).toBe('msg_too_long');
    expect((await slackError(client.chat.postMessage({ channel: CHANNEL, text: '' }))).error).toBe('no_text');
    expect((await slackError(client.chat.postMessage({ channel: 'CNOPE', text: 'x' }))).error).toBe(
      'channel_not_found',
    );
  });

  it('rate limits per method with HTTP 429 and Retry-After', async () => {
    const limited = await startLocalSlack({
      signingSecret: SIGNING_SECRET,
      botToken: BOT_TOKEN,
      rateLimit: { perMethodPerMinute: 2 },
    });
    try {
      const call = () =>
        fetch(`${limited.url}chat.postMessage`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${BOT_TOKEN}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: new URLSearchParams({ channel: CHANNEL, text: 'digest' }).toString(),
        });
      expect((await call()).status).toBe(200);
      expect((await call()).status).toBe(200);
      const refused = await call();
      expect(refused.status).toBe(429);
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(await refused.json()).toEqual({ ok: false, error: 'ratelimited' });
      expect(limited.messages(CHANNEL)).toHaveLength(2);

      const strict = new webApi.WebClient(BOT_TOKEN, {
        slackApiUrl: limited.url,
        rejectRateLimitedCalls: true,
      });
      await expect(strict.chat.postMessage({ channel: CHANNEL, text: 'x' })).rejects.toMatchObject({
        code: 'slack_webapi_rate_limited_error',
        retryAfter,
      });
      // Other methods keep their own budget.
      expect((await strict.auth.test()).ok).toBe(true);
      limited.setRateLimit(undefined);
      expect((await call()).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe('local Slack response_url', () => {
  it('takes 5 posts, then answers used_url', async () => {
    const result = await slack.sendCommand({
      user: APPROVER_USER_ID,
      channel: CHANNEL,
      text: '/train status',
    });
    // No app is listening: the command fails, but its response_url exists.
    expect(result.outcome).toBe('no_app_url');
    const post = () =>
      fetch(result.responseUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'working on it' }),
      });
    for (let i = 0; i < 5; i += 1) expect((await post()).status).toBe(200);
    const sixth = await post();
    expect(sixth.status).toBe(404);
    expect(await sixth.json()).toMatchObject({ error: 'used_url' });
    expect(slack.messages(CHANNEL).filter((m) => m.text === 'working on it')).toHaveLength(5);
  });

  it('refuses invalid blocks with 400 and deletes the original on delete_original', async () => {
    const posted = await client.chat.postMessage({
      channel: CHANNEL,
      text: 'Approve?',
      blocks: [button('Approve')],
    });
    const click = await slack.clickButton({
      user: APPROVER_USER_ID,
      channel: CHANNEL,
      ts: posted.ts ?? '',
      actionId: 'go',
    });
    const send = (body: unknown) =>
      fetch(click.responseUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const bad = await send({ text: 'x', blocks: [button('b'.repeat(76))] });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'invalid_blocks' });
    expect((await send({ delete_original: true })).status).toBe(200);
    expect(slack.messages(CHANNEL).some((m) => m.ts === posted.ts)).toBe(false);
  });
});
