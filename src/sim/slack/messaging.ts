import { randomUUID } from 'node:crypto';
import type { Logger } from '../../logger.js';
import { withGeneratedIds } from './block-kit.js';
import type { Deliverer, DeliveryAnswer } from './delivery.js';
import { mentions, richTextBlock } from './mentions.js';
import {
  apiMessage,
  botMessageEvent,
  eventEnvelope,
  type Identity,
  messageChangedEvent,
  messageDeletedEvent,
  userMessageEvent,
} from './payloads.js';
import type { Block, MessageMetadata, SimChannel, SimMessage } from './types.js';
import type { Workspace } from './workspace.js';

/**
 * The one place messages are created, changed and removed, and where the Events API hears about
 * it: a person's message becomes `message` (and `app_mention` when it mentions the bot); the
 * app's own messages and edits are echoed back as Slack does for a `message.channels` subscriber.
 * Ephemeral messages never produce events.
 */

export const DEFAULT_EVENT_SUBSCRIPTIONS: readonly string[] = [
  'app_mention',
  'message.channels',
  'message.groups',
];

export interface MessagingOptions {
  ws: Workspace;
  deliverer: Deliverer;
  logger: Logger;
  /** Bot events as in the app manifest: app_mention, message.channels, message.groups, message.im. */
  subscriptions: readonly string[];
  /** Echo the app's own messages and edits back to it (Slack does; Bolt drops them). */
  echoBotMessages: boolean;
}

export interface BotMessageInput {
  channel: SimChannel;
  text: string;
  blocks?: Block[];
  threadTs?: string;
  replyBroadcast?: boolean;
  ephemeralTo?: string;
  /** Post as this user instead of the bot (Slackbot notices). */
  asUser?: string;
  metadata?: MessageMetadata;
}

export type Messaging = ReturnType<typeof createMessaging>;

export function createMessaging(options: MessagingOptions) {
  const { ws, deliverer, logger } = options;
  const identity: Identity = { team: ws.team, app: ws.app };
  let eventCounter = 0;

  const nextEventId = () => `Ev${(++eventCounter).toString(36).toUpperCase().padStart(9, '0')}`;

  function subscribed(channel: SimChannel, type: 'message' | 'app_mention'): boolean {
    if (type === 'app_mention') return options.subscriptions.includes('app_mention') && channel.kind !== 'im';
    const needed = channel.kind === 'im' ? 'message.im' : 'message.channels';
    return options.subscriptions.includes(needed) || options.subscriptions.includes('message');
  }

  function publish(event: Record<string, unknown>): Promise<DeliveryAnswer> {
    const envelope = eventEnvelope({
      id: identity,
      event,
      eventId: nextEventId(),
      eventTimeS: Math.floor(ws.clock.now() / 1000),
    });
    const label =
      typeof event['subtype'] === 'string' ? `message.${event['subtype']}` : String(event['type']);
    return deliverer.deliver({
      kind: 'event_callback',
      label,
      body: JSON.stringify(envelope),
      contentType: 'application/json',
    });
  }

  function parentUser(m: SimMessage): string | undefined {
    return m.threadTs ? ws.findMessage(m.channel, m.threadTs)?.user : undefined;
  }

  /** Replies go under the thread's parent, even when the app names a reply's ts. */
  function resolveThread(channel: SimChannel, threadTs: string | undefined): string | undefined {
    if (threadTs === undefined || threadTs === '') return undefined;
    const target = ws.findMessage(channel.id, threadTs);
    if (!target || target.ephemeralTo) {
      logger.warn(
        { channel: channel.id, threadTs },
        'local slack: thread_ts names no message; posting to the channel',
      );
      return undefined;
    }
    return target.threadTs ?? target.ts;
  }

  function postAsBot(input: BotMessageInput): SimMessage {
    const threadTs = resolveThread(input.channel, input.threadTs);
    const fromBot = input.asUser === undefined;
    const message: SimMessage = {
      channel: input.channel.id,
      ts: ws.nextTs(),
      user: input.asUser ?? ws.app.botUserId,
      ...(fromBot && { botId: ws.app.botId }),
      text: input.text,
      ...(input.blocks && { blocks: withGeneratedIds(input.blocks) }),
      ...(threadTs && { threadTs }),
      ...(threadTs && input.replyBroadcast && { replyBroadcast: true }),
      ...(input.ephemeralTo && { ephemeralTo: input.ephemeralTo }),
      ...(input.metadata && { metadata: input.metadata }),
      reactions: [],
    };
    ws.addMessage(message);
    if (!message.ephemeralTo && fromBot && options.echoBotMessages && subscribed(input.channel, 'message')) {
      void publish(botMessageEvent(message, input.channel, identity, parentUser(message)));
    }
    return message;
  }

  function apiView(m: SimMessage) {
    return apiMessage(m, identity, m.threadTs ? undefined : ws.threadSummary(m.channel, m.ts), parentUser(m));
  }

  function replaceContent(
    channel: SimChannel,
    message: SimMessage,
    content: { text?: string; blocks?: Block[] },
    markEdited: boolean,
  ): SimMessage {
    const before = apiView(message);
    if (content.text !== undefined) message.text = content.text;
    if (content.blocks !== undefined) {
      if (content.blocks.length > 0) message.blocks = withGeneratedIds(content.blocks);
      else delete message.blocks;
    }
    if (markEdited) message.edited = { user: ws.app.botUserId, ts: ws.nextTs() };
    ws.changed();
    if (!message.ephemeralTo && options.echoBotMessages && subscribed(channel, 'message')) {
      void publish(messageChangedEvent(before, apiView(message), channel, ws.nextTs()));
    }
    return message;
  }

  function remove(channel: SimChannel, message: SimMessage): void {
    const before = apiView(message);
    ws.removeMessage(channel.id, message.ts);
    if (!message.ephemeralTo && options.echoBotMessages && subscribed(channel, 'message')) {
      void publish(messageDeletedEvent(before, channel, ws.nextTs()));
    }
  }

  /** A person's message: stored, then delivered as events (both at once, as Slack does). */
  function postAsUser(input: { channel: SimChannel; user: string; text: string; threadTs?: string }): {
    message: SimMessage;
    delivered: Promise<DeliveryAnswer[]>;
  } {
    const threadTs = resolveThread(input.channel, input.threadTs);
    const message: SimMessage = {
      channel: input.channel.id,
      ts: ws.nextTs(),
      user: input.user,
      text: input.text,
      // The Slack client sends what was typed as a rich_text block alongside the text.
      blocks: [richTextBlock(input.text, randomUUID().slice(0, 5))],
      clientMsgId: randomUUID(),
      ...(threadTs && { threadTs }),
      reactions: [],
    };
    ws.addMessage(message);
    const parent = parentUser(message);
    const deliveries: Promise<DeliveryAnswer>[] = [];
    if (mentions(message.text, ws.app.botUserId) && subscribed(input.channel, 'app_mention')) {
      deliveries.push(publish(userMessageEvent(message, input.channel, identity, 'app_mention', parent)));
    }
    if (subscribed(input.channel, 'message')) {
      deliveries.push(publish(userMessageEvent(message, input.channel, identity, 'message', parent)));
    }
    return { message, delivered: Promise.all(deliveries) };
  }

  return { identity, postAsBot, postAsUser, replaceContent, remove, apiView, resolveThread };
}
