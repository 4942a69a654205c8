import type { Proposal } from '../state/types.js';
import { ACTION_IDS, actions, type Block, button, type SlackMessage, section } from './blocks.js';
import { formatRelative, humanize, oneLine } from './format.js';
import {
  escapeAndTruncate,
  escapeMrkdwn,
  finalizeMessage,
  SLACK_LIMITS,
  safeCut,
  truncateMrkdwn,
} from './limits.js';
import { encodeApproveValue } from './proposal.js';

export type ThreadProposal = Pick<Proposal, 'id' | 'run' | 'action' | 'reason' | 'expiresAt'>;

export interface ThreadAnswerInput {
  /** The conductor's answer, in Markdown or Slack mrkdwn. Treated as untrusted: it is escaped. */
  text: string;
  /** Proposals the conductor made while answering, each drawn with Approve / Reject. */
  proposals?: readonly ThreadProposal[] | undefined;
  /** Epoch ms, for "expires in". */
  now?: number | undefined;
}

const FENCE = '```';
/** Room kept in every chunk for a fence reopened at its start and closed at its end. */
const FENCE_RESERVE = 2 * (FENCE.length + 1);
const CHUNK_MAX = SLACK_LIMITS.sectionText - FENCE_RESERVE;
const PROPOSALS_SHOWN = 5;
const TRUNCATED_NOTE = '\n_…answer truncated: it was too long for one Slack message._';

/**
 * Markdown an LLM tends to write, turned into Slack mrkdwn: `**bold**` → `*bold*`, `~~x~~` → `~x~`,
 * `# Heading` → `*Heading*`, `[label](url)` → `label (url)`. Code is left alone.
 */
function markdownLineToMrkdwn(line: string): string {
  return line
    .replace(/^#{1,6}\s+(.+?)\s*#*$/, '*$1*')
    .replace(/\*\*(.+?)\*\*/g, '*$1*')
    .replace(/__(.+?)__/g, '_$1_')
    .replace(/~~(.+?)~~/g, '~$1~')
    .replace(/\[([^\]\n]+)\]\((\S+?)\)/g, '$1 ($2)');
}

function isFenceLine(line: string): boolean {
  return line.trimStart().startsWith(FENCE);
}

/** Escapes everything, converts Markdown outside code fences. */
function toMrkdwnLines(text: string): string[] {
  let inFence = false;
  return escapeMrkdwn(text.replace(/\r\n?/g, '\n'))
    .split('\n')
    .map((line) => {
      if (isFenceLine(line)) {
        inFence = !inFence;
        return line;
      }
      return inFence ? line : markdownLineToMrkdwn(line);
    });
}

/** Splits one over-long line into pieces, preferring a space near the end of each piece. */
function splitLongLine(line: string, max: number): string[] {
  const pieces: string[] = [];
  let rest = line;
  while (rest.length > max) {
    let cut = rest.lastIndexOf(' ', max);
    if (cut < max - 200) cut = max;
    // Never split an escape entity such as &amp; (or an emoji's surrogate pair).
    cut = Math.max(1, safeCut(rest, cut));
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^ /, '');
  }
  pieces.push(rest);
  return pieces;
}

/**
 * Lines packed into chunks of at most 3000 characters. A chunk that ends inside a code fence is
 * closed, and the next one reopens it, so every section renders on its own.
 */
export function splitMrkdwn(text: string, max = CHUNK_MAX): string[] {
  const lines = toMrkdwnLines(text).flatMap((line) => splitLongLine(line, max));
  const chunks: string[] = [];
  let current: string[] = [];
  let length = 0;
  let inFence = false;
  for (const line of lines) {
    if (current.length > 0 && length + 1 + line.length > max) {
      if (inFence) current.push(FENCE);
      chunks.push(current.join('\n'));
      current = inFence ? [FENCE] : [];
      length = inFence ? FENCE.length : 0;
    }
    length += (current.length > 0 ? 1 : 0) + line.length;
    current.push(line);
    if (isFenceLine(line)) inFence = !inFence;
  }
  if (inFence) current.push(FENCE);
  if (current.length > 0) chunks.push(current.join('\n'));
  return chunks.filter((c) => c.trim().length > 0);
}

function proposalBlocks(proposal: ThreadProposal, index: number, now: number | undefined): Block[] {
  const expiry = now === undefined ? '' : ` _(expires ${formatRelative(proposal.expiresAt, now)})_`;
  const text =
    `:bulb: *Proposal:* ${humanize(proposal.action)} *${escapeMrkdwn(proposal.run)}* — ` +
    escapeAndTruncate(oneLine(proposal.reason), 1500) +
    expiry;
  const value = encodeApproveValue(proposal.id);
  const expired = now !== undefined && proposal.expiresAt <= now;
  if (value === null || expired) return [section(text, `thread-proposal-${index}`)];
  return [
    section(text, `thread-proposal-${index}`),
    actions(
      [
        button(`Approve ${humanize(proposal.action)}`, ACTION_IDS.proposalApprove, value, 'primary'),
        button('Reject', ACTION_IDS.proposalReject, value, 'danger'),
      ],
      `thread-proposal-actions-${index}`,
    ),
  ];
}

/** A conductor answer in a thread: the text in as many sections as it needs, then its proposals. */
export function renderThreadAnswer(input: ThreadAnswerInput): SlackMessage {
  const proposals = (input.proposals ?? []).slice(0, PROPOSALS_SHOWN);
  const proposalSections = proposals.flatMap((p, i) => proposalBlocks(p, i, input.now));
  const room = SLACK_LIMITS.blocksPerMessage - proposalSections.length;
  const raw = input.text.trim().length === 0 ? '(no answer)' : input.text;
  let chunks = splitMrkdwn(raw);
  if (chunks.length > room) {
    chunks = chunks.slice(0, room);
    const last = chunks.length - 1;
    chunks[last] =
      `${truncateMrkdwn(chunks[last] ?? '', SLACK_LIMITS.sectionText - TRUNCATED_NOTE.length)}${TRUNCATED_NOTE}`;
  }
  const blocks: Block[] = [...chunks.map((chunk, i) => section(chunk, `answer-${i}`)), ...proposalSections];
  return finalizeMessage(escapeAndTruncate(oneLine(raw), 300), blocks);
}
