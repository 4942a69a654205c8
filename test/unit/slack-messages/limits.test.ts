import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/errors.js';
import {
  actions,
  assertWithinLimits,
  type Block,
  button,
  clampBlocks,
  context,
  escapeMrkdwn,
  fieldsSection,
  header,
  limitViolations,
  packLines,
  SLACK_LIMITS,
  section,
  truncate,
  truncateMrkdwn,
  truncateStart,
} from '../../../src/slack-messages/index.js';
import { buttonsOf } from './fixtures.js';

describe('truncate', () => {
  it('leaves text that fits alone and cuts longer text to exactly the limit with an ellipsis', () => {
    expect(truncate('hello', 5)).toBe('hello');
    const cut = truncate('abcdefghij', 6);
    expect(cut).toBe('abcde…');
    expect(cut.length).toBe(6);
  });

  it('never splits an escape entity, a surrogate pair or a mention', () => {
    expect(truncate('aa &amp; bb', 6)).toBe('aa…');
    const emoji = `${'x'.repeat(8)}😀😀`;
    const cut = truncate(emoji, 10);
    expect(cut.length).toBeLessThanOrEqual(10);
    expect(cut).not.toMatch(/[\ud800-\udbff]…$/);
    expect(truncate('ping <@U0123456789> now', 12)).toBe('ping…');
  });

  it('truncateStart keeps the end of the text', () => {
    expect(truncateStart('0123456789', 5)).toBe('…6789');
    expect(truncateStart('x &lt;tail', 7).startsWith('…')).toBe(true);
    expect(truncateStart('x &lt;tail', 7)).not.toMatch(/…[a-z]*;/);
  });

  it('truncateMrkdwn closes a code fence the cut left open', () => {
    const text = `\`\`\`\n${'line\n'.repeat(100)}\`\`\``;
    const cut = truncateMrkdwn(text, 100);
    expect(cut.length).toBeLessThanOrEqual(100);
    expect(cut.split('```').length - 1).toBe(2);
  });

  it('rejects a non-positive limit', () => {
    expect(() => truncate('x', 0)).toThrow(RangeError);
  });
});

describe('escapeMrkdwn', () => {
  it('escapes &, < and > so text cannot mention, link or broadcast', () => {
    expect(escapeMrkdwn('<!channel> a&b <@U123> <https://evil|click>')).toBe(
      '&lt;!channel&gt; a&amp;b &lt;@U123&gt; &lt;https://evil|click&gt;',
    );
  });

  it('defuses bare @channel, @here and @everyone', () => {
    const out = escapeMrkdwn('hey @here and @channel and @Everyone');
    expect(out).not.toMatch(/@(here|channel|everyone)/i);
    expect(out.replace(/\u200b/g, '')).toBe('hey @here and @channel and @Everyone');
  });
});

describe('limitViolations / assertWithinLimits', () => {
  it('accepts a valid message', () => {
    const blocks = [header('Title'), section('body'), actions([button('OK', 'a', 'v')])];
    expect(limitViolations(blocks, 'fallback')).toEqual([]);
    expect(() => assertWithinLimits(blocks)).not.toThrow();
  });

  it('reports each limit Slack enforces', () => {
    const cases: [Block[], RegExp][] = [
      [Array.from({ length: 51 }, () => section('x')), /51 blocks/],
      [[section('x'.repeat(3001))], /text is 3001/],
      [[section('')], /text is 0/],
      [[header('h'.repeat(151))], /header is 151/],
      [[actions([button('b'.repeat(76), 'a', 'v')])], /button text is 76/],
      [[actions([button('ok', 'a'.repeat(256), 'v')])], /action_id is 256/],
      [[actions([button('ok', 'a', 'v'.repeat(256))])], /value is 256/],
      [[actions([button('ok', 'a', '1'), button('ok', 'a', '2')])], /duplicate action_id/],
      [[section('a', 'same'), section('b', 'same')], /duplicate block_id/],
      [[fieldsSection(Array.from({ length: 11 }, () => 'f'))], /11 fields/],
      [[context(Array.from({ length: 11 }, () => 'c'))], /11 context elements/],
      [[actions([])], /0 elements/],
    ];
    for (const [blocks, problem] of cases) {
      expect(limitViolations(blocks).join('; ')).toMatch(problem);
      expect(() => assertWithinLimits(blocks)).toThrow(ValidationError);
    }
    expect(limitViolations([section('x')], 'y'.repeat(4001)).join()).toMatch(/fallback text/);
  });
});

describe('clampBlocks', () => {
  it('makes any block list acceptable, keeping a final actions block when cutting the tail', () => {
    const blocks: Block[] = [
      header('H'.repeat(400)),
      ...Array.from({ length: 80 }, (_, i) => section('s'.repeat(5000), `dup-${i % 3}`)),
      actions([button('A'.repeat(200), 'incident_ack', 'inc_1'), button('B', 'too_long', 'v'.repeat(300))]),
    ];
    const out = clampBlocks(blocks);
    expect(() => assertWithinLimits(out)).not.toThrow();
    expect(out).toHaveLength(SLACK_LIMITS.blocksPerMessage);
    const last = out[out.length - 1];
    expect(last?.type).toBe('actions');
    // The label is trimmed; the button whose value would have been cut is dropped, never corrupted.
    expect(buttonsOf(out).map((b) => b.action_id)).toEqual(['incident_ack']);
    expect(buttonsOf(out)[0]?.text.text.length).toBe(75);
    expect(JSON.stringify(out)).toContain('more block(s) not shown');
  });

  it('drops empty blocks and leaves its input untouched', () => {
    const blocks: Block[] = [header(''), section('ok'), context([])];
    const copy = structuredClone(blocks);
    expect(clampBlocks(blocks)).toEqual([section('ok')]);
    expect(blocks).toEqual(copy);
  });
});

describe('packLines', () => {
  it('packs lines into chunks under the limit and counts what did not fit', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i} ${'x'.repeat(90)}`);
    const { chunks, omitted } = packLines(lines, { maxChars: 1000, maxChunks: 3 });
    expect(chunks).toHaveLength(3);
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(1000);
    expect(omitted).toBe(100 - chunks.join('\n').split('\n').length);
    expect(chunks[0]?.startsWith('line 0 ')).toBe(true);
  });

  it('stops at the total budget', () => {
    const lines = Array.from({ length: 100 }, () => 'y'.repeat(99));
    const { chunks, omitted } = packLines(lines, { maxChars: 3000, maxChunks: 50, budget: 1000 });
    expect(chunks.join('\n').length).toBeLessThanOrEqual(1000);
    expect(omitted).toBe(90);
  });
});
