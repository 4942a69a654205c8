import { z } from 'zod';
import { checkMessageContent } from './block-kit.js';
import type { Messaging } from './messaging.js';
import type { MessageMetadata, SimChannel, SimMessage, SlackUserSpec } from './types.js';
import { SLACKBOT_USER_ID, type Workspace } from './workspace.js';

/**
 * The Web API methods the app uses, answering as Slack does: HTTP 200 with `{ok:true,...}` or
 * `{ok:false,error}` using Slack's error codes. Arguments arrive as strings (form-encoded) or
 * JSON values; zod turns either into typed arguments.
 */

export type ApiBody = { ok: boolean } & Record<string, unknown>;
type Args = Record<string, unknown>;

const fail = (error: string, extra: Record<string, unknown> = {}): ApiBody => ({
  ok: false,
  error,
  ...extra,
});

const Flag = z
  .union([z.boolean(), z.string(), z.number()])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 1);
const Int = z.union([z.number(), z.string().regex(/^\d+$/)]).transform(Number);
const Ts = z.string().regex(/^\d+\.\d+$/, 'must be a message ts');

const PostMessageArgs = z.object({
  channel: z.string().min(1),
  text: z.string().optional(),
  blocks: z.unknown().optional(),
  attachments: z.unknown().optional(),
  thread_ts: Ts.optional(),
  reply_broadcast: Flag.optional(),
  metadata: z.unknown().optional(),
});

const Metadata = z.object({
  event_type: z.string().regex(/^[A-Za-z0-9_.-]{1,255}$/),
  event_payload: z.record(z.string(), z.unknown()),
});

/** Slack's `metadata` argument: an object, or its JSON in a form-encoded call. */
function parseMetadata(raw: unknown): { ok: true; value?: MessageMetadata } | { ok: false; reply: ApiBody } {
  if (raw === undefined) return { ok: true };
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return { ok: false, reply: fail('invalid_metadata_format') };
    }
  }
  const parsed = Metadata.safeParse(value);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, reply: fail('invalid_metadata_schema') };
}
const UpdateArgs = z.object({
  channel: z.string().min(1),
  ts: Ts,
  text: z.string().optional(),
  blocks: z.unknown().optional(),
});
const DeleteArgs = z.object({ channel: z.string().min(1), ts: Ts });
const EphemeralArgs = PostMessageArgs.omit({ reply_broadcast: true }).extend({ user: z.string().min(1) });
const ReactionArgs = z.object({ channel: z.string().min(1), timestamp: Ts, name: z.string().min(1) });
const UserArgs = z.object({ user: z.string().min(1) });
const UsergroupArgs = z.object({ usergroup: z.string().min(1) });
const RepliesArgs = z.object({
  channel: z.string().min(1),
  ts: Ts,
  limit: Int.optional(),
  include_all_metadata: Flag.optional(),
});
const HistoryArgs = z.object({
  channel: z.string().min(1),
  limit: Int.optional(),
  include_all_metadata: Flag.optional(),
  oldest: Ts.optional(),
  latest: Ts.optional(),
});
const ChannelArgs = z.object({ channel: z.string().min(1) });
const PermalinkArgs = z.object({ channel: z.string().min(1), message_ts: Ts });

export interface WebApiOptions {
  ws: Workspace;
  messaging: Messaging;
  /** Base of the local Slack (`http://127.0.0.1:port`), for permalinks. */
  origin: string;
}

export type WebApi = ReturnType<typeof createWebApi>;

export function createWebApi(options: WebApiOptions) {
  const { ws, messaging } = options;

  /** Parses arguments; a missing channel is `channel_not_found`, anything else `invalid_arguments`. */
  function parse<T>(schema: z.ZodType<T>, args: Args): { ok: true; data: T } | { ok: false; reply: ApiBody } {
    const result = schema.safeParse(args);
    if (result.success) return { ok: true, data: result.data };
    if (result.error.issues.some((i) => i.path[0] === 'channel')) {
      return { ok: false, reply: fail('channel_not_found') };
    }
    const messages = result.error.issues.map(
      (i) => `[ERROR] ${i.message} [json-pointer:/${i.path.join('/')}]`,
    );
    return { ok: false, reply: fail('invalid_arguments', { response_metadata: { messages } }) };
  }

  function content(args: { text?: string | undefined; blocks?: unknown; attachments?: unknown }) {
    const hasAttachments =
      args.attachments !== undefined && args.attachments !== '' && args.attachments !== '[]';
    const checked = checkMessageContent({ text: args.text, blocks: args.blocks });
    if (!checked.ok && checked.error === 'no_text' && hasAttachments) return { ok: true as const, text: '' };
    return checked;
  }

  function contentError(checked: { error: string; errors?: string[] }): ApiBody {
    if (!checked.errors) return fail(checked.error);
    return fail(checked.error, {
      errors: checked.errors,
      response_metadata: { messages: checked.errors.map((e) => `[ERROR] ${e}`) },
    });
  }

  function userView(u: SlackUserSpec) {
    const isBot = u.id === ws.app.botUserId || u.id === SLACKBOT_USER_ID;
    return {
      id: u.id,
      team_id: ws.team.id,
      name: u.name,
      deleted: false,
      real_name: u.real_name,
      tz: 'Etc/UTC',
      tz_label: 'Coordinated Universal Time',
      tz_offset: 0,
      profile: {
        real_name: u.real_name,
        display_name: u.name,
        real_name_normalized: u.real_name,
        display_name_normalized: u.name,
        team: ws.team.id,
        ...(u.id === ws.app.botUserId && { bot_id: ws.app.botId, api_app_id: ws.app.appId }),
      },
      is_admin: false,
      is_owner: false,
      is_bot: isBot,
      is_app_user: false,
      updated: 1767225600,
    };
  }

  function channelView(c: SimChannel) {
    return {
      id: c.id,
      name: c.name,
      is_channel: c.kind === 'channel',
      is_group: false,
      is_im: c.kind === 'im',
      is_private: c.kind === 'im',
      is_archived: false,
      is_member: true,
      ...(c.imUser && { user: c.imUser }),
    };
  }

  /** A page of messages as conversations.history and .replies return it; metadata only when asked. */
  function listing(page: readonly SimMessage[], total: number, withMetadata: boolean | undefined) {
    return {
      ok: true,
      messages: page.map((m) => ({
        ...messaging.apiView(m),
        ...(withMetadata && m.metadata && { metadata: m.metadata }),
      })),
      has_more: page.length < total,
      response_metadata: { next_cursor: '' },
    };
  }

  /** Messages the app may read: never someone's ephemeral message. */
  function stored(channel: SimChannel, ts: string): SimMessage | undefined {
    const m = ws.findMessage(channel.id, ts);
    return m && !m.ephemeralTo ? m : undefined;
  }

  const methods: Record<string, (args: Args) => ApiBody> = {
    'api.test': (args) => ({ ok: true, args }),

    'auth.test': () => ({
      ok: true,
      url: `https://${ws.team.domain}.slack.com/`,
      team: ws.team.name,
      user: ws.app.botName,
      team_id: ws.team.id,
      user_id: ws.app.botUserId,
      bot_id: ws.app.botId,
      is_enterprise_install: false,
    }),

    'chat.postMessage': (args) => {
      const p = parse(PostMessageArgs, args);
      if (!p.ok) return p.reply;
      const channel = ws.resolveChannel(p.data.channel);
      if (!channel) return fail('channel_not_found');
      const checked = content(p.data);
      if (!checked.ok) return contentError(checked);
      const metadata = parseMetadata(p.data.metadata);
      if (!metadata.ok) return metadata.reply;
      const message = messaging.postAsBot({
        channel,
        text: checked.text,
        ...(checked.blocks && { blocks: checked.blocks }),
        ...(p.data.thread_ts && { threadTs: p.data.thread_ts }),
        ...(p.data.reply_broadcast && { replyBroadcast: true }),
        ...(metadata.value && { metadata: metadata.value }),
      });
      return { ok: true, channel: channel.id, ts: message.ts, message: messaging.apiView(message) };
    },

    'chat.update': (args) => {
      const p = parse(UpdateArgs, args);
      if (!p.ok) return p.reply;
      const channel = ws.resolveChannel(p.data.channel);
      if (!channel) return fail('channel_not_found');
      const message = stored(channel, p.data.ts);
      if (!message) return fail('message_not_found');
      if (message.botId !== ws.app.botId) return fail('cant_update_message');
      // Slack keeps the previous text and blocks for whichever of the two the call leaves out.
      const checked = content({
        text: p.data.text ?? message.text,
        blocks: p.data.blocks ?? message.blocks,
      });
      if (!checked.ok) return contentError(checked);
      const blocks = p.data.blocks === undefined ? undefined : (checked.blocks ?? []);
      messaging.replaceContent(channel, message, { text: checked.text, ...(blocks && { blocks }) }, true);
      return {
        ok: true,
        channel: channel.id,
        ts: message.ts,
        text: message.text,
        message: messaging.apiView(message),
      };
    },

    'chat.delete': (args) => {
      const p = parse(DeleteArgs, args);
      if (!p.ok) return p.reply;
      const channel = ws.resolveChannel(p.data.channel);
      if (!channel) return fail('channel_not_found');
      const message = stored(channel, p.data.ts);
      if (!message) return fail('message_not_found');
      if (message.botId !== ws.app.botId) return fail('cant_delete_message');
      messaging.remove(channel, message);
      return { ok: true, channel: channel.id, ts: message.ts };
    },

    'chat.postEphemeral': (args) => {
      const p = parse(EphemeralArgs, args);
      if (!p.ok) return p.reply;
      const channel = ws.resolveChannel(p.data.channel);
      if (!channel) return fail('channel_not_found');
      if (!ws.users.has(p.data.user)) return fail('user_not_found');
      if (channel.kind === 'im' && channel.imUser !== p.data.user) return fail('user_not_in_channel');
      const checked = content(p.data);
      if (!checked.ok) return contentError(checked);
      const message = messaging.postAsBot({
        channel,
        text: checked.text,
        ...(checked.blocks && { blocks: checked.blocks }),
        ...(p.data.thread_ts && { threadTs: p.data.thread_ts }),
        ephemeralTo: p.data.user,
      });
      return { ok: true, message_ts: message.ts };
    },

    'chat.getPermalink': (args) => {
      const p = parse(PermalinkArgs, args);
      if (!p.ok) return p.reply;
      const channel = ws.resolveChannel(p.data.channel);
      if (!channel) return fail('channel_not_found');
      if (!stored(channel, p.data.message_ts)) return fail('message_not_found');
      const query = new URLSearchParams({ channel: channel.id, ts: p.data.message_ts });
      return { ok: true, channel: channel.id, permalink: `${options.origin}/?${query}` };
    },

    'reactions.add': (args) => {
      const p = parse(ReactionArgs, args);
      if (!p.ok) return p.reply;
      const channel = ws.resolveChannel(p.data.channel);
      if (!channel) return fail('channel_not_found');
      const message = stored(channel, p.data.timestamp);
      if (!message) return fail('message_not_found');
      const name = p.data.name.replace(/^:|:$/g, '');
      const reaction = message.reactions.find((r) => r.name === name);
      if (reaction?.users.includes(ws.app.botUserId)) return fail('already_reacted');
      if (reaction) reaction.users.push(ws.app.botUserId);
      else message.reactions.push({ name, users: [ws.app.botUserId] });
      ws.changed();
      return { ok: true };
    },

    'reactions.remove': (args) => {
      const p = parse(ReactionArgs, args);
      if (!p.ok) return p.reply;
      const channel = ws.resolveChannel(p.data.channel);
      if (!channel) return fail('channel_not_found');
      const message = stored(channel, p.data.timestamp);
      if (!message) return fail('message_not_found');
      const name = p.data.name.replace(/^:|:$/g, '');
      const reaction = message.reactions.find((r) => r.name === name);
      if (!reaction?.users.includes(ws.app.botUserId)) return fail('no_reaction');
      reaction.users = reaction.users.filter((u) => u !== ws.app.botUserId);
      message.reactions = message.reactions.filter((r) => r.users.length > 0);
      ws.changed();
      return { ok: true };
    },

    'users.info': (args) => {
      const p = parse(UserArgs, args);
      if (!p.ok) return p.reply;
      const user = ws.users.get(p.data.user);
      return user ? { ok: true, user: userView(user) } : fail('user_not_found');
    },

    'usergroups.users.list': (args) => {
      const p = parse(UsergroupArgs, args);
      if (!p.ok) return p.reply;
      const group = ws.usergroups.get(p.data.usergroup);
      return group ? { ok: true, users: [...group.users] } : fail('no_such_subteam');
    },

    'conversations.replies': (args) => {
      const p = parse(RepliesArgs, args);
      if (!p.ok) return p.reply;
      const channel = ws.resolveChannel(p.data.channel);
      if (!channel) return fail('channel_not_found');
      const named = stored(channel, p.data.ts);
      if (!named) return fail('thread_not_found');
      const thread = ws.thread(channel.id, named.threadTs ?? named.ts);
      const limited = p.data.limit ? thread.slice(0, Math.max(1, p.data.limit)) : thread;
      return listing(limited, thread.length, p.data.include_all_metadata);
    },

    'conversations.history': (args) => {
      const p = parse(HistoryArgs, args);
      if (!p.ok) return p.reply;
      const channel = ws.resolveChannel(p.data.channel);
      if (!channel) return fail('channel_not_found');
      const { oldest, latest } = p.data;
      const inChannel = ws
        .allMessages(channel.id)
        .filter((m) => !m.ephemeralTo && (!m.threadTs || m.replyBroadcast))
        .filter((m) => (oldest === undefined || m.ts > oldest) && (latest === undefined || m.ts < latest))
        .reverse();
      const limit = p.data.limit || 100;
      const page = inChannel.slice(0, limit);
      return listing(page, inChannel.length, p.data.include_all_metadata);
    },

    'conversations.info': (args) => {
      const p = parse(ChannelArgs, args);
      if (!p.ok) return p.reply;
      const channel = ws.resolveChannel(p.data.channel);
      return channel ? { ok: true, channel: channelView(channel) } : fail('channel_not_found');
    },
  };

  return {
    has: (method: string) => Object.hasOwn(methods, method),
    call(method: string, args: Args): ApiBody {
      const handler = methods[method];
      return handler ? handler(args) : fail('unknown_method');
    },
  };
}
