import { describe, expect, it } from 'vitest';
import {
  type EscalationFacts,
  escalationFactsText,
  escalationHint,
  escalationQuestion,
  escalationSummaryFromRules,
  fixesTried,
} from '../../../agents/conductor/escalation.js';
import { UNTRUSTED_TAG } from '../../../agents/conductor/untrusted.js';
import type { Incident, JournalEntry } from '../../../src/state/types.js';

/** The root-cause summary from the rules: recurrences, fixes tried, whether they helped. */

const NOW = Date.UTC(2026, 0, 15, 12);
const H = 3_600_000;

const entry = (hoursAgo: number, type: JournalEntry['type'], message: string): JournalEntry => ({
  timestamp: new Date(NOW - hoursAgo * H).toISOString(),
  type,
  model: 'mosaic_moe',
  message,
});

const incident: Incident = {
  id: 'inc_1',
  run: 'mosaic_moe',
  kind: 'crashed',
  severity: 'critical',
  message: 'trainer exited: torch.OutOfMemoryError',
  firstSeen: NOW - 0.5 * H,
  lastSeen: NOW,
  count: 2,
  state: 'open',
};

function facts(overrides: Partial<EscalationFacts> = {}): EscalationFacts {
  return {
    incident,
    occurrences: [NOW - 5 * H, NOW - 3 * H, NOW - 0.5 * H],
    journal: [
      entry(30, 'AUTO_RESTART', 'restarted long ago (outside the window)'),
      entry(5, 'CRASH', 'CUDA out of memory'),
      entry(4.9, 'AUTO_RESTART', 'restarted from latest.pt'),
      entry(3, 'CRASH', 'CUDA out of memory'),
      entry(2.9, 'AUTO_RESTART', 'restarted from latest.pt'),
      entry(1, 'AUTO_CLEANUP', 'deleted step_2500.pt'),
    ],
    errorSignature: 'oom',
    windowHours: 24,
    now: NOW,
    ...overrides,
  };
}

describe('escalation summary from the rules', () => {
  it('counts the fixes tried inside the window', () => {
    expect(fixesTried(facts())).toEqual([
      { type: 'AUTO_RESTART', count: 2, last: NOW - 2.9 * H },
      { type: 'AUTO_CLEANUP', count: 1, last: NOW - 1 * H },
    ]);
  });

  it('says the problem came back after the fixes, and names the cause from the error signature', () => {
    const text = escalationSummaryFromRules(facts(), 'The LLM is off.');
    expect(text).toContain('_The LLM is off._');
    expect(text).toContain('*mosaic_moe: crashed* came back 3 times in 24 h.');
    expect(text).toContain('Fixes tried: AUTO_RESTART x2, AUTO_CLEANUP x1.');
    expect(text).toContain('The problem came back after the fixes');
    expect(text).toContain('Likely cause: the batch does not fit in GPU memory');
    expect(text).toContain(
      "Next step for a person: lower batch_size (and raise grad_accum) in this GPU type's profile",
    );
  });

  it('says so when nothing was tried, and falls back to the incident kind without a signature', () => {
    const text = escalationSummaryFromRules(
      facts({ journal: [], errorSignature: null, incident: { ...incident, kind: 'preempted' } }),
      'w',
    );
    expect(text).toContain('No fix was tried yet.');
    expect(text).not.toContain('came back after the fixes');
    expect(text).toContain('keeps being outbid');
    expect(escalationHint('unknown', null).cause).toContain('not clear');
  });

  it('hands the model the same facts, quoted as untrusted data', () => {
    const question = escalationQuestion(facts());
    expect(question).toContain('Incident inc_1 (crashed on mosaic_moe) recurred 3 times in 24 h');
    expect(question).toContain(`<${UNTRUSTED_TAG} source="incident inc_1"`);
    expect(escalationFactsText(facts())).toContain('fixes tried: AUTO_RESTART x2');
  });
});
