import { describe, expect, it } from 'vitest';
import { type PromptBlock, PromptCache } from '../../../src/sim/llm/index.js';

/** The fake API's prompt cache: writes at breakpoints, reads of matching prefixes, lifetimes. */

const block = (key: string, tokens: number, breakpoint?: '5m' | '1h'): PromptBlock =>
  breakpoint ? { key, tokens, breakpoint } : { key, tokens };

function setup(minTokens = 1000) {
  let now = 0;
  const cache = new PromptCache({ minTokens, now: () => now });
  return { cache, advance: (ms: number) => (now += ms) };
}

describe('PromptCache', () => {
  const system = block('system', 2000, '5m');

  it('writes the prefix at a breakpoint, then reads it for an identical prefix', () => {
    const { cache } = setup();
    expect(cache.account('k', [system, block('q1', 50)])).toMatchObject({
      input_tokens: 50,
      cache_creation_input_tokens: 2000,
      cache_read_input_tokens: 0,
    });
    expect(cache.account('k', [system, block('q2', 60)])).toMatchObject({
      input_tokens: 60,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 2000,
    });
  });

  it('keeps caches apart by scope (API key and model) and by content', () => {
    const { cache } = setup();
    cache.account('k', [system]);
    expect(cache.account('other', [system]).cache_read_input_tokens).toBe(0);
    expect(cache.account('k', [block('system v2', 2000, '5m')]).cache_read_input_tokens).toBe(0);
  });

  it('never caches a prefix below the minimum', () => {
    const { cache } = setup();
    const short = [block('s', 500, '5m'), block('q', 10)];
    cache.account('k', short);
    expect(cache.account('k', short)).toMatchObject({
      input_tokens: 510,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 0,
    });
  });

  it('finds an earlier entry within 20 blocks before a later breakpoint', () => {
    const { cache } = setup();
    cache.account('k', [block('sys', 1500), block('h1', 100, '5m')]);
    const grown = [block('sys', 1500), block('h1', 100), block('h2', 100), block('h3', 100, '5m')];
    expect(cache.account('k', grown)).toMatchObject({
      cache_read_input_tokens: 1600,
      cache_creation_input_tokens: 200,
      input_tokens: 0,
    });
  });

  it('forgets entries five minutes after their last use, an hour for 1h entries', () => {
    const { cache, advance } = setup();
    cache.account('k', [system]);
    advance(4 * 60_000);
    expect(cache.account('k', [system]).cache_read_input_tokens).toBe(2000);
    advance(5 * 60_000 + 1);
    expect(cache.account('k', [system]).cache_read_input_tokens).toBe(0);

    const long = block('long', 3000, '1h');
    expect(cache.account('k', [long]).cache_creation).toEqual({
      ephemeral_5m_input_tokens: 0,
      ephemeral_1h_input_tokens: 3000,
    });
    advance(30 * 60_000);
    expect(cache.account('k', [long]).cache_read_input_tokens).toBe(3000);
  });
});
