/** Plain data the local Slack keeps. Shapes follow Slack's own names where Slack exposes them. */

export interface SlackUserSpec {
  id: string;
  name: string;
  real_name: string;
}

export interface SlackChannelSpec {
  id: string;
  name: string;
}

export interface SlackUsergroupSpec {
  id: string;
  handle: string;
  users: string[];
}

/** A Block Kit block after validation (block-kit.ts): an object with a string `type`. */
export type Block = { type: string } & Record<string, unknown>;

export interface Reaction {
  name: string;
  users: string[];
}

export interface SimChannel {
  id: string;
  name: string;
  /** `im` is a direct message between the bot and `imUser`. */
  kind: 'channel' | 'im';
  imUser?: string;
}

export interface SimMessage {
  channel: string;
  ts: string;
  /** The parent's ts when this message is a reply in a thread. */
  threadTs?: string;
  /** Author: a user id, or the bot's user id for the app's messages. */
  user: string;
  /** Set on messages the app posted. */
  botId?: string;
  text: string;
  blocks?: Block[];
  /** Ephemeral messages exist only for this user (Slack never stores them in history). */
  ephemeralTo?: string;
  replyBroadcast?: boolean;
  reactions: Reaction[];
  edited?: { user: string; ts: string };
  clientMsgId?: string;
  /** Message metadata the app attached (chat.postMessage `metadata`). */
  metadata?: MessageMetadata;
}

export interface MessageMetadata {
  event_type: string;
  event_payload: Record<string, unknown>;
}

export interface TeamInfo {
  id: string;
  domain: string;
  name: string;
}

export interface AppIdentity {
  appId: string;
  botId: string;
  botUserId: string;
  botName: string;
}
