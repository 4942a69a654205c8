import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { checkMessageContent } from './block-kit.js';
import type { Messaging } from './messaging.js';
import type { SimChannel, SimMessage } from './types.js';
import type { Workspace } from './workspace.js';

/**
 * `response_url` hosting. Each slash command and click gets its own URL, good for 5 posts within
 * 30 minutes as in Slack. A post is ephemeral to the invoking user unless `response_type` is
 * `in_channel`; `replace_original` / `delete_original` act on the clicked message (or, for a
 * command, on the last message this URL posted).
 */

export const RESPONSE_URL_MAX_USES = 5;
export const RESPONSE_URL_TTL_MS = 30 * 60_000;

const Flag = z.union([z.boolean(), z.enum(['true', 'false'])]).transform((v) => v === true || v === 'true');

export const ResponseMessageSchema = z.looseObject({
  response_type: z.enum(['ephemeral', 'in_channel']).optional(),
  replace_original: Flag.optional(),
  delete_original: Flag.optional(),
  text: z.string().optional(),
  blocks: z.unknown().optional(),
  thread_ts: z.string().optional(),
});
export type ResponseMessage = z.infer<typeof ResponseMessageSchema>;

export interface ResponseUrlPost {
  /** Wall-clock epoch ms. */
  at: number;
  body: unknown;
  status: number;
  error?: string;
  /** The message the post created or changed, when it did. */
  ts?: string;
}

interface MessageRef {
  ts: string;
}

interface ResponseUrlEntry {
  id: string;
  channel: SimChannel;
  user: string;
  /** The clicked message, for clicks. */
  original?: MessageRef;
  /** What this URL last posted: a command's `replace_original` acts on it. */
  lastPosted?: MessageRef;
  uses: number;
  createdAt: number;
  posts: ResponseUrlPost[];
}

export interface ResponseReply {
  status: number;
  body: { ok: boolean; error?: string; errors?: string[] };
  ts?: string;
}

export type ResponseUrls = ReturnType<typeof createResponseUrls>;

export function createResponseUrls(options: { origin: string; ws: Workspace; messaging: Messaging }) {
  const { ws, messaging } = options;
  const entries = new Map<string, ResponseUrlEntry>();

  function create(channel: SimChannel, user: string, original?: MessageRef) {
    const id = randomBytes(12).toString('hex');
    const entry: ResponseUrlEntry = {
      id,
      channel,
      user,
      ...(original && { original }),
      uses: 0,
      createdAt: Date.now(),
      posts: [],
    };
    entries.set(id, entry);
    return { url: `${options.origin}/response/${id}`, posts: entry.posts as readonly ResponseUrlPost[], id };
  }

  function findTarget(entry: ResponseUrlEntry): SimMessage | undefined {
    const ref = entry.original ?? entry.lastPosted;
    return ref ? ws.findMessage(entry.channel.id, ref.ts) : undefined;
  }

  /** Applies a response message; shared by response_url posts and a command's immediate answer. */
  function apply(entry: ResponseUrlEntry, msg: ResponseMessage): ResponseReply {
    if (msg.delete_original) {
      const target = findTarget(entry);
      if (!target) return { status: 404, body: { ok: false, error: 'message_not_found' } };
      messaging.remove(entry.channel, target);
      return { status: 200, body: { ok: true }, ts: target.ts };
    }
    const content = checkMessageContent({ text: msg.text, blocks: msg.blocks });
    if (!content.ok) {
      return {
        status: 400,
        body: { ok: false, error: content.error, ...(content.errors && { errors: content.errors }) },
      };
    }
    const target = msg.replace_original ? findTarget(entry) : undefined;
    if (target) {
      messaging.replaceContent(
        entry.channel,
        target,
        { text: content.text, blocks: content.blocks ?? [] },
        false,
      );
      return { status: 200, body: { ok: true }, ts: target.ts };
    }
    const inChannel = msg.response_type === 'in_channel';
    const originalThread = entry.original
      ? ws.findMessage(entry.channel.id, entry.original.ts)?.threadTs
      : undefined;
    const threadTs = msg.thread_ts ?? originalThread;
    const posted = messaging.postAsBot({
      channel: entry.channel,
      text: content.text,
      ...(content.blocks && { blocks: content.blocks }),
      ...(threadTs && { threadTs }),
      ...(!inChannel && { ephemeralTo: entry.user }),
    });
    entry.lastPosted = { ts: posted.ts };
    return { status: 200, body: { ok: true }, ts: posted.ts };
  }

  function record(entry: ResponseUrlEntry, body: unknown, reply: ResponseReply): void {
    entry.posts.push({
      at: Date.now(),
      body,
      status: reply.status,
      ...(reply.body.error && { error: reply.body.error }),
      ...(reply.ts && { ts: reply.ts }),
    });
  }

  /** A POST to `/response/<id>` with a JSON body. */
  function post(id: string, rawBody: string): ResponseReply {
    const entry = entries.get(id);
    if (!entry) return { status: 404, body: { ok: false, error: 'no_active_hooks' } };
    if (Date.now() - entry.createdAt > RESPONSE_URL_TTL_MS) {
      return { status: 404, body: { ok: false, error: 'expired_url' } };
    }
    if (entry.uses >= RESPONSE_URL_MAX_USES) return { status: 404, body: { ok: false, error: 'used_url' } };
    let parsedJson: unknown;
    try {
      parsedJson = JSON.parse(rawBody);
    } catch {
      const reply = { status: 400, body: { ok: false, error: 'invalid_payload' } };
      record(entry, rawBody, reply);
      return reply;
    }
    entry.uses += 1;
    const parsed = ResponseMessageSchema.safeParse(parsedJson);
    const reply = parsed.success
      ? apply(entry, parsed.data)
      : { status: 400, body: { ok: false, error: 'invalid_payload' } };
    record(entry, parsedJson, reply);
    return reply;
  }

  /** A command's synchronous answer (the body of the app's ack) counts as a response, not a use. */
  function applyImmediate(id: string, msg: ResponseMessage): ResponseReply | undefined {
    const entry = entries.get(id);
    return entry ? apply(entry, msg) : undefined;
  }

  function prune(nowMs: number): void {
    for (const [id, entry] of entries) if (nowMs - entry.createdAt > RESPONSE_URL_TTL_MS) entries.delete(id);
  }

  return { create, post, applyImmediate, prune };
}
