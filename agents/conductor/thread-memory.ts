import type { Redis } from 'ioredis';
import { z } from 'zod';

/**
 * What was said in a Slack thread the conductor takes part in: each question and each answer, in
 * order, kept in a capped Redis list per thread. The next turn in the thread replays it as the
 * conversation, so follow-up questions make sense (and the replayed prefix is served from the
 * prompt cache). Entries are validated on the way out; a corrupt one is skipped.
 */

export interface ThreadMessage {
  role: 'user' | 'assistant';
  text: string;
}

export interface ThreadMemory {
  read(channel: string, threadTs: string): Promise<ThreadMessage[]>;
  append(channel: string, threadTs: string, messages: readonly ThreadMessage[]): Promise<void>;
}

export interface ThreadMemoryOptions {
  /** Messages kept per thread (default 40: twenty questions and answers). */
  maxMessages?: number;
  /** Real ms a quiet thread is remembered (default 7 days). */
  ttlMs?: number;
  /** Longest text kept per message (default 6000 characters). */
  maxChars?: number;
}

const ThreadMessageSchema = z.object({ role: z.enum(['user', 'assistant']), text: z.string() }).strict();

export function threadKey(prefix: string, channel: string, threadTs: string): string {
  return `${prefix}:conductor:thread:${channel}:${threadTs}`;
}

export function createThreadMemory(
  redis: Redis,
  prefix: string,
  options: ThreadMemoryOptions = {},
): ThreadMemory {
  const maxMessages = options.maxMessages ?? 40;
  const ttlMs = options.ttlMs ?? 7 * 86_400_000;
  const maxChars = options.maxChars ?? 6000;
  return {
    async read(channel, threadTs) {
      const raw = await redis.lrange(threadKey(prefix, channel, threadTs), 0, -1);
      return raw.flatMap((item) => {
        try {
          return [ThreadMessageSchema.parse(JSON.parse(item))];
        } catch {
          return [];
        }
      });
    },
    async append(channel, threadTs, messages) {
      if (messages.length === 0) return;
      const key = threadKey(prefix, channel, threadTs);
      const items = messages.map((m) => JSON.stringify({ role: m.role, text: m.text.slice(0, maxChars) }));
      await redis
        .multi()
        .rpush(key, ...items)
        .ltrim(key, -maxMessages, -1)
        .pexpire(key, ttlMs)
        .exec();
    },
  };
}
