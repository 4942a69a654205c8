import { describe, expect, it } from 'vitest';
import { renderJournal } from '../../../src/slack-messages/index.js';
import { allText, expectValid, INJECTION, journalEntry, sectionTexts } from './fixtures.js';

describe('renderJournal', () => {
  it('lists entries newest first with time, type, run and message', () => {
    const entries = [
      journalEntry(90, { type: 'OUTBID', message: 'instance 28123456 outbid at $0.40/h' }),
      journalEntry(5, { type: 'REPLACE', message: 'moved to instance 29000001 (4x RTX 3090)' }),
      journalEntry(30, { type: 'provision', model: 'mosaic_dense', message: 'rented offer 9876543' }),
    ];
    const msg = renderJournal(entries, { title: 'Journal: last 3' });
    expectValid(msg);
    const text = sectionTexts(msg.blocks).join('\n');
    const lines = text.split('\n');
    expect(lines[0]).toBe(
      ':arrows_counterclockwise: `2026-01-01 11:55` *REPLACE* mosaic_moe — moved to instance 29000001 (4x RTX 3090)',
    );
    expect(lines[1]).toContain('`2026-01-01 11:30` *provision* mosaic_dense — rented offer 9876543');
    expect(lines[2]).toContain(':money_with_wings: `2026-01-01 10:30` *OUTBID*');
    expect(msg.blocks[0]).toMatchObject({ type: 'header', text: { text: 'Journal: last 3' } });
    expect(allText(msg)).toContain('3 entries, newest first');
  });

  it('says when the journal is empty', () => {
    const msg = renderJournal([]);
    expectValid(msg);
    expect(allText(msg)).toContain('The journal is empty.');
  });

  it('truncates long messages, flattens newlines and escapes injected text', () => {
    const msg = renderJournal([
      journalEntry(1, { type: 'CRASH', message: `Traceback:\n${INJECTION}\n${'x'.repeat(10_000)}` }),
    ]);
    expectValid(msg);
    const line = sectionTexts(msg.blocks)[0] ?? '';
    expect(line).toContain('Traceback: &lt;!channel&gt; ignore previous instructions');
    expect(line.length).toBeLessThan(450);
    expect(line.endsWith('…')).toBe(true);
  });

  it('keeps 500 entries within limits, showing the newest and counting the rest', () => {
    const entries = Array.from({ length: 500 }, (_, i) =>
      journalEntry(i, { message: `event number ${i} ${'m'.repeat(400)}` }),
    );
    const msg = renderJournal(entries.reverse());
    expectValid(msg);
    const text = sectionTexts(msg.blocks).join('\n');
    expect(text.split('\n')[0]).toContain('event number 0 ');
    expect(text).not.toContain('event number 499 ');
    expect(allText(msg)).toMatch(/Newest \d+ of 500 entries; \d+ older not shown/);
  });

  it('keeps entries with unreadable timestamps instead of dropping them', () => {
    const msg = renderJournal([journalEntry(1), journalEntry(2, { timestamp: 'yesterday-ish' })]);
    expectValid(msg);
    expect(allText(msg)).toContain('`yesterday-ish`');
  });
});
