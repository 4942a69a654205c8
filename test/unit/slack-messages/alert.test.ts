import { describe, expect, it } from 'vitest';
import { type AlertInput, parseApproveValue, renderAlert } from '../../../src/slack-messages/index.js';
import {
  allText,
  buttonsOf,
  expectValid,
  HOUR,
  health,
  INJECTION,
  incident,
  journalEntry,
  MINUTE,
  NOW,
  PROPOSAL_ID,
  proposal,
  runSpec,
  sectionTexts,
} from './fixtures.js';

const ONCALL = ['U024BE7LH', 'S0614TZR7'];

function input(overrides: Partial<AlertInput> = {}): AlertInput {
  return {
    incident: incident(),
    runSpec: runSpec(),
    health: health({ status: 'preempted', severity: 'critical', reason: 'bid instance stopped by Vast' }),
    suggestedAction: 'Approve a replacement instance; the newest checkpoint is step_20000.pt',
    oncall: ONCALL,
    now: NOW,
    ...overrides,
  };
}

describe('renderAlert (open)', () => {
  it('says severity, run, what happened, since when and what to do, with an Acknowledge button', () => {
    const msg = renderAlert(input());
    expectValid(msg);
    const text = allText(msg);
    expect(msg.blocks[0]).toMatchObject({
      type: 'header',
      text: { text: ':rotating_light: CRITICAL · mosaic_moe · preempted' },
    });
    expect(text).toContain('*What happened:* Instance 28123456 was outbid');
    expect(text).toContain('*Since*\\n12m ago (2026-01-01 11:48 UTC)');
    expect(text).toContain('*Step*\\n21,000 / 50,000');
    expect(text).toContain('*Suggested action:* Approve a replacement instance');
    expect(buttonsOf(msg.blocks)).toEqual([
      expect.objectContaining({ action_id: 'incident_ack', value: 'inc_Yh3kQ9wLm2Zx8PcR4tVb' }),
    ]);
    expect(text).toContain('/train ack inc_Yh3kQ9wLm2Zx8PcR4tVb');
  });

  it('pages on-call users and groups in a critical alert, in the notification text and the body', () => {
    const msg = renderAlert(input());
    expect(msg.text.startsWith('<@U024BE7LH> <!subteam^S0614TZR7> [CRITICAL] mosaic_moe: preempted')).toBe(
      true,
    );
    expect(sectionTexts(msg.blocks)[0]).toContain('<@U024BE7LH> <!subteam^S0614TZR7>');
  });

  it('does not page for a warning, or for on-call ids that are not Slack ids', () => {
    const warning = renderAlert(input({ incident: incident({ severity: 'warning', kind: 'slow' }) }));
    expectValid(warning);
    expect(allText(warning)).not.toMatch(/<@U|<!subteam/);
    expect(warning.text.startsWith('[WARNING]')).toBe(true);
    const hostile = renderAlert(input({ oncall: ['<!channel>', 'here', '<@U1|x><!everyone>', 'bob', ''] }));
    expectValid(hostile);
    expect(allText(hostile)).not.toMatch(/<@|<!/);
  });

  it('accepts on-call entries already written as mentions and drops duplicates', () => {
    const msg = renderAlert(
      input({ oncall: ['<@U024BE7LH>', 'U024BE7LH', '<!subteam^S0614TZR7|@ml-oncall>'] }),
    );
    expect(msg.text.startsWith('<@U024BE7LH> <!subteam^S0614TZR7> [CRITICAL]')).toBe(true);
  });

  it('offers Approve / Reject carrying the proposal id when a proposal is attached', () => {
    const msg = renderAlert(input({ proposal: proposal() }));
    expectValid(msg);
    const buttons = buttonsOf(msg.blocks);
    expect(buttons.map((b) => [b.action_id, b.value])).toEqual([
      ['incident_ack', 'inc_Yh3kQ9wLm2Zx8PcR4tVb'],
      ['proposal_approve', PROPOSAL_ID],
      ['proposal_reject', PROPOSAL_ID],
    ]);
    expect(parseApproveValue(buttons[1]?.value)).toEqual({ proposalId: PROPOSAL_ID, offerId: null });
    expect(allText(msg)).toContain('expires in 28m');
  });

  it('draws no Approve for an expired proposal', () => {
    const msg = renderAlert(input({ proposal: proposal({ expiresAt: NOW - MINUTE }) }));
    expect(buttonsOf(msg.blocks).map((b) => b.action_id)).toEqual(['incident_ack']);
    expect(allText(msg)).toContain('(expired)');
  });

  it('escapes the incident message and suggested action', () => {
    const msg = renderAlert(
      input({
        incident: incident({ message: `log: ${INJECTION}` }),
        suggestedAction: `<@U999> ${INJECTION}`,
      }),
    );
    expectValid(msg);
    expect(allText(msg)).toContain('log: &lt;!channel&gt; ignore previous instructions');
    expect(allText(msg)).not.toContain('<@U999>');
  });
});

describe('renderAlert (acked, resolved, escalated)', () => {
  it('acked: who and when, no Acknowledge button, no page', () => {
    const msg = renderAlert(
      input({ incident: incident({ ackedBy: 'U0ACKER1', ackedAt: NOW - 3 * MINUTE }) }),
    );
    expectValid(msg);
    expect(allText(msg)).toContain(':eyes: Acknowledged by <@U0ACKER1> 3m ago (2026-01-01 11:57 UTC)');
    expect(buttonsOf(msg.blocks)).toEqual([]);
    expect(msg.text.startsWith('[ACKED]')).toBe(true);
    expect(allText(msg)).not.toContain('<@U024BE7LH>');
  });

  it('acked with a proposal keeps Approve / Reject', () => {
    const msg = renderAlert(
      input({ incident: incident({ ackedBy: 'U0ACKER1', ackedAt: NOW }), proposal: proposal() }),
    );
    expect(buttonsOf(msg.blocks).map((b) => b.action_id)).toEqual(['proposal_approve', 'proposal_reject']);
  });

  it('resolved: struck through, marked resolved, no buttons and no page', () => {
    const msg = renderAlert(
      input({
        incident: incident({ state: 'resolved', resolvedAt: NOW - 2 * MINUTE }),
        proposal: proposal(),
      }),
    );
    expectValid(msg);
    expect(msg.blocks[0]).toMatchObject({ text: { text: '✅ Resolved · mosaic_moe · preempted' } });
    expect(allText(msg)).toContain('*What happened:* ~Instance 28123456 was outbid');
    expect(allText(msg)).toContain(':white_check_mark: Resolved 2m ago (2026-01-01 11:58 UTC), after 10m');
    expect(buttonsOf(msg.blocks)).toEqual([]);
    expect(msg.blocks.some((b) => b.type === 'actions')).toBe(false);
    expect(allText(msg)).not.toMatch(/<@U024BE7LH>|subteam/);
    expect(msg.text.startsWith('[RESOLVED]')).toBe(true);
  });

  it('escalated: recurrence count, window and the newest history, and it pages even for a warning', () => {
    const history = [
      journalEntry(20 * 60, { message: 'first restart' }),
      journalEntry(60, { message: 'third restart' }),
      journalEntry(6 * 60, { message: 'second restart' }),
    ];
    const msg = renderAlert(
      input({
        incident: incident({ kind: 'crashed', severity: 'warning', escalated: true }),
        escalation: { count: 3, windowHours: 24, history },
      }),
    );
    expectValid(msg);
    const text = allText(msg);
    expect(msg.blocks[0]).toMatchObject({
      text: { text: ':warning: WARNING · ESCALATED · mosaic_moe · crashed' },
    });
    expect(text).toContain(':repeat: *Recurring:* 3 times in the last 24h');
    expect(text.indexOf('third restart')).toBeLessThan(text.indexOf('second restart'));
    expect(text.indexOf('second restart')).toBeLessThan(text.indexOf('first restart'));
    expect(msg.text.startsWith('<@U024BE7LH> <!subteam^S0614TZR7>')).toBe(true);
  });

  it('escalated with 500 history entries and huge texts stays within limits', () => {
    const history = Array.from({ length: 500 }, (_, i) => journalEntry(i, { message: 'm'.repeat(10_000) }));
    const msg = renderAlert(
      input({
        incident: incident({ message: INJECTION.repeat(500), escalated: true }),
        suggestedAction: 's'.repeat(10_000),
        health: health({ reason: 'r'.repeat(10_000) }),
        runSpec: runSpec('n'.repeat(200)),
        escalation: { count: 500, windowHours: 24, history },
        proposal: proposal({ reason: 'p'.repeat(10_000) }),
        oncall: Array.from({ length: 100 }, (_, i) => `U${String(i).padStart(9, '0')}`),
      }),
    );
    expectValid(msg);
    expect(allText(msg)).toContain('…and 495 earlier entries in the journal');
    expect(msg.blocks.some((b) => b.type === 'actions')).toBe(true);
  });

  it('uses the relative and absolute time of an hours-old incident', () => {
    const msg = renderAlert(input({ incident: incident({ firstSeen: NOW - 3 * HOUR - 5 * MINUTE }) }));
    expect(allText(msg)).toContain('3h 5m ago (2026-01-01 08:55 UTC)');
  });
});
