import type { HealthStatus, Severity } from '../fleet/health/types.js';
import { escapeMrkdwn } from './limits.js';

/** Formatting shared by the renderers. Deterministic: no locale or time zone of the host leaks in. */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const DASH = '–';

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** `2026-01-01 00:00 UTC`: absolute times are UTC so everyone in the channel reads the same thing. */
export function formatUtc(ms: number): string {
  if (!Number.isFinite(ms)) return 'unknown time';
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return 'unknown time';
  return (
    `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())} UTC`
  );
}

/** `45s`, `12m`, `3h 5m`, `2d 4h`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'unknown';
  const abs = Math.abs(ms);
  if (abs < MINUTE) return `${Math.floor(abs / 1000)}s`;
  if (abs < HOUR) return `${Math.floor(abs / MINUTE)}m`;
  if (abs < DAY) {
    const m = Math.floor((abs % HOUR) / MINUTE);
    return m === 0 ? `${Math.floor(abs / HOUR)}h` : `${Math.floor(abs / HOUR)}h ${m}m`;
  }
  const h = Math.floor((abs % DAY) / HOUR);
  return h === 0 ? `${Math.floor(abs / DAY)}d` : `${Math.floor(abs / DAY)}d ${h}h`;
}

/** `12m ago`, `in 25m`, `just now`. */
export function formatRelative(at: number, now: number): string {
  if (!Number.isFinite(at) || !Number.isFinite(now)) return 'at an unknown time';
  const delta = now - at;
  if (Math.abs(delta) < 5_000) return 'just now';
  return delta > 0 ? `${formatDuration(delta)} ago` : `in ${formatDuration(delta)}`;
}

/** `12m ago (2026-01-01 00:00 UTC)`. */
export function formatWhen(at: number, now: number): string {
  return `${formatRelative(at, now)} (${formatUtc(at)})`;
}

/** `12,340`, or a dash for a missing value. */
export function formatInt(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  const rounded = Math.round(n);
  const sign = rounded < 0 ? '-' : '';
  return sign + String(Math.abs(rounded)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function formatFixed(n: number | null | undefined, digits: number): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  return n.toFixed(digits);
}

export function formatDollars(n: number | null | undefined, digits = 2): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  return `$${n.toFixed(digits)}`;
}

/** `45m`, `23.5h`, `2.1d`: durations of hours like ETAs. */
export function formatHours(hours: number | null | undefined): string {
  if (hours === null || hours === undefined || !Number.isFinite(hours) || hours < 0) return DASH;
  if (hours < 1) return `${Math.round(hours * 60)}m`;
  if (hours < 48) return `${hours.toFixed(1)}h`;
  return `${(hours / 24).toFixed(1)}d`;
}

export function formatPct(pct: number | null | undefined, digits = 0): string {
  if (pct === null || pct === undefined || !Number.isFinite(pct)) return DASH;
  return `${pct.toFixed(digits)}%`;
}

/** `▓▓▓▓░░░░░░`: a text progress bar that renders the same on every Slack client. */
export function progressBar(pct: number, cells = 10): string {
  const clamped = Number.isFinite(pct) ? Math.min(100, Math.max(0, pct)) : 0;
  // Floor: a bar only looks full when the run is.
  const filled = Math.floor((clamped * cells) / 100);
  return '▓'.repeat(filled) + '░'.repeat(cells - filled);
}

const STATUS_EMOJI: Partial<Record<HealthStatus, string>> = {
  complete: ':checkered_flag:',
  paused: ':double_vertical_bar:',
  provisioning: ':hourglass_flowing_sand:',
  unknown: ':grey_question:',
};

const SEVERITY_EMOJI: Record<Severity, string> = {
  info: ':large_green_circle:',
  warning: ':large_yellow_circle:',
  critical: ':red_circle:',
};

export function severityEmoji(severity: Severity): string {
  return SEVERITY_EMOJI[severity];
}

export function healthEmoji(status: HealthStatus, severity: Severity): string {
  return STATUS_EMOJI[status] ?? SEVERITY_EMOJI[severity];
}

/** `disk_critical` → `disk critical`. */
export function humanize(kind: string): string {
  return kind.replace(/_/g, ' ');
}

const USER_ID = /^[UW][A-Z0-9]{2,30}$/;
const GROUP_ID = /^S[A-Z0-9]{2,30}$/;
const USER_MENTION = /^<@([UW][A-Z0-9]{2,30})(?:\|[^<>]*)?>$/;
const GROUP_MENTION = /^<!subteam\^(S[A-Z0-9]{2,30})(?:\|[^<>]*)?>$/;

/**
 * The mention for one on-call entry: `U…`/`W…` users become `<@U…>`, `S…` user groups
 * `<!subteam^S…>`; the same entries already written as mentions are accepted. Anything else is
 * null: a configured value must never smuggle a `<!channel>` into a page.
 */
export function formatMention(id: string): string | null {
  const trimmed = id.trim();
  if (USER_ID.test(trimmed)) return `<@${trimmed}>`;
  if (GROUP_ID.test(trimmed)) return `<!subteam^${trimmed}>`;
  const user = USER_MENTION.exec(trimmed);
  if (user !== null) return `<@${user[1]}>`;
  const group = GROUP_MENTION.exec(trimmed);
  if (group !== null) return `<!subteam^${group[1]}>`;
  return null;
}

/** Distinct valid mentions, in order, for a list of on-call ids. */
export function formatMentions(ids: readonly string[]): string[] {
  const out: string[] = [];
  for (const id of ids) {
    const mention = formatMention(id);
    if (mention !== null && !out.includes(mention)) out.push(mention);
  }
  return out;
}

/** Who did something: a Slack user id becomes a mention, anything else (e.g. `policy`) escaped text. */
export function formatActor(actor: string): string {
  const trimmed = actor.trim();
  if (USER_ID.test(trimmed)) return `<@${trimmed}>`;
  const user = USER_MENTION.exec(trimmed);
  if (user !== null) return `<@${user[1]}>`;
  return escapeMrkdwn(trimmed.length === 0 ? 'someone' : trimmed);
}

/** Text for one line of mrkdwn: newlines and runs of whitespace collapse to single spaces. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
