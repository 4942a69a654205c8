import type { RunHealth, Severity } from '../fleet/health/types.js';
import type { RunSpec } from '../fleet/schema.js';
import type { Incident, JournalEntry, Proposal } from '../state/types.js';
import {
  ACTION_IDS,
  actions,
  type Block,
  type ButtonElement,
  button,
  context,
  fieldsSection,
  header,
  type SlackMessage,
  section,
} from './blocks.js';
import {
  formatActor,
  formatDuration,
  formatInt,
  formatMentions,
  formatRelative,
  formatWhen,
  humanize,
  oneLine,
} from './format.js';
import { journalLine, newestFirst } from './journal.js';
import { escapeAndTruncate, escapeMrkdwn, finalizeMessage } from './limits.js';
import { encodeApproveValue } from './proposal.js';

export type AlertProposal = Pick<Proposal, 'id' | 'action' | 'reason' | 'expiresAt'>;

/** Rule 6: the incident recurred `count` times in `windowHours`; `history` = past journal entries. */
export interface AlertEscalation {
  count: number;
  windowHours: number;
  history: readonly JournalEntry[];
}

export interface AlertInput {
  incident: Incident;
  runSpec?: Pick<RunSpec, 'name' | 'target_steps'> | undefined;
  health?: RunHealth | null | undefined;
  suggestedAction: string;
  /** Slack ids to page: `U…`/`W…` users, `S…` user groups. Invalid entries are ignored. */
  oncall: readonly string[];
  proposal?: AlertProposal | null | undefined;
  escalation?: AlertEscalation | undefined;
  /** Epoch ms, for "since" and "expires in". */
  now: number;
}

export type AlertVariant = 'open' | 'acked' | 'resolved';

const MESSAGE_MAX = 1500;
const ACTION_MAX = 1000;
const HISTORY_SHOWN = 5;
const HISTORY_MESSAGE_MAX = 160;

const SEVERITY_ICON: Record<Severity, string> = {
  critical: ':rotating_light:',
  warning: ':warning:',
  info: ':information_source:',
};

export function alertVariant(incident: Incident): AlertVariant {
  if (incident.state === 'resolved') return 'resolved';
  return incident.ackedBy !== undefined ? 'acked' : 'open';
}

function isEscalated(input: AlertInput): boolean {
  return input.incident.escalated === true || input.escalation !== undefined;
}

/**
 * On-call is paged only while nobody has picked the incident up: a critical incident, or one that
 * keeps recurring (rule 6 says a human must look). Acked and resolved versions never page.
 */
export function alertMentions(input: AlertInput): string[] {
  if (alertVariant(input.incident) !== 'open') return [];
  if (input.incident.severity !== 'critical' && !isEscalated(input)) return [];
  return formatMentions(input.oncall);
}

function runName(input: AlertInput): string {
  return input.runSpec?.name ?? input.incident.run;
}

function headerText(input: AlertInput): string {
  const { incident } = input;
  const what = `${runName(input)} · ${humanize(incident.kind)}`;
  if (alertVariant(incident) === 'resolved') return `✅ Resolved · ${what}`;
  const escalated = isEscalated(input) ? ' · ESCALATED' : '';
  return `${SEVERITY_ICON[incident.severity]} ${incident.severity.toUpperCase()}${escalated} · ${what}`;
}

/** Strikethrough needs `~` around each line and none inside. */
function strike(text: string): string {
  return `~${text.replace(/~/g, '')}~`;
}

function whatHappened(input: AlertInput, mentions: readonly string[]): string {
  const message = escapeAndTruncate(oneLine(input.incident.message), MESSAGE_MAX);
  const body =
    alertVariant(input.incident) === 'resolved'
      ? `*What happened:* ${strike(message)}`
      : `*What happened:* ${message}`;
  return mentions.length > 0 ? `${mentions.join(' ')} please look.\n${body}` : body;
}

function factFields(input: AlertInput): string[] {
  const { incident, health, now } = input;
  const fields = [
    `*Severity*\n${incident.severity}`,
    `*Run*\n${escapeMrkdwn(runName(input))}`,
    `*Since*\n${formatWhen(incident.firstSeen, now)}`,
    `*Last seen*\n${formatWhen(incident.lastSeen, now)} · ${incident.count} sweep${incident.count === 1 ? '' : 's'}`,
  ];
  if (health !== null && health !== undefined) {
    const target = input.runSpec?.target_steps;
    const step = `${formatInt(health.step)}${target === undefined ? '' : ` / ${formatInt(target)}`}`;
    fields.push(`*Step*\n${step}`);
    fields.push(`*Health*\n${humanize(health.status)}: ${escapeAndTruncate(oneLine(health.reason), 300)}`);
  }
  return fields;
}

function proposalUsable(input: AlertInput): input is AlertInput & { proposal: AlertProposal } {
  const p = input.proposal;
  return p !== null && p !== undefined && p.expiresAt > input.now;
}

function proposalText(proposal: AlertProposal, now: number): string {
  const expiry = proposal.expiresAt > now ? `expires ${formatRelative(proposal.expiresAt, now)}` : 'expired';
  return (
    `*Proposal:* ${humanize(proposal.action)} — ${escapeAndTruncate(oneLine(proposal.reason), 800)} ` +
    `_(${expiry})_`
  );
}

function escalationText(input: AlertInput): string {
  const esc = input.escalation;
  const count = esc?.count ?? input.incident.count;
  const window = esc === undefined ? '' : ` in the last ${esc.windowHours}h`;
  const lines = [
    `:repeat: *Recurring:* ${count} times${window}. Fixing it again has not worked; a human should find the cause.`,
  ];
  const history = newestFirst(esc?.history ?? []).slice(0, HISTORY_SHOWN);
  if (history.length > 0) {
    lines.push('*Recent history:*');
    for (const entry of history) lines.push(`• ${journalLine(entry, HISTORY_MESSAGE_MAX)}`);
    const more = (esc?.history.length ?? 0) - history.length;
    if (more > 0) lines.push(`_…and ${more} earlier entr${more === 1 ? 'y' : 'ies'} in the journal_`);
  }
  return lines.join('\n');
}

function stateContext(input: AlertInput): string | null {
  const { incident, now } = input;
  if (incident.state === 'resolved') {
    const at = incident.resolvedAt;
    return at === undefined
      ? ':white_check_mark: Resolved'
      : `:white_check_mark: Resolved ${formatWhen(at, now)}, after ${formatDuration(at - incident.firstSeen)}`;
  }
  if (incident.ackedBy !== undefined) {
    const when = incident.ackedAt === undefined ? '' : ` ${formatWhen(incident.ackedAt, now)}`;
    return `:eyes: Acknowledged by ${formatActor(incident.ackedBy)}${when}`;
  }
  return null;
}

function buttons(input: AlertInput): ButtonElement[] {
  const variant = alertVariant(input.incident);
  if (variant === 'resolved') return [];
  const out: ButtonElement[] = [];
  if (variant === 'open') out.push(button('Acknowledge', ACTION_IDS.incidentAck, input.incident.id));
  const value = proposalUsable(input) ? encodeApproveValue(input.proposal.id) : null;
  if (proposalUsable(input) && value !== null) {
    const label = `Approve ${humanize(input.proposal.action)}`;
    out.push(button(label, ACTION_IDS.proposalApprove, value, 'primary'));
    out.push(button('Reject', ACTION_IDS.proposalReject, value, 'danger'));
  }
  return out;
}

function fallbackText(input: AlertInput, mentions: readonly string[]): string {
  const { incident } = input;
  const variant = alertVariant(incident);
  const tag = variant === 'open' ? incident.severity.toUpperCase() : variant.toUpperCase();
  const text =
    `[${tag}] ${escapeMrkdwn(runName(input))}: ${humanize(incident.kind)} — ` +
    escapeAndTruncate(oneLine(incident.message), 500);
  // Mentions lead the fallback text: it is what the push notification shows.
  return mentions.length > 0 ? `${mentions.join(' ')} ${text}` : text;
}

/**
 * The incident alert, in every state it goes through: open (Acknowledge, and Approve/Reject when
 * a proposal is attached), acked (who and when, no Acknowledge), resolved (struck through, no
 * buttons), and escalated (recurrence count and recent history). The notify job posts the open
 * version and updates the same message in place as the incident moves on.
 */
export function renderAlert(input: AlertInput): SlackMessage {
  const variant = alertVariant(input.incident);
  const mentions = alertMentions(input);
  const blocks: Block[] = [
    header(headerText(input), 'alert-header'),
    section(whatHappened(input, mentions), 'alert-what'),
    fieldsSection(factFields(input), 'alert-facts'),
  ];
  if (variant !== 'resolved') {
    const action = escapeAndTruncate(input.suggestedAction.trim() || 'none', ACTION_MAX);
    blocks.push(section(`*Suggested action:* ${action}`, 'alert-suggested'));
    if (input.proposal !== null && input.proposal !== undefined) {
      blocks.push(section(proposalText(input.proposal, input.now), 'alert-proposal'));
    }
  }
  if (isEscalated(input)) blocks.push(section(escalationText(input), 'alert-escalation'));
  const state = stateContext(input);
  const id = escapeMrkdwn(input.incident.id);
  const footer = variant === 'open' ? `Incident \`${id}\` · \`/train ack ${id}\`` : `Incident \`${id}\``;
  blocks.push(context(state === null ? [footer] : [state, footer], 'alert-context'));
  const elements = buttons(input);
  if (elements.length > 0) blocks.push(actions(elements, 'alert-actions'));
  return finalizeMessage(fallbackText(input, mentions), blocks);
}
