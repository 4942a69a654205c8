import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { readBody, sendHtml, sendJson } from './http-io.js';
import { type Interactions, parseCommandLine } from './interactions.js';
import { toSlackMarkup } from './mentions.js';
import type { Messaging } from './messaging.js';
import { renderPage } from './page-html.js';
import type { SimChannel, SimMessage, SlackUserSpec } from './types.js';
import { SLACKBOT_USER_ID, type Workspace } from './workspace.js';

/**
 * The page's own small JSON API: its state for one person and channel, what they send or click,
 * and a Server-Sent Events stream that says "something changed" so the page re-reads its state.
 */

const SendSchema = z.object({
  user: z.string().min(1),
  channel: z.string().min(1),
  text: z.string(),
  threadTs: z.string().optional(),
});

const ClickSchema = z.object({
  user: z.string().min(1),
  channel: z.string().min(1),
  ts: z.string().min(1),
  actionId: z.string().min(1),
  blockId: z.string().optional(),
  value: z.string().optional(),
});

export interface PageRoutesOptions {
  ws: Workspace;
  messaging: Messaging;
  interactions: Interactions;
  logger: Logger;
}

export type PageRoutes = ReturnType<typeof createPageRoutes>;

export function createPageRoutes(options: PageRoutesOptions) {
  const { ws, messaging, interactions, logger } = options;
  const streams = new Set<ServerResponse>();
  const html = renderPage(`${ws.team.name} — local Slack`);

  const people = (): SlackUserSpec[] =>
    [...ws.users.values()].filter((u) => u.id !== ws.app.botUserId && u.id !== SLACKBOT_USER_ID);

  function channelsFor(user: string): SimChannel[] {
    return [...ws.channels.values()].filter((c) => c.kind === 'channel' || c.imUser === user);
  }

  function pageMessage(m: SimMessage) {
    const summary = m.threadTs ? undefined : ws.threadSummary(m.channel, m.ts);
    return {
      ts: m.ts,
      user: m.user,
      text: m.text,
      blocks: m.blocks ?? [],
      ...(m.threadTs && { threadTs: m.threadTs }),
      ephemeral: m.ephemeralTo !== undefined,
      isBot: m.botId !== undefined,
      broadcast: m.replyBroadcast === true,
      edited: m.edited !== undefined,
      replyCount: summary?.replyCount ?? 0,
      reactions: m.reactions.map((r) => ({ name: r.name, count: r.users.length })),
    };
  }

  function state(requestedUser: string | null, requestedChannel: string | null) {
    const everyone = people();
    const self = everyone.find((u) => u.id === requestedUser) ?? everyone[0];
    const selfId = self?.id ?? '';
    const visible = channelsFor(selfId);
    const channel = visible.find((c) => c.id === requestedChannel) ?? visible[0];
    return {
      version: ws.version,
      team: ws.team.name,
      self: selfId,
      bot: { id: ws.app.botUserId, name: ws.app.botName },
      people: everyone,
      users: Object.fromEntries(
        [...ws.users.values()].map((u) => [u.id, { name: u.name, real_name: u.real_name }]),
      ),
      usergroups: Object.fromEntries([...ws.usergroups.values()].map((g) => [g.id, g.handle])),
      channels: visible.map((c) => ({ id: c.id, name: c.name, kind: c.kind })),
      channel: channel
        ? { id: channel.id, name: channel.name, kind: channel.kind }
        : { id: '', name: '', kind: 'channel' },
      commands: interactions.commands,
      messages: channel ? ws.visibleTo(channel.id, selfId).map(pageMessage) : [],
    };
  }

  /** A line typed into the composer, handled as the Slack client would. */
  function send(input: z.infer<typeof SendSchema>): { ok: boolean; error?: string; ts?: string } {
    const channel = ws.resolveChannel(input.channel);
    if (!channel) return { ok: false, error: 'channel_not_found' };
    if (!ws.users.has(input.user)) return { ok: false, error: 'user_not_found' };
    const text = input.text.trim();
    if (text === '') return { ok: false, error: 'no_text' };
    if (text.startsWith('/')) return runCommand(channel, input.user, text, input.threadTs);
    const markup = toSlackMarkup(text, ws.users.values(), ws.usergroups.values());
    const { message } = messaging.postAsUser({
      channel,
      user: input.user,
      text: markup,
      ...(input.threadTs && { threadTs: input.threadTs }),
    });
    return { ok: true, ts: message.ts };
  }

  function runCommand(channel: SimChannel, user: string, line: string, threadTs?: string) {
    const { command } = parseCommandLine(line);
    if (threadTs) {
      interactions.slackbotNotice(channel, user, `${command} is not supported in threads. Sorry!`, threadTs);
      return { ok: true };
    }
    if (!interactions.isCommand(command)) {
      interactions.slackbotNotice(channel, user, `${command} is not a valid command.`);
      return { ok: true };
    }
    // The command's outcome shows up in the channel (answers or a Slackbot error), not here.
    interactions
      .sendCommand({ user, channel: channel.id, text: line })
      .catch((err) => logger.warn({ err: errorMessage(err) }, 'local slack: command from the page failed'));
    return { ok: true };
  }

  async function click(input: z.infer<typeof ClickSchema>) {
    const result = await interactions.clickButton({
      user: input.user,
      channel: input.channel,
      ts: input.ts,
      actionId: input.actionId,
      ...(input.blockId && { blockId: input.blockId }),
      ...(input.value && { value: input.value }),
    });
    return { ok: result.outcome === 'acked', status: result.status, outcome: result.outcome };
  }

  function openStream(res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.write('retry: 1000\n\n');
    streams.add(res);
    res.on('close', () => streams.delete(res));
  }

  function broadcast(): void {
    const frame = `event: change\ndata: ${JSON.stringify({ version: ws.version })}\n\n`;
    for (const res of streams) res.write(frame);
  }
  const unsubscribe = ws.onChange(broadcast);
  const keepAlive = setInterval(() => {
    for (const res of streams) res.write(': keep-alive\n\n');
  }, 15_000);
  keepAlive.unref();

  async function jsonBody<T>(req: IncomingMessage, schema: z.ZodType<T>): Promise<T | undefined> {
    try {
      const parsed = schema.safeParse(JSON.parse(await readBody(req, 1 << 20)));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  /** Answers page routes; false when the path is not one of them. */
  async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /':
      case 'GET /index.html':
        sendHtml(res, html);
        return true;
      case 'GET /page/state':
        sendJson(res, 200, state(url.searchParams.get('user'), url.searchParams.get('channel')));
        return true;
      case 'GET /page/events':
        openStream(res);
        return true;
      case 'POST /page/send': {
        const input = await jsonBody(req, SendSchema);
        if (!input) sendJson(res, 400, { ok: false, error: 'invalid_arguments' });
        else {
          try {
            sendJson(res, 200, send(input));
          } catch (err) {
            sendJson(res, 200, { ok: false, error: errorMessage(err) });
          }
        }
        return true;
      }
      case 'POST /page/click': {
        const input = await jsonBody(req, ClickSchema);
        if (!input) sendJson(res, 400, { ok: false, error: 'invalid_arguments' });
        else {
          try {
            sendJson(res, 200, await click(input));
          } catch (err) {
            sendJson(res, 200, { ok: false, error: errorMessage(err) });
          }
        }
        return true;
      }
      default:
        return false;
    }
  }

  return {
    handle,
    close(): void {
      unsubscribe();
      clearInterval(keepAlive);
      for (const res of streams) res.end();
      streams.clear();
    },
  };
}
