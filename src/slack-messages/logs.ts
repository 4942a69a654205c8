import { type Block, context, type SlackMessage, section } from './blocks.js';
import { escapeMrkdwn, finalizeMessage, SLACK_LIMITS, truncate } from './limits.js';

export interface LogTailOptions {
  /** Where the lines came from, e.g. `/workspace/training.log`. */
  source?: string | undefined;
}

const FENCE = '```';
/** Each line is capped so one runaway line (a progress bar without newlines) cannot hide the rest. */
const LINE_MAX = 500;
const CODE_BUDGET = SLACK_LIMITS.sectionText - 2 * (FENCE.length + 1);

/** ANSI colour and cursor sequences, and the other control characters terminals interpret. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching escape sequences is the point.
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b[@-Z\\-_]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

/**
 * One log line made safe for a code block: only the last carriage-return segment (what a terminal
 * would show), no escape sequences, Slack control characters escaped, and no run of backticks
 * that could close the fence early.
 */
export function sanitizeLogLine(line: string): string {
  const segments = line.split('\r').filter((s) => s.length > 0);
  const visible = segments[segments.length - 1] ?? '';
  const clean = visible.replace(ANSI, '').replace(CONTROL, '').replace(/\t/g, '  ');
  return truncate(escapeMrkdwn(clean), LINE_MAX).replace(/`(?=`)/g, '`\u200b');
}

/** The newest lines that fit in one code block, oldest first. */
function newestThatFit(lines: readonly string[]): string[] {
  const kept: string[] = [];
  let length = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = sanitizeLogLine(lines[i] ?? '');
    const added = line.length + (kept.length > 0 ? 1 : 0);
    if (length + added > CODE_BUDGET) break;
    kept.push(line);
    length += added;
  }
  return kept.reverse();
}

/** `/train logs <run>`: the tail of the training log, newest lines kept when it must be cut. */
export function renderLogTail(
  run: string,
  lines: readonly string[],
  options: LogTailOptions = {},
): SlackMessage {
  const name = escapeMrkdwn(run);
  const source =
    options.source === undefined ? '' : ` · \`${escapeMrkdwn(options.source.replace(/`/g, ''))}\``;
  // A trailing newline in the log gives an empty last line; it carries nothing.
  const trimmed = lines.length > 0 && lines[lines.length - 1] === '' ? lines.slice(0, -1) : lines;
  if (trimmed.length === 0) {
    const blocks: Block[] = [
      section(`*Log tail · ${name}*${source}\nThe log is empty or could not be read.`, 'logs-empty'),
    ];
    return finalizeMessage(`Log tail for ${name}: no lines`, blocks);
  }
  const kept = newestThatFit(trimmed);
  const count =
    kept.length === trimmed.length
      ? `${kept.length} line${kept.length === 1 ? '' : 's'}`
      : `newest ${kept.length} of ${trimmed.length} lines`;
  const body = kept.join('\n');
  const blocks: Block[] = [
    section(`*Log tail · ${name}*${source}`, 'logs-title'),
    section(`${FENCE}\n${body.length === 0 ? ' ' : body}\n${FENCE}`, 'logs-body'),
    context([`${count}, oldest first. Long lines are cut at ${LINE_MAX} characters.`], 'logs-footer'),
  ];
  return finalizeMessage(`Log tail for ${name}: ${count}`, blocks);
}
