import { describe, expect, it } from 'vitest';
import { renderContinuationContext } from '../../../src/state/exports.js';
import type { Incident, JournalEntry } from '../../../src/state/types.js';
import { HOUR, runHealth, runState, T0 } from './fixtures.js';

const incident: Incident = {
  id: 'inc_abc123',
  run: 'mosaic_moe',
  kind: 'preempted',
  severity: 'critical',
  message: 'bid instance 4242 was stopped by the host',
  firstSeen: T0 - HOUR,
  lastSeen: T0,
  count: 4,
  state: 'open',
  ackedBy: 'U0ALICE',
  ackedAt: T0 - 30 * 60_000,
};

function entry(type: JournalEntry['type'], message: string, at: number, details?: Record<string, unknown>) {
  const e: JournalEntry = { timestamp: new Date(at).toISOString(), type, model: 'mosaic_moe', message };
  if (details) e.details = details;
  return e;
}

const journal: JournalEntry[] = [
  entry('OUTBID', 'instance 4242 outbid', T0 - HOUR),
  entry('DECISION', 'replace the instance', T0 - 50 * 60_000, { reason: 'outbid 3 times today' }),
  entry('APPROVED', 'U0ALICE approved offer 777', T0 - 40 * 60_000),
  entry('CRASH', 'trainer exited | code -9\nKilled', T0 - 10 * 60_000),
];

function render(overrides: Partial<Parameters<typeof renderContinuationContext>[0]> = {}) {
  return renderContinuationContext({
    generatedAt: T0,
    runs: [
      {
        spec: { name: 'mosaic_moe', target_steps: 50_000 },
        state: runState(),
        health: runHealth({ status: 'preempted', reason: 'outbid | stopped' }),
      },
      { spec: { name: 'gpt2_reference', target_steps: 50_000 }, state: null, health: null },
    ],
    openIncidents: [incident],
    journal,
    nextSteps: ['Approve a replacement for mosaic_moe', 'Check gpt2_reference\nonce it is provisioned'],
    ...overrides,
  });
}

describe('renderContinuationContext', () => {
  it('has the hand-over sections in order', () => {
    const md = render();
    const headings = md.split('\n').filter((l) => l.startsWith('#'));
    expect(headings).toEqual([
      '# Continuation context',
      '## Fleet',
      '## Open incidents (1)',
      '## Recent decisions (newest first)',
      '## Recent events (newest first)',
      '## Next steps',
    ]);
    expect(md).toContain('Generated 2026-01-01T12:00:00Z');
  });

  it('tabulates the fleet with escaped cells and the total spend', () => {
    const md = render();
    const row = md.split('\n').find((l) => l.startsWith('| mosaic_moe'));
    expect(row).toBe(
      '| mosaic_moe | preempted | 12340/50000 | 24.7% | 3.1234 | 48211 | 4242 | 4× RTX 3090 | 0.80 | 37.7 | outbid \\| stopped |',
    );
    expect(md).toContain(
      '| gpt2_reference | unknown | — | — | — | — | — | — | 0.00 | — | not observed yet |',
    );
    expect(md).toContain('Spending $0.80/hr across 2 run(s).');
  });

  it('lists open incidents with kind, count, ack and id', () => {
    expect(render()).toContain(
      '- **mosaic_moe** `preempted` (critical) open since 2026-01-01T11:00:00Z, seen 4× (last 2026-01-01T12:00:00Z), acked by U0ALICE: bid instance 4242 was stopped by the host — id `inc_abc123`',
    );
    expect(render({ openIncidents: [] })).toContain('## Open incidents (0)\n\nNone.');
  });

  it('separates decisions (with reasons) from events, newest first, one line each', () => {
    const md = render();
    const decisions = md.slice(md.indexOf('## Recent decisions'), md.indexOf('## Recent events'));
    expect(decisions.indexOf('APPROVED')).toBeGreaterThan(0);
    expect(decisions.indexOf('APPROVED')).toBeLessThan(decisions.indexOf('DECISION'));
    expect(decisions).toContain('**DECISION** mosaic_moe: replace the instance Reason: outbid 3 times today');
    expect(decisions).not.toContain('OUTBID');
    const events = md.slice(md.indexOf('## Recent events'), md.indexOf('## Next steps'));
    expect(events.indexOf('CRASH')).toBeLessThan(events.indexOf('OUTBID'));
    expect(events).toContain('trainer exited | code -9 Killed');
  });

  it('numbers the next steps, and says when there are none', () => {
    const md = render();
    expect(md).toContain(
      '## Next steps\n\n1. Approve a replacement for mosaic_moe\n2. Check gpt2_reference once it is provisioned\n',
    );
    expect(render({ nextSteps: [], journal: [] })).toContain('## Next steps\n\nNothing pending.');
    expect(render({ journal: [] })).toContain('## Recent decisions (newest first)\n\nNone recorded.');
  });

  it('limits the journal lists', () => {
    const many = Array.from({ length: 30 }, (_, i) => entry('FIX', `fix ${i}`, T0 + i * 1000));
    const md = render({ journal: many, limit: 5 });
    expect(md.match(/\*\*FIX\*\*/g)).toHaveLength(5);
    expect(md).toContain('fix 29');
    expect(md).not.toContain('fix 24');
  });
});
