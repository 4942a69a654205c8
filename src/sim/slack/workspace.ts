import type { Clock } from '../../clock.js';
import type {
  AppIdentity,
  SimChannel,
  SimMessage,
  SlackChannelSpec,
  SlackUsergroupSpec,
  SlackUserSpec,
  TeamInfo,
} from './types.js';

/**
 * The workspace's state: people, channels, user groups and every message. In memory only: the
 * local Slack lives as long as a demo or a test. Every mutation bumps `version` and tells the
 * listeners, which is what the page's live updates and `waitFor` hang on.
 */

export const SLACKBOT_USER_ID = 'USLACKBOT';

export interface WorkspaceOptions {
  clock: Clock;
  team: TeamInfo;
  app: AppIdentity;
  users: readonly SlackUserSpec[];
  channels: readonly SlackChannelSpec[];
  usergroups: readonly SlackUsergroupSpec[];
}

export interface ThreadSummary {
  replyCount: number;
  replyUsers: string[];
  latestReply?: string;
}

export type Workspace = ReturnType<typeof createWorkspace>;

/** Slack message timestamps: epoch seconds, a dot, six digits; unique and increasing per workspace. */
export function formatTs(micros: number): string {
  const seconds = Math.floor(micros / 1_000_000);
  const rest = micros - seconds * 1_000_000;
  return `${seconds}.${String(rest).padStart(6, '0')}`;
}

export function tsToMicros(ts: string): number {
  const [s, frac = '0'] = ts.split('.');
  return Number(s) * 1_000_000 + Number(frac.padEnd(6, '0').slice(0, 6));
}

/** The id of the direct-message channel between the bot and a user. */
export function imChannelId(userId: string): string {
  return `D${userId.replace(/^[UW]/, '')}`;
}

export function createWorkspace(options: WorkspaceOptions) {
  const { clock, team, app } = options;
  const users = new Map<string, SlackUserSpec>();
  for (const u of options.users) users.set(u.id, { ...u });
  users.set(app.botUserId, { id: app.botUserId, name: app.botName, real_name: app.botName });
  users.set(SLACKBOT_USER_ID, { id: SLACKBOT_USER_ID, name: 'slackbot', real_name: 'Slackbot' });
  const channels = new Map<string, SimChannel>();
  for (const c of options.channels) channels.set(c.id, { id: c.id, name: c.name, kind: 'channel' });
  const usergroups = new Map<string, SlackUsergroupSpec>();
  for (const g of options.usergroups) usergroups.set(g.id, { ...g, users: [...g.users] });
  const messages = new Map<string, SimMessage[]>();
  const listeners = new Set<() => void>();
  let lastMicros = 0;
  let version = 0;

  function changed(): void {
    version += 1;
    for (const listener of [...listeners]) listener();
  }

  function nextTs(): string {
    lastMicros = Math.max(Math.floor(clock.now() * 1000), lastMicros) + 100;
    return formatTs(lastMicros);
  }

  function channelMessages(channel: string): SimMessage[] {
    let list = messages.get(channel);
    if (!list) {
      list = [];
      messages.set(channel, list);
    }
    return list;
  }

  /** Accepts what chat.postMessage accepts: a channel id, `#name` or `name`, or a user id (a DM). */
  function resolveChannel(ref: string): SimChannel | undefined {
    const byId = channels.get(ref);
    if (byId) return byId;
    const name = ref.replace(/^#/, '');
    for (const c of channels.values()) if (c.kind === 'channel' && c.name === name) return c;
    const user = users.get(ref);
    if (user && user.id !== app.botUserId && user.id !== SLACKBOT_USER_ID) return openIm(user.id);
    return undefined;
  }

  function openIm(userId: string): SimChannel {
    const id = imChannelId(userId);
    const existing = channels.get(id);
    if (existing) return existing;
    const created: SimChannel = { id, name: users.get(userId)?.name ?? userId, kind: 'im', imUser: userId };
    channels.set(id, created);
    changed();
    return created;
  }

  function findMessage(channel: string, ts: string): SimMessage | undefined {
    return messages.get(channel)?.find((m) => m.ts === ts);
  }

  function addMessage(message: SimMessage): SimMessage {
    channelMessages(message.channel).push(message);
    changed();
    return message;
  }

  function removeMessage(channel: string, ts: string): SimMessage | undefined {
    const list = messages.get(channel);
    const index = list?.findIndex((m) => m.ts === ts) ?? -1;
    if (!list || index < 0) return undefined;
    const [removed] = list.splice(index, 1);
    changed();
    return removed;
  }

  /** Parent first, then its replies in order; ephemeral messages never belong to a thread's history. */
  function thread(channel: string, parentTs: string): SimMessage[] {
    const list = messages.get(channel) ?? [];
    const parent = list.find((m) => m.ts === parentTs && !m.ephemeralTo);
    if (!parent) return [];
    return [parent, ...list.filter((m) => m.threadTs === parentTs && m.ts !== parentTs && !m.ephemeralTo)];
  }

  function threadSummary(channel: string, parentTs: string): ThreadSummary | undefined {
    const replies = thread(channel, parentTs).slice(1);
    if (replies.length === 0) return undefined;
    const replyUsers = [...new Set(replies.map((m) => m.user))];
    const latest = replies[replies.length - 1];
    return { replyCount: replies.length, replyUsers, ...(latest && { latestReply: latest.ts }) };
  }

  function visibleTo(channel: string, userId: string): SimMessage[] {
    return (messages.get(channel) ?? []).filter((m) => !m.ephemeralTo || m.ephemeralTo === userId);
  }

  function setUsergroupMembers(id: string, members: readonly string[]): void {
    const group = usergroups.get(id);
    if (group) group.users = [...members];
    else usergroups.set(id, { id, handle: id.toLowerCase(), users: [...members] });
    changed();
  }

  return {
    team,
    app,
    clock,
    get version() {
      return version;
    },
    users,
    channels,
    usergroups,
    nextTs,
    resolveChannel,
    openIm,
    findMessage,
    addMessage,
    removeMessage,
    thread,
    threadSummary,
    visibleTo,
    allMessages: (channel: string): readonly SimMessage[] => messages.get(channel) ?? [],
    setUsergroupMembers,
    /** Call after changing a message in place. */
    changed,
    onChange(listener: () => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
