import { randomBytes } from 'node:crypto';
import { richTextBlock } from './mentions.js';
import type { AppIdentity, SimChannel, SimMessage, TeamInfo } from './types.js';
import type { ThreadSummary } from './workspace.js';

/**
 * The exact shapes Slack sends and returns: the Web API's message object, the slash command
 * form, the block_actions payload and the Events API envelope. Pure builders, so the shapes can
 * be read in one place and checked against Slack's documentation.
 */

/** The legacy verification token Slack still puts in every payload (Bolt ignores it). */
export const VERIFICATION_TOKEN = 'localslackverificationtoken';

export interface Identity {
  team: TeamInfo;
  app: AppIdentity;
}

export function botProfile(id: Identity) {
  return {
    id: id.app.botId,
    app_id: id.app.appId,
    name: id.app.botName,
    deleted: false,
    team_id: id.team.id,
    icons: {},
  };
}

/** A message as conversations.replies, chat.postMessage and the events return it. */
export function apiMessage(m: SimMessage, id: Identity, thread?: ThreadSummary, parentUser?: string) {
  return {
    type: 'message',
    ...(m.clientMsgId && { client_msg_id: m.clientMsgId }),
    text: m.text,
    user: m.user,
    ts: m.ts,
    team: id.team.id,
    ...(m.botId && { bot_id: m.botId, app_id: id.app.appId, bot_profile: botProfile(id) }),
    ...(m.blocks && { blocks: m.blocks }),
    ...(m.threadTs && { thread_ts: m.threadTs }),
    ...(m.threadTs && parentUser && { parent_user_id: parentUser }),
    ...(thread && {
      thread_ts: m.ts,
      reply_count: thread.replyCount,
      reply_users: thread.replyUsers,
      reply_users_count: thread.replyUsers.length,
      latest_reply: thread.latestReply,
    }),
    ...(m.replyBroadcast && { subtype: 'thread_broadcast' }),
    ...(m.edited && { edited: m.edited }),
    ...(m.reactions.length > 0 && {
      reactions: m.reactions.map((r) => ({ name: r.name, users: r.users, count: r.users.length })),
    }),
  };
}

export function triggerId(nowMs: number): string {
  return `${Math.floor(nowMs / 1000)}.${1000 + Math.floor(Math.random() * 9000)}.${randomBytes(16).toString('hex')}`;
}

export interface SlashCommandInput {
  id: Identity;
  channel: SimChannel;
  user: { id: string; name: string };
  command: string;
  text: string;
  responseUrl: string;
  triggerId: string;
}

/** The form Slack posts for a slash command: same fields, same order. */
export function slashCommandForm(input: SlashCommandInput): string {
  const { id, channel, user } = input;
  return new URLSearchParams({
    token: VERIFICATION_TOKEN,
    team_id: id.team.id,
    team_domain: id.team.domain,
    channel_id: channel.id,
    channel_name: channelName(channel),
    user_id: user.id,
    user_name: user.name,
    command: input.command,
    text: input.text,
    api_app_id: id.app.appId,
    is_enterprise_install: 'false',
    response_url: input.responseUrl,
    trigger_id: input.triggerId,
  }).toString();
}

function channelName(channel: SimChannel): string {
  return channel.kind === 'im' ? 'directmessage' : channel.name;
}

export interface ButtonClickInput {
  id: Identity;
  channel: SimChannel;
  user: { id: string; name: string };
  /** The clicked message in its API shape (omitted from the payload when ephemeral, as Slack does). */
  message: ReturnType<typeof apiMessage>;
  ephemeral: boolean;
  button: { actionId: string; blockId: string; text: unknown; value?: string; style?: string };
  actionTs: string;
  responseUrl: string;
  triggerId: string;
}

export function blockActionsPayload(input: ButtonClickInput) {
  const { id, channel, user, button } = input;
  return {
    type: 'block_actions',
    user: { id: user.id, username: user.name, name: user.name, team_id: id.team.id },
    api_app_id: id.app.appId,
    token: VERIFICATION_TOKEN,
    container: {
      type: 'message',
      message_ts: input.message.ts,
      channel_id: channel.id,
      is_ephemeral: input.ephemeral,
      ...(input.message.thread_ts && { thread_ts: input.message.thread_ts }),
    },
    trigger_id: input.triggerId,
    team: { id: id.team.id, domain: id.team.domain },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: channel.id, name: channelName(channel) },
    ...(!input.ephemeral && { message: input.message }),
    state: { values: {} },
    response_url: input.responseUrl,
    actions: [
      {
        action_id: button.actionId,
        block_id: button.blockId,
        text: button.text,
        ...(button.value !== undefined && { value: button.value }),
        ...(button.style !== undefined && { style: button.style }),
        type: 'button',
        action_ts: input.actionTs,
      },
    ],
  };
}

/** The interactivity body: form-encoded with the payload as JSON in one field. */
export function interactivityForm(payload: unknown): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export interface EnvelopeInput {
  id: Identity;
  event: Record<string, unknown>;
  eventId: string;
  eventTimeS: number;
}

export function eventEnvelope(input: EnvelopeInput) {
  const { id } = input;
  const context = { eid: id.team.id, tid: id.team.id, aid: id.app.appId, cid: input.event['channel'] };
  return {
    token: VERIFICATION_TOKEN,
    team_id: id.team.id,
    context_team_id: id.team.id,
    context_enterprise_id: null,
    api_app_id: id.app.appId,
    event: input.event,
    type: 'event_callback',
    event_id: input.eventId,
    event_time: input.eventTimeS,
    authorizations: [
      {
        enterprise_id: null,
        team_id: id.team.id,
        user_id: id.app.botUserId,
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
    event_context: `4-${Buffer.from(JSON.stringify(context)).toString('base64url')}`,
  };
}

/** What a person's message looks like as a `message` event (or, with `type`, an `app_mention`). */
export function userMessageEvent(
  m: SimMessage,
  channel: SimChannel,
  id: Identity,
  type: 'message' | 'app_mention',
  parentUser?: string,
) {
  return {
    ...(m.clientMsgId && { client_msg_id: m.clientMsgId }),
    type,
    text: m.text,
    user: m.user,
    ts: m.ts,
    blocks: m.blocks ?? [richTextBlock(m.text, m.ts.replace('.', '').slice(-5))],
    team: id.team.id,
    ...(m.threadTs && { thread_ts: m.threadTs }),
    ...(m.threadTs && parentUser && { parent_user_id: parentUser }),
    channel: channel.id,
    event_ts: m.ts,
    ...(type === 'message' && { channel_type: channelType(channel) }),
  };
}

export function channelType(channel: SimChannel): string {
  return channel.kind === 'im' ? 'im' : 'channel';
}

/** The app's own message as the Events API echoes it back (Bolt drops these by bot id / user). */
export function botMessageEvent(m: SimMessage, channel: SimChannel, id: Identity, parentUser?: string) {
  return {
    ...apiMessage(m, id, undefined, parentUser),
    channel: channel.id,
    event_ts: m.ts,
    channel_type: channelType(channel),
  };
}

export function messageChangedEvent(
  before: ReturnType<typeof apiMessage>,
  after: ReturnType<typeof apiMessage>,
  channel: SimChannel,
  eventTs: string,
) {
  return {
    type: 'message',
    subtype: 'message_changed',
    message: after,
    previous_message: before,
    channel: channel.id,
    hidden: true,
    ts: eventTs,
    event_ts: eventTs,
    channel_type: channelType(channel),
  };
}

export function messageDeletedEvent(
  before: ReturnType<typeof apiMessage>,
  channel: SimChannel,
  eventTs: string,
) {
  return {
    type: 'message',
    subtype: 'message_deleted',
    previous_message: before,
    channel: channel.id,
    hidden: true,
    deleted_ts: before.ts,
    ts: eventTs,
    event_ts: eventTs,
    channel_type: channelType(channel),
  };
}
