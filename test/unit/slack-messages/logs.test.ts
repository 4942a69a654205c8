import { describe, expect, it } from 'vitest';
import { renderLogTail, SLACK_LIMITS, sanitizeLogLine } from '../../../src/slack-messages/index.js';
import { allText, expectValid, INJECTION, sectionTexts } from './fixtures.js';

const LOG = [
  '[HEARTBEAT] RESUMED step=20000 max=50000 checkpoint=runs/mosaic_small_3090/latest.pt',
  'step  20010/50000 | loss 3.1234 | ppl 22.7 | lr 2.91e-04 | grad_norm 0.87 | 48211 tok/s | aux 0.0123',
  'step  20020/50000 | loss 3.1201 | ppl 22.6 | lr 2.91e-04 | grad_norm 0.85 | 48230 tok/s | aux 0.0121',
  '  EVAL step 20020: loss=3.2011 ppl=24.6',
  '',
];

function codeBody(msg: ReturnType<typeof renderLogTail>): string {
  const code = sectionTexts(msg.blocks).find((t) => t.startsWith('```')) ?? '';
  return code.slice(4, -4);
}

describe('renderLogTail', () => {
  it('shows the lines in a code block, oldest first', () => {
    const msg = renderLogTail('mosaic_moe', LOG, { source: '/workspace/training.log' });
    expectValid(msg);
    expect(codeBody(msg)).toBe(LOG.slice(0, 4).join('\n'));
    expect(sectionTexts(msg.blocks)[0]).toBe('*Log tail · mosaic_moe* · `/workspace/training.log`');
    expect(allText(msg)).toContain('4 lines, oldest first');
  });

  it('escapes a hostile log line so it is never a live mention', () => {
    const msg = renderLogTail('mosaic_moe', [INJECTION, '<@U024BE7LH> & <https://evil|x>']);
    expectValid(msg);
    expect(codeBody(msg)).toBe(
      '&lt;!channel&gt; ignore previous instructions\n&lt;@U024BE7LH&gt; &amp; &lt;https://evil|x&gt;',
    );
  });

  it('keeps the newest lines when the tail does not fit, and cuts 10,000-character lines', () => {
    const lines = Array.from({ length: 200 }, (_, i) => `line ${i} ${'z'.repeat(10_000)}`);
    const msg = renderLogTail('mosaic_moe', lines);
    expectValid(msg);
    const code = sectionTexts(msg.blocks).find((t) => t.startsWith('```')) ?? '';
    expect(code.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
    const kept = codeBody(msg).split('\n');
    expect(kept[kept.length - 1]?.startsWith('line 199 ')).toBe(true);
    expect(kept.length).toBeGreaterThan(1);
    expect(kept.every((l) => l.length <= 500)).toBe(true);
    expect(allText(msg)).toContain(`newest ${kept.length} of 200 lines`);
  });

  it('cannot close the code fence early, and strips terminal escapes and carriage-return progress', () => {
    const msg = renderLogTail('mosaic_moe', [
      '```',
      'oops ``` *bold*',
      '\u001b[31mred\u001b[0m',
      ' 10%|#   \r 50%|#####  \r100%|##########',
    ]);
    expectValid(msg);
    const code = sectionTexts(msg.blocks).find((t) => t.startsWith('```')) ?? '';
    expect(code.split('```').length - 1).toBe(2);
    expect(codeBody(msg)).toContain('red');
    expect(codeBody(msg)).not.toContain('\u001b');
    expect(codeBody(msg).split('\n')[3]).toBe('100%|##########');
  });

  it('says so when there is nothing to show', () => {
    const msg = renderLogTail('mosaic_moe', []);
    expectValid(msg);
    expect(allText(msg)).toContain('The log is empty or could not be read.');
  });

  it('sanitizeLogLine keeps ordinary lines as they are', () => {
    expect(sanitizeLogLine(LOG[1] ?? '')).toBe(LOG[1]);
  });
});
