import type { Tool } from '@anthropic-ai/sdk/resources/messages';
import { describe, expect, it } from 'vitest';
import { buildRequest, historyToMessages } from '../../../agents/conductor/turn.js';

/** The request of one turn: the thread as alternating messages and at most four cache breakpoints. */

const tools: Tool[] = [
  { name: 'a', input_schema: { type: 'object' } },
  { name: 'b', input_schema: { type: 'object' } },
];

describe('historyToMessages', () => {
  it('starts with the user, alternates, and ends with the assistant', () => {
    expect(
      historyToMessages([
        { role: 'assistant', text: 'alert: mosaic_moe crashed' },
        { role: 'user', text: 'why?' },
        { role: 'user', text: 'and since when?' },
        { role: 'assistant', text: 'OOM since 10:00' },
        { role: 'user', text: '  ' },
        { role: 'user', text: 'thanks' },
      ]),
    ).toEqual([
      { role: 'user', content: '(earlier in this thread)' },
      { role: 'assistant', content: 'alert: mosaic_moe crashed' },
      { role: 'user', content: 'why?\n\nand since when?' },
      { role: 'assistant', content: 'OOM since 10:00' },
      { role: 'user', content: 'thanks' },
      { role: 'assistant', content: '(no answer was given)' },
    ]);
    expect(historyToMessages([])).toEqual([]);
  });
});

describe('buildRequest', () => {
  const history = historyToMessages([
    { role: 'user', text: 'q1' },
    { role: 'assistant', text: 'a1' },
  ]);
  const messages = [...history, { role: 'user' as const, content: [{ type: 'text' as const, text: 'q2' }] }];

  function marks(request: ReturnType<typeof buildRequest>): string[] {
    const found: string[] = [];
    request.tools?.forEach((t, i) => {
      if ('cache_control' in t && t.cache_control) found.push(`tool ${i}`);
    });
    const system = Array.isArray(request.system) ? request.system : [];
    system.forEach((b, i) => {
      if (b.cache_control) found.push(`system ${i}`);
    });
    request.messages.forEach((m, i) => {
      if (Array.isArray(m.content)) {
        m.content.forEach((b, j) => {
          if ('cache_control' in b && b.cache_control) found.push(`message ${i}.${j}`);
        });
      }
    });
    return found;
  }

  it('marks the last tool, the system prompt, the end of the history and the newest message', () => {
    const request = buildRequest('system prompt', tools, messages, history.length, {
      caching: true,
      maxTokens: 512,
    });
    expect(marks(request)).toEqual(['tool 1', 'system 0', 'message 1.0', 'message 2.0']);
    expect(request.max_tokens).toBe(512);
    // The history itself is not changed: marks live only in the request.
    expect(history[1]).toEqual({ role: 'assistant', content: 'a1' });
  });

  it('uses no breakpoints for the no-cache baseline', () => {
    const request = buildRequest('system prompt', tools, messages, history.length, {
      caching: false,
      maxTokens: 512,
    });
    expect(marks(request)).toEqual([]);
  });

  it('uses three breakpoints when the thread has no history', () => {
    const request = buildRequest('s', tools, messages.slice(2), 0, { caching: true, maxTokens: 512 });
    expect(marks(request)).toEqual(['tool 1', 'system 0', 'message 0.0']);
  });
});
