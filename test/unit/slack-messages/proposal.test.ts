import { describe, expect, it } from 'vitest';
import {
  encodeApproveValue,
  type OfferOption,
  parseApproveValue,
  parseProposalIdValue,
  renderProposal,
  renderProposalDecided,
} from '../../../src/slack-messages/index.js';
import {
  allText,
  buttonsOf,
  expectValid,
  INJECTION,
  MINUTE,
  NOW,
  offer,
  PROPOSAL_ID,
  proposal,
  runSpec,
  sectionTexts,
} from './fixtures.js';

const options: OfferOption[] = [
  { offer: offer(), estHours: 24.1, estDollars: 21.02, bid: 0.45, profileKey: 'RTX_3090_4x' },
  {
    offer: offer({
      id: 5_550_001,
      gpu_name: 'A100 SXM4',
      gpu_ram: 81_920,
      dph_total: 3.9,
      reliability: 0.998,
    }),
    estHours: 9.5,
    estDollars: 37.05,
    profileKey: 'A100_SXM4_4x',
  },
];

describe('parseApproveValue', () => {
  it('round-trips what encodeApproveValue produces', () => {
    const value = encodeApproveValue(PROPOSAL_ID, 9_876_543);
    expect(value).toBe(`${PROPOSAL_ID}:9876543`);
    expect(parseApproveValue(value)).toEqual({ proposalId: PROPOSAL_ID, offerId: 9_876_543 });
    expect(parseApproveValue(PROPOSAL_ID)).toEqual({ proposalId: PROPOSAL_ID, offerId: null });
  });

  it('rejects malformed and injected values', () => {
    const bad: unknown[] = [
      undefined,
      null,
      42,
      { proposalId: PROPOSAL_ID },
      '',
      ':123',
      'short:1',
      `${PROPOSAL_ID}:`,
      `${PROPOSAL_ID}:0`,
      `${PROPOSAL_ID}:-1`,
      `${PROPOSAL_ID}:01`,
      `${PROPOSAL_ID}:1.5`,
      `${PROPOSAL_ID}:1e9`,
      `${PROPOSAL_ID}:12345678901234567`,
      `${PROPOSAL_ID}:99999999999999999`,
      `${PROPOSAL_ID}:1:2`,
      `${PROPOSAL_ID}:1\n`,
      `${PROPOSAL_ID}\n`,
      ` ${PROPOSAL_ID}`,
      `${PROPOSAL_ID}:1 `,
      `${PROPOSAL_ID}/../x:1`,
      `${PROPOSAL_ID}*:1`,
      `<!channel>:1`,
      `${PROPOSAL_ID}:1;DEL x`,
      'a'.repeat(129),
      `${'a'.repeat(300)}:1`,
    ];
    for (const value of bad) expect(parseApproveValue(value), String(value)).toBeNull();
  });

  it('parseProposalIdValue takes a bare id only', () => {
    expect(parseProposalIdValue(PROPOSAL_ID)).toBe(PROPOSAL_ID);
    expect(parseProposalIdValue(`${PROPOSAL_ID}:1`)).toBeNull();
    expect(parseProposalIdValue(7)).toBeNull();
  });

  it('encodeApproveValue refuses ids it could not parse back', () => {
    expect(encodeApproveValue('p1', 1)).toBeNull();
    expect(encodeApproveValue(PROPOSAL_ID, 0)).toBeNull();
    expect(encodeApproveValue(PROPOSAL_ID, 1.5)).toBeNull();
  });
});

describe('renderProposal', () => {
  it('lists each offer with $/h, GPUs, reliability, estimates and its own Approve, then Reject', () => {
    const msg = renderProposal({
      proposal: proposal(),
      run: runSpec(),
      offers: options,
      currentStep: 20_000,
      waitingFor: 'approval from an approver',
      now: NOW,
    });
    expectValid(msg);
    const text = sectionTexts(msg.blocks).join('\n');
    expect(text).toContain('*Proposal:* migrate *mosaic_moe* — The bid instance was preempted');
    expect(text).toContain('Step 20,000 / 50,000 (40%)');
    expect(text).toContain('expires in 28m');
    expect(text).toContain('*1. 4× RTX 3090* · 24 GB · $0.872/h (bid $0.450/h) · reliability 99.3%');
    expect(text).toContain(
      'Est. 24.1h to finish · ≈ $21.02 · profile `RTX_3090_4x` · offer 9876543 · Norway, NO',
    );
    expect(text).toContain('*2. 4× A100 SXM4* · 80 GB · $3.900/h · reliability 99.8%');
    expect(allText(msg)).toContain('Waiting for approval from an approver');
    const buttons = buttonsOf(msg.blocks);
    expect(buttons.map((b) => [b.action_id, b.value])).toEqual([
      ['proposal_approve', `${PROPOSAL_ID}:9876543`],
      ['proposal_approve', `${PROPOSAL_ID}:5550001`],
      ['proposal_reject', PROPOSAL_ID],
    ]);
    expect(buttons[0]?.text.text).toBe('Approve #1 · 4× RTX 3090 · $0.45/h');
    for (const b of buttons.slice(0, 2)) expect(parseApproveValue(b.value)?.proposalId).toBe(PROPOSAL_ID);
  });

  it('has a single Approve for a non-migration proposal without offers', () => {
    const msg = renderProposal({
      proposal: proposal({ action: 'restart', reason: 'crashed 3 times; restart needs approval by policy' }),
      run: runSpec(),
      offers: [],
      currentStep: null,
    });
    expectValid(msg);
    expect(buttonsOf(msg.blocks).map((b) => [b.action_id, b.value, b.text.text])).toEqual([
      ['proposal_approve', PROPOSAL_ID, 'Approve restart'],
      ['proposal_reject', PROPOSAL_ID, 'Reject'],
    ]);
  });

  it('says when a migration has no offers, and offers only Reject', () => {
    const msg = renderProposal({ proposal: proposal(), run: runSpec(), offers: [], currentStep: 1 });
    expect(allText(msg)).toContain('No offers match the policy right now');
    expect(buttonsOf(msg.blocks).map((b) => b.action_id)).toEqual(['proposal_reject']);
  });

  it('draws no buttons once the proposal has expired', () => {
    const msg = renderProposal({
      proposal: proposal({ expiresAt: NOW - MINUTE }),
      run: runSpec(),
      offers: options,
      currentStep: 1,
      now: NOW,
    });
    expectValid(msg);
    expect(buttonsOf(msg.blocks)).toEqual([]);
    expect(allText(msg)).toContain('has expired');
  });

  it('stays within limits with 40 offers, 80-character GPU names and hostile text', () => {
    const many = Array.from({ length: 40 }, (_, i) => ({
      offer: offer({ id: 1_000 + i, gpu_name: `${INJECTION} ${'G'.repeat(80)}`, geolocation: INJECTION }),
      estHours: 10 + i,
      estDollars: 100 + i,
      profileKey: 'RTX_3090_4x',
    }));
    const msg = renderProposal({
      proposal: proposal({ reason: INJECTION.repeat(200) }),
      run: runSpec(),
      offers: many,
      currentStep: 20_000,
      waitingFor: INJECTION,
    });
    expectValid(msg);
    const buttons = buttonsOf(msg.blocks);
    expect(buttons).toHaveLength(11);
    for (const b of buttons) expect(b.text.text.length).toBeLessThanOrEqual(75);
    expect(allText(msg)).toContain('30 more offer(s) not shown');
    expect(allText(msg)).toContain('&lt;!channel&gt;');
  });
});

describe('renderProposalDecided', () => {
  const base = { proposal: proposal(), decidedAt: NOW - MINUTE, now: NOW };

  it('approved: who, when and which offer, with no buttons left', () => {
    const msg = renderProposalDecided({
      ...base,
      decidedBy: 'U024BE7LH',
      outcome: 'approved',
      offerId: 9_876_543,
    });
    expectValid(msg);
    expect(allText(msg)).toContain(
      ':white_check_mark: *Approved* by <@U024BE7LH> 1m ago (2026-01-01 11:59 UTC) (offer 9876543)',
    );
    expect(buttonsOf(msg.blocks)).toEqual([]);
    expect(msg.text).toBe('Proposal approved: migrate mosaic_moe');
  });

  it('rejected, expired and refused each say so', () => {
    const rejected = renderProposalDecided({ ...base, decidedBy: 'U0REJECT1', outcome: 'rejected' });
    expect(allText(rejected)).toContain(':x: *Rejected* by <@U0REJECT1>');
    const expired = renderProposalDecided({ ...base, decidedBy: 'timer', outcome: 'expired' });
    expect(allText(expired)).toContain(
      ':hourglass: *Expired* 1m ago (2026-01-01 11:59 UTC) without a decision',
    );
    const refused = renderProposalDecided({
      ...base,
      decidedBy: 'U0NOTAPPR',
      outcome: 'refused',
      reason: `not an approver ${INJECTION}`,
    });
    expectValid(refused);
    expect(allText(refused)).toContain(':no_entry: *Refused*');
    expect(allText(refused)).toContain('*Reason:* not an approver &lt;!channel&gt;');
    for (const msg of [rejected, expired, refused]) expect(buttonsOf(msg.blocks)).toEqual([]);
  });

  it('escapes a non-user decider', () => {
    const msg = renderProposalDecided({ ...base, decidedBy: INJECTION, outcome: 'rejected' });
    expectValid(msg);
  });
});
