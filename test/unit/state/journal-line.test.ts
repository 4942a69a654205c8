import { describe, expect, it } from 'vitest';
import { journalEntryMatches, renderJournalLine } from '../../../src/state/journal.js';
import type { JournalEntry } from '../../../src/state/types.js';

describe('renderJournalLine', () => {
  it('writes the DESIGN.md keys in order whatever order the entry has', () => {
    const scrambled = {
      details: { step: 12_340 },
      message: 'restarted after OOM',
      model: 'mosaic_moe',
      type: 'AUTO_RESTART',
      timestamp: '2026-01-01T00:00:00.000Z',
    } as const satisfies JournalEntry;
    expect(renderJournalLine(scrambled)).toBe(
      '{"timestamp":"2026-01-01T00:00:00.000Z","type":"AUTO_RESTART","model":"mosaic_moe","message":"restarted after OOM","details":{"step":12340}}',
    );
  });

  it('omits details when absent', () => {
    expect(
      renderJournalLine({
        timestamp: '2026-01-01T00:00:00.000Z',
        type: 'stop',
        model: 'gpt2_reference',
        message: 'm',
      }),
    ).toBe('{"timestamp":"2026-01-01T00:00:00.000Z","type":"stop","model":"gpt2_reference","message":"m"}');
  });
});

describe('journalEntryMatches', () => {
  const e: JournalEntry = {
    timestamp: '2026-01-01T00:00:00.000Z',
    type: 'DISK_CRITICAL',
    model: 'mosaic_dense',
    message: 'Disk at 93%',
    details: { deleted: ['step_2500.pt'] },
  };
  it('needs every term, in any field, case-insensitively', () => {
    expect(journalEntryMatches(e, 'disk step_2500')).toBe(true);
    expect(journalEntryMatches(e, 'MOSAIC_DENSE critical')).toBe(true);
    expect(journalEntryMatches(e, 'disk oom')).toBe(false);
  });
});
