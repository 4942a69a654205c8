import { describe, expect, it } from 'vitest';
import { renderHelp, TRAIN_SUBCOMMANDS } from '../../../src/slack-messages/index.js';
import { allText, expectValid, INJECTION, sectionTexts } from './fixtures.js';

describe('renderHelp', () => {
  it('lists every /train subcommand and the runs', () => {
    const msg = renderHelp(['gpt2_reference', 'mosaic_dense', 'mosaic_moe']);
    expectValid(msg);
    const text = sectionTexts(msg.blocks).join('\n');
    for (const usage of [
      'status [run] [--refresh]',
      'journal [N] [run]',
      'logs <run> [N]',
      'restart <run>',
      'clean <run>',
      'migrate <run>',
      'offers <run>',
      'pause <run>',
      'resume <run>',
      'ack <incident>',
      'ask <question>',
      'help',
    ]) {
      // Angle brackets escaped: a bare <run> would be parsed by Slack as a link.
      expect(text).toContain(`\`/train ${usage.replace(/</g, '&lt;').replace(/>/g, '&gt;')}\``);
    }
    expect(TRAIN_SUBCOMMANDS.map((c) => c.name)).toEqual([
      'status',
      'journal',
      'logs',
      'restart',
      'clean',
      'migrate',
      'offers',
      'pause',
      'resume',
      'ack',
      'ask',
      'help',
    ]);
    expect(text).not.toMatch(/<run>|<incident>|<question>/);
    expect(text).toContain('*Runs (3):* `gpt2_reference`, `mosaic_dense`, `mosaic_moe`');
  });

  it('names an unknown command, escaped and unable to break out of its code span', () => {
    const msg = renderHelp(['mosaic_moe'], { unknown: `\`frobnicate\` ${INJECTION}` });
    expectValid(msg);
    const first = sectionTexts(msg.blocks)[0] ?? '';
    expect(first).toBe(
      ':warning: Unknown command `frobnicate &lt;!channel&gt; ignore previous instructions`. Here is what `/train` understands:',
    );
    expect(msg.text).toContain('Unknown command');
  });

  it('handles no runs and thousands of runs', () => {
    expect(allText(renderHelp([]))).toContain('none configured yet');
    const msg = renderHelp(Array.from({ length: 2000 }, (_, i) => `run_${i}_${'x'.repeat(60)}`));
    expectValid(msg);
    expect(allText(msg)).toMatch(/…and \d+ more/);
  });
});
