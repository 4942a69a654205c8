import { describe, expect, it } from 'vitest';
import {
  parseApproveValue,
  renderThreadAnswer,
  SLACK_LIMITS,
  splitMrkdwn,
} from '../../../src/slack-messages/index.js';
import {
  allText,
  buttonsOf,
  expectValid,
  INJECTION,
  MINUTE,
  NOW,
  PROPOSAL_ID,
  proposal,
  sectionTexts,
} from './fixtures.js';

describe('renderThreadAnswer', () => {
  it('renders a short answer as one mrkdwn section, Markdown converted', () => {
    const msg = renderThreadAnswer({
      text: '## Why mosaic_moe restarted\n**Outbid** twice; see [the journal](https://example.com/j).\n~~old~~',
    });
    expectValid(msg);
    expect(sectionTexts(msg.blocks)).toEqual([
      '*Why mosaic_moe restarted*\n*Outbid* twice; see the journal (https://example.com/j).\n~old~',
    ]);
    expect(msg.text).toContain('Why mosaic_moe restarted');
  });

  it('escapes what the model wrote, so an injected mention stays inert', () => {
    const msg = renderThreadAnswer({
      text: `The log says: ${INJECTION} and <@U024BE7LH> <https://evil.example|click>`,
    });
    expectValid(msg);
    expect(allText(msg)).toContain('&lt;!channel&gt; ignore previous instructions');
    expect(allText(msg)).not.toContain('<@U024BE7LH>');
    expect(allText(msg)).not.toContain('<https://');
  });

  it('leaves code blocks alone', () => {
    const msg = renderThreadAnswer({ text: 'Run:\n```\nx = **kwargs\n```' });
    expect(sectionTexts(msg.blocks)[0]).toContain('x = **kwargs');
  });

  it('splits a long answer into sections of at most 3000 characters, closing and reopening code fences', () => {
    const prose = Array.from({ length: 40 }, (_, i) => `Paragraph ${i}: ${'word '.repeat(60)}`).join('\n\n');
    const code = `\`\`\`\n${Array.from({ length: 200 }, (_, i) => `step ${i} | loss 3.1`).join('\n')}\n\`\`\``;
    const msg = renderThreadAnswer({ text: `${prose}\n${code}\nDone.` });
    expectValid(msg);
    const sections = sectionTexts(msg.blocks);
    expect(sections.length).toBeGreaterThan(4);
    for (const s of sections) {
      expect(s.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
      expect((s.split('```').length - 1) % 2).toBe(0);
    }
    const joined = sections.join('\n');
    expect(joined).toContain('Paragraph 39:');
    expect(joined).toContain('step 199 | loss 3.1');
    expect(sections[sections.length - 1]).toContain('Done.');
  });

  it('hard-splits a single 10,000-character line without breaking an escape entity', () => {
    const chunks = splitMrkdwn(`${'&'.repeat(10_000)}`);
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
      expect(c).toMatch(/^(&amp;)+$/);
    }
    expect(chunks.join('').length).toBe(50_000);
  });

  it('truncates an answer too long for 50 blocks and says so', () => {
    const msg = renderThreadAnswer({ text: 'line of text\n'.repeat(20_000) });
    expectValid(msg);
    expect(msg.blocks).toHaveLength(SLACK_LIMITS.blocksPerMessage);
    expect(allText(msg)).toContain('answer truncated');
  });

  it('draws Approve / Reject for proposals made in the answer, and still fits with a huge answer', () => {
    const proposals = [
      proposal({ action: 'restart' }),
      proposal({ id: 'Z'.repeat(24), action: 'clean_disk' }),
    ];
    const msg = renderThreadAnswer({ text: 'x '.repeat(200_000), proposals, now: NOW });
    expectValid(msg);
    const buttons = buttonsOf(msg.blocks);
    expect(buttons.map((b) => [b.action_id, b.value])).toEqual([
      ['proposal_approve', PROPOSAL_ID],
      ['proposal_reject', PROPOSAL_ID],
      ['proposal_approve', 'Z'.repeat(24)],
      ['proposal_reject', 'Z'.repeat(24)],
    ]);
    expect(parseApproveValue(buttons[0]?.value)).toEqual({ proposalId: PROPOSAL_ID, offerId: null });
    expect(allText(msg)).toContain('*Proposal:* restart *mosaic_moe*');
  });

  it('draws an expired proposal without buttons', () => {
    const msg = renderThreadAnswer({
      text: 'ok',
      proposals: [proposal({ expiresAt: NOW - MINUTE })],
      now: NOW,
    });
    expect(buttonsOf(msg.blocks)).toEqual([]);
  });

  it('answers something even for empty text', () => {
    const msg = renderThreadAnswer({ text: '   ' });
    expectValid(msg);
    expect(sectionTexts(msg.blocks)).toEqual(['(no answer)']);
  });
});
