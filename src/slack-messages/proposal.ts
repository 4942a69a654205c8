import type { RunSpec } from '../fleet/schema.js';
import type { VastOffer } from '../infra/vast/types.js';
import type { Proposal } from '../state/types.js';
import {
  ACTION_IDS,
  actions,
  type Block,
  type ButtonElement,
  button,
  context,
  header,
  type SlackMessage,
  section,
} from './blocks.js';
import {
  formatActor,
  formatDollars,
  formatFixed,
  formatHours,
  formatInt,
  formatPct,
  formatUtc,
  formatWhen,
  humanize,
  oneLine,
} from './format.js';
import { escapeAndTruncate, escapeMrkdwn, finalizeMessage, SLACK_LIMITS } from './limits.js';

/**
 * Button values. Approve carries `<proposalId>` or `<proposalId>:<offerId>` (one action_id for the
 * alert's single Approve and the proposal's per-offer ones, so one handler serves both); Reject
 * carries `<proposalId>`. Proposal ids are base64url (state/proposals.ts), so `:` cannot occur in
 * them. Values come back from Slack as untrusted input: parse them strictly.
 */
const PROPOSAL_ID = /^[A-Za-z0-9_-]{16,128}$/;
const APPROVE_VALUE = /^([A-Za-z0-9_-]{16,128})(?::([1-9][0-9]{0,15}))?$/;

export interface ApproveValue {
  proposalId: string;
  /** The offer chosen, for migrations; null when the proposal has no offers to choose from. */
  offerId: number | null;
}

/** The approve button's value, or null when the ids cannot be encoded (then no button is drawn). */
export function encodeApproveValue(proposalId: string, offerId?: number): string | null {
  if (!PROPOSAL_ID.test(proposalId)) return null;
  if (offerId === undefined) return proposalId;
  if (!Number.isSafeInteger(offerId) || offerId < 1) return null;
  return `${proposalId}:${offerId}`;
}

/** Strict inverse of encodeApproveValue(): null for anything it would not have produced. */
export function parseApproveValue(value: unknown): ApproveValue | null {
  if (typeof value !== 'string' || value.length > SLACK_LIMITS.buttonValue) return null;
  const match = APPROVE_VALUE.exec(value);
  if (match === null || match[1] === undefined) return null;
  if (match[2] === undefined) return { proposalId: match[1], offerId: null };
  const offerId = Number(match[2]);
  return Number.isSafeInteger(offerId) ? { proposalId: match[1], offerId } : null;
}

/** The Reject (and Acknowledge-free) proposal value: a bare proposal id, or null. */
export function parseProposalIdValue(value: unknown): string | null {
  return typeof value === 'string' && PROPOSAL_ID.test(value) ? value : null;
}

export type ProposalOffer = Pick<
  VastOffer,
  'id' | 'gpu_name' | 'num_gpus' | 'gpu_ram' | 'dph_total' | 'reliability' | 'inet_down' | 'geolocation'
>;

export interface OfferOption {
  offer: ProposalOffer;
  /** Hours to reach the target step on this offer. */
  estHours: number;
  /** Dollars to reach the target step on this offer. */
  estDollars: number;
  /** Bid price ($/h) for interruptible rentals. */
  bid?: number | undefined;
  profileKey: string;
}

export interface ProposalMessageInput {
  proposal: Proposal;
  run: Pick<RunSpec, 'name' | 'target_steps'>;
  /** Ranked best first. */
  offers: readonly OfferOption[];
  currentStep: number | null;
  /** What the proposal is waiting for, e.g. "approval from an approver". */
  waitingFor?: string | undefined;
  /** Epoch ms; when given, an expired proposal is drawn without buttons. */
  now?: number | undefined;
}

export type ProposalOutcome = 'approved' | 'rejected' | 'expired' | 'refused';

export interface ProposalDecidedInput {
  proposal: Proposal;
  /** Slack user id of who clicked, or a name such as `policy` or `timer`. */
  decidedBy: string;
  /** Epoch ms. */
  decidedAt: number;
  outcome: ProposalOutcome;
  reason?: string | undefined;
  /** The offer chosen, for approved migrations. */
  offerId?: number | undefined;
  now?: number | undefined;
}

/** Ten choices is plenty; more would push the Reject button toward the block limit. */
const OFFERS_SHOWN = 10;

function proposalSummary(input: ProposalMessageInput): string {
  const { proposal, run, currentStep } = input;
  const pct = currentStep === null || !(run.target_steps > 0) ? null : (100 * currentStep) / run.target_steps;
  const now = input.now ?? proposal.createdAt;
  return [
    `*Proposal:* ${humanize(proposal.action)} *${escapeMrkdwn(run.name)}* — ` +
      escapeAndTruncate(oneLine(proposal.reason), 1500),
    `Step ${formatInt(currentStep)} / ${formatInt(run.target_steps)}${pct === null ? '' : ` (${formatPct(pct)})`}` +
      ` · proposed by ${formatActor(proposal.createdBy)} · expires ${formatWhen(proposal.expiresAt, now)}`,
  ].join('\n');
}

function gpuLabel(offer: ProposalOffer): string {
  return `${offer.num_gpus}× ${oneLine(offer.gpu_name)}`;
}

function offerText(option: OfferOption, rank: number): string {
  const { offer } = option;
  const ramGb = Number.isFinite(offer.gpu_ram) ? ` · ${Math.round(offer.gpu_ram / 1024)} GB` : '';
  const bid = option.bid === undefined ? '' : ` (bid ${formatDollars(option.bid, 3)}/h)`;
  const where = offer.geolocation === null ? '' : ` · ${escapeAndTruncate(oneLine(offer.geolocation), 60)}`;
  return [
    `*${rank}. ${escapeAndTruncate(gpuLabel(offer), 120)}*${ramGb} · ${formatDollars(offer.dph_total, 3)}/h${bid}` +
      ` · reliability ${formatPct(offer.reliability * 100, 1)}`,
    `Est. ${formatHours(option.estHours)} to finish · ≈ ${formatDollars(option.estDollars)}` +
      ` · profile \`${escapeAndTruncate(option.profileKey, 40)}\` · offer ${offer.id}${where}` +
      ` · ${formatFixed(offer.inet_down, 0)} Mbps down`,
  ].join('\n');
}

function approveOfferButton(proposalId: string, option: OfferOption, rank: number): ButtonElement | null {
  const value = encodeApproveValue(proposalId, option.offer.id);
  if (value === null) return null;
  const price = formatDollars(option.bid ?? option.offer.dph_total, 2);
  // Plain text: no escaping needed; clampBlocks trims it to 75 characters.
  return button(
    `Approve #${rank} · ${gpuLabel(option.offer)} · ${price}/h`,
    ACTION_IDS.proposalApprove,
    value,
    'primary',
  );
}

function offerBlocks(input: ProposalMessageInput, live: boolean): Block[] {
  if (input.offers.length === 0) {
    return input.proposal.action === 'migrate'
      ? [
          section(
            ':warning: No offers match the policy right now. Try `/train offers` again later.',
            'offers-none',
          ),
        ]
      : [];
  }
  const shown = input.offers.slice(0, OFFERS_SHOWN);
  const blocks: Block[] = shown.map((option, i) => {
    const accessory = live ? approveOfferButton(input.proposal.id, option, i + 1) : null;
    return section(offerText(option, i + 1), `offer-${option.offer.id}`, accessory ?? undefined);
  });
  const more = input.offers.length - shown.length;
  if (more > 0)
    blocks.push(context([`${more} more offer(s) not shown: these are the best ${shown.length}.`]));
  return blocks;
}

function decisionButtons(input: ProposalMessageInput): ButtonElement[] {
  const { proposal } = input;
  const reject = parseProposalIdValue(proposal.id);
  if (reject === null) return [];
  const out: ButtonElement[] = [];
  if (input.offers.length === 0 && proposal.action !== 'migrate') {
    out.push(
      button(`Approve ${humanize(proposal.action)}`, ACTION_IDS.proposalApprove, proposal.id, 'primary'),
    );
  }
  out.push(button('Reject', ACTION_IDS.proposalReject, reject, 'danger'));
  return out;
}

/** A proposal awaiting a human: the replacement offers, each with its own Approve, and Reject. */
export function renderProposal(input: ProposalMessageInput): SlackMessage {
  const { proposal, run } = input;
  const live = input.now === undefined || proposal.expiresAt > input.now;
  const blocks: Block[] = [
    header(`:arrows_counterclockwise: Proposal: ${humanize(proposal.action)} ${run.name}`, 'proposal-header'),
    section(proposalSummary(input), 'proposal-summary'),
  ];
  if (input.waitingFor !== undefined && input.waitingFor.trim().length > 0) {
    blocks.push(
      context(
        [`:hourglass_flowing_sand: Waiting for ${escapeAndTruncate(oneLine(input.waitingFor), 500)}`],
        'proposal-waiting',
      ),
    );
  }
  blocks.push(...offerBlocks(input, live));
  if (live) {
    if (parseProposalIdValue(proposal.id) === null) {
      blocks.push(context([':warning: This proposal id cannot be carried by a button; nothing to click.']));
    } else {
      blocks.push(actions(decisionButtons(input), 'proposal-actions'));
    }
  } else {
    blocks.push(context([':hourglass: This proposal has expired. Ask for a new one.'], 'proposal-expired'));
  }
  const count = input.offers.length;
  const text =
    `Proposal: ${humanize(proposal.action)} ${escapeMrkdwn(run.name)} — ${escapeAndTruncate(oneLine(proposal.reason), 300)}` +
    (count > 0 ? ` (${count} offer${count === 1 ? '' : 's'})` : '');
  return finalizeMessage(text, blocks);
}

const OUTCOME_ICON: Record<ProposalOutcome, string> = {
  approved: ':white_check_mark:',
  rejected: ':x:',
  expired: ':hourglass:',
  refused: ':no_entry:',
};

function outcomeLine(input: ProposalDecidedInput): string {
  const who = formatActor(input.decidedBy);
  const when = input.now === undefined ? formatUtc(input.decidedAt) : formatWhen(input.decidedAt, input.now);
  const icon = OUTCOME_ICON[input.outcome];
  switch (input.outcome) {
    case 'approved': {
      const offer = input.offerId === undefined ? '' : ` (offer ${input.offerId})`;
      return `${icon} *Approved* by ${who} ${when}${offer}`;
    }
    case 'rejected':
      return `${icon} *Rejected* by ${who} ${when}`;
    case 'expired':
      return `${icon} *Expired* ${when} without a decision`;
    case 'refused':
      return `${icon} *Refused* ${when}: ${who} clicked Approve, but it was not carried out`;
  }
}

/** The proposal after its fate is known: the buttons are gone, the outcome says who and when. */
export function renderProposalDecided(input: ProposalDecidedInput): SlackMessage {
  const { proposal } = input;
  const lines = [outcomeLine(input)];
  if (input.reason !== undefined && input.reason.trim().length > 0) {
    lines.push(`*Reason:* ${escapeAndTruncate(oneLine(input.reason), 1000)}`);
  }
  const title = `${OUTCOME_ICON[input.outcome]} Proposal ${input.outcome}: ${humanize(proposal.action)} ${proposal.run}`;
  const blocks: Block[] = [
    header(title, 'proposal-header'),
    section(
      `*Proposal:* ${humanize(proposal.action)} *${escapeMrkdwn(proposal.run)}* — ` +
        escapeAndTruncate(oneLine(proposal.reason), 1500),
      'proposal-summary',
    ),
    section(lines.join('\n'), 'proposal-outcome'),
  ];
  const text =
    `Proposal ${input.outcome}: ${humanize(proposal.action)} ${escapeMrkdwn(proposal.run)}` +
    (input.reason === undefined ? '' : ` — ${escapeAndTruncate(oneLine(input.reason), 300)}`);
  return finalizeMessage(text, blocks);
}
