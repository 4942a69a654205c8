import type { JournalEntry, JournalType } from '../state/types.js';
import { type Block, context, header, type SlackMessage, section } from './blocks.js';
import { formatUtc, oneLine } from './format.js';
import { escapeAndTruncate, escapeMrkdwn, finalizeMessage, packLines, SLACK_LIMITS } from './limits.js';

export interface JournalOptions {
  title?: string | undefined;
  /** Characters of each message shown; longer ones are truncated. */
  messageMax?: number | undefined;
}

const DEFAULT_MESSAGE_MAX = 300;
/** Past this many characters a journal message is unreadable in a channel: older lines are counted. */
const JOURNAL_BUDGET = 15_000;

const TYPE_EMOJI: Partial<Record<JournalType, string>> = {
  CRASH: ':boom:',
  OOM: ':boom:',
  NCCL_HANG: ':boom:',
  NAN: ':boom:',
  STALL: ':hourglass:',
  SLOW: ':turtle:',
  DISK_WARNING: ':floppy_disk:',
  DISK_CRITICAL: ':floppy_disk:',
  UNREACHABLE: ':satellite:',
  INSTANCE_DOWN: ':electric_plug:',
  OUTBID: ':money_with_wings:',
  ESCALATION: ':rotating_light:',
  POLICY_REFUSED: ':no_entry:',
  HOST_KEY_CHANGED: ':closed_lock_with_key:',
  RESTART_FAILED: ':x:',
  AUTO_RESTART: ':arrows_counterclockwise:',
  AUTO_CLEANUP: ':broom:',
  REPLACE: ':arrows_counterclockwise:',
  FIX: ':wrench:',
  RESOLVED: ':white_check_mark:',
  COMPLETE: ':checkered_flag:',
  APPROVED: ':thumbsup:',
  DECISION: ':brain:',
};

function entryTime(entry: JournalEntry): number {
  const t = Date.parse(entry.timestamp);
  return Number.isFinite(t) ? t : Number.NEGATIVE_INFINITY;
}

/** Newest first; entries with the same (or an unreadable) time keep their given order. */
export function newestFirst(entries: readonly JournalEntry[]): JournalEntry[] {
  return entries
    .map((entry, index) => ({ entry, index, t: entryTime(entry) }))
    .sort((a, b) => b.t - a.t || a.index - b.index)
    .map((x) => x.entry);
}

/** One journal entry as one mrkdwn line: time, type, run, message (escaped, truncated). */
export function journalLine(entry: JournalEntry, messageMax = DEFAULT_MESSAGE_MAX): string {
  const t = entryTime(entry);
  const when = Number.isFinite(t) ? formatUtc(t).replace(' UTC', '') : escapeAndTruncate(entry.timestamp, 40);
  const emoji = TYPE_EMOJI[entry.type] ?? ':small_blue_diamond:';
  return (
    `${emoji} \`${when}\` *${escapeMrkdwn(entry.type)}* ${escapeAndTruncate(entry.model, 64)} — ` +
    escapeAndTruncate(oneLine(entry.message), messageMax)
  );
}

/** `/train journal`: the newest entries first, as many as fit; the rest are counted. */
export function renderJournal(entries: readonly JournalEntry[], options: JournalOptions = {}): SlackMessage {
  const title = options.title ?? 'Journal';
  const blocks: Block[] = [header(title, 'journal-header')];
  if (entries.length === 0) {
    blocks.push(section('The journal is empty.', 'journal-empty'));
    return finalizeMessage(`${escapeMrkdwn(title)}: empty`, blocks);
  }
  const lines = newestFirst(entries).map((e) => journalLine(e, options.messageMax ?? DEFAULT_MESSAGE_MAX));
  const { chunks, omitted } = packLines(lines, {
    maxChars: SLACK_LIMITS.sectionText,
    maxChunks: SLACK_LIMITS.blocksPerMessage - 3,
    budget: JOURNAL_BUDGET,
  });
  chunks.forEach((chunk, i) => {
    blocks.push(section(chunk, `journal-${i}`));
  });
  const shown = entries.length - omitted;
  const note =
    omitted > 0
      ? `Newest ${shown} of ${entries.length} entries; ${omitted} older not shown. Times are UTC.`
      : `${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, newest first. Times are UTC.`;
  blocks.push(context([note], 'journal-footer'));
  return finalizeMessage(`${escapeMrkdwn(title)}: ${entries.length} entries`, blocks);
}
