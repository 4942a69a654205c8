import { createHash } from 'node:crypto';

/**
 * The prompt cache of the Messages API, as far as billing can see it. A request is a sequence of
 * blocks (tools, then system, then every message's content blocks); a block carrying
 * `cache_control` is a breakpoint. At each breakpoint whose prefix is long enough the prefix is
 * written to the cache; a later request whose prefix matches an entry at, or up to 20 blocks
 * before, one of its breakpoints reads it instead. Entries live 5 minutes (or 1 hour) after their
 * last use, prefixes shorter than the model's minimum are never cached, and the cache is scoped
 * to the API key and model. Usage then splits the input into cache reads, cache writes and the
 * uncached rest, exactly the three numbers the real API reports.
 */

export type CacheTtl = '5m' | '1h';

export interface PromptBlock {
  /** Canonical text of the block (without its cache_control), for prefix matching. */
  key: string;
  tokens: number;
  /** Set when the block is a breakpoint. */
  breakpoint?: CacheTtl;
}

export interface CacheUsage {
  input_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
}

/** How far before a breakpoint the API looks for an earlier cache entry. */
export const CACHE_LOOKBACK_BLOCKS = 20;
const TTL_MS: Record<CacheTtl, number> = { '5m': 5 * 60_000, '1h': 60 * 60_000 };

interface Entry {
  tokens: number;
  expiresAt: number;
  ttl: CacheTtl;
}

export interface PromptCacheOptions {
  /** Shortest cacheable prefix in tokens (1024 for the Sonnet models). */
  minTokens: number;
  now: () => number;
}

export class PromptCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: PromptCacheOptions) {}

  /** Splits the request's input tokens as the API would bill them, then updates the cache. */
  account(scope: string, blocks: readonly PromptBlock[]): CacheUsage {
    const now = this.options.now();
    const hashes: string[] = [];
    const prefixTokens: number[] = [];
    let hash = createHash('sha256').update(scope).digest('hex');
    let running = 0;
    for (const block of blocks) {
      hash = createHash('sha256').update(hash).update('\u0000').update(block.key).digest('hex');
      running += block.tokens;
      hashes.push(hash);
      prefixTokens.push(running);
    }
    const total = running;
    const breakpoints = blocks.flatMap((b, i) =>
      b.breakpoint && (prefixTokens[i] ?? 0) >= this.options.minTokens ? [i] : [],
    );
    const read = this.longestHit(hashes, prefixTokens, breakpoints, now);
    const usage = this.split(total, read, breakpoints, blocks, prefixTokens);
    for (const i of breakpoints) {
      const ttl = blocks[i]?.breakpoint ?? '5m';
      const key = hashes[i];
      if (key !== undefined) {
        this.entries.set(key, { tokens: prefixTokens[i] ?? 0, ttl, expiresAt: now + TTL_MS[ttl] });
      }
    }
    return usage;
  }

  /** Tokens of the longest cached prefix found at or shortly before a breakpoint (refreshing it). */
  private longestHit(
    hashes: readonly string[],
    prefixTokens: readonly number[],
    breakpoints: readonly number[],
    now: number,
  ): number {
    let best: { key: string; entry: Entry } | null = null;
    for (const bp of breakpoints) {
      for (let i = bp; i >= Math.max(0, bp - CACHE_LOOKBACK_BLOCKS); i -= 1) {
        const key = hashes[i];
        const entry = key === undefined ? undefined : this.entries.get(key);
        if (key === undefined || !entry) continue;
        if (entry.expiresAt <= now) {
          this.entries.delete(key);
          continue;
        }
        if (!best || entry.tokens > best.entry.tokens) best = { key, entry };
        break;
      }
    }
    if (!best) return 0;
    best.entry.expiresAt = now + TTL_MS[best.entry.ttl];
    return Math.min(best.entry.tokens, prefixTokens[prefixTokens.length - 1] ?? 0);
  }

  private split(
    total: number,
    read: number,
    breakpoints: readonly number[],
    blocks: readonly PromptBlock[],
    prefixTokens: readonly number[],
  ): CacheUsage {
    const created = { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 };
    let covered = read;
    for (const i of breakpoints) {
      const end = prefixTokens[i] ?? 0;
      if (end <= covered) continue;
      const field =
        blocks[i]?.breakpoint === '1h' ? 'ephemeral_1h_input_tokens' : 'ephemeral_5m_input_tokens';
      created[field] += end - covered;
      covered = end;
    }
    const creation = created.ephemeral_5m_input_tokens + created.ephemeral_1h_input_tokens;
    return {
      input_tokens: total - covered,
      cache_creation_input_tokens: creation,
      cache_read_input_tokens: read,
      cache_creation: created,
    };
  }

  clear(): void {
    this.entries.clear();
  }
}
