import type { Clock } from '../../src/clock.js';
import { errorMessage } from '../../src/errors.js';
import type { Fleet } from '../../src/fleet/schema.js';
import type { Store } from '../../src/state/store.js';
import type { JournalEntry } from '../../src/state/types.js';
import { type FleetRow, type FleetView, fleetRowLine, loadFleetView } from './snapshot.js';

/**
 * Answers without the model: when no API key is configured, the daily budget is spent, or the API
 * is down. The run in question is recognised by its name in the text; the answer gives its
 * status, its recent journal and its log tail (or, with no run named, the whole fleet), and
 * always says first why the LLM did not answer.
 */

export interface RunReport {
  row: FleetRow;
  journal: JournalEntry[];
  /** The log tail, or why it could not be read. */
  log: { lines: string[] } | { error: string };
}

export interface RulesAnswerInput {
  /** Why the LLM did not answer, shown first. */
  why: string;
  view: FleetView;
  /** Reports for the runs named in the question; empty for a fleet-wide answer. */
  runs: RunReport[];
}

export const RULES_JOURNAL_ENTRIES = 5;
export const RULES_LOG_LINES = 15;
const LOG_TIMEOUT_MS = 10_000;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Names of runs mentioned in `text` (whole words, any case), in order of first mention. */
export function findRunsInText(text: string, runNames: readonly string[]): string[] {
  const found: { name: string; at: number }[] = [];
  for (const name of runNames) {
    const pattern = new RegExp(`(^|[^A-Za-z0-9_.-])${escapeRegExp(name)}(?![A-Za-z0-9_])`, 'i');
    const match = pattern.exec(text);
    if (match) found.push({ name, at: match.index + (match[1]?.length ?? 0) });
  }
  return found.sort((a, b) => a.at - b.at).map((f) => f.name);
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

/** A log line safe inside a code fence: no control characters, no fence of its own. */
function fenceSafe(line: string): string {
  return line.replace(CONTROL, '').replace(/`{3,}/g, "'''").slice(0, 300);
}

function journalLine(entry: JournalEntry): string {
  return `• ${entry.timestamp.slice(0, 16).replace('T', ' ')} ${entry.type} — ${entry.message.replace(/\s+/g, ' ').slice(0, 200)}`;
}

function runSection(report: RunReport): string {
  const lines = [`*${report.row.run}*`, fleetRowLine(report.row)];
  lines.push(report.journal.length === 0 ? '_No journal entries._' : 'Recent journal:');
  lines.push(...report.journal.map(journalLine));
  if ('error' in report.log) lines.push(`_Log tail unavailable: ${report.log.error}_`);
  else if (report.log.lines.length === 0) lines.push('_The log is empty._');
  else lines.push('Log tail:', '```', ...report.log.lines.map(fenceSafe), '```');
  return lines.join('\n');
}

export function renderRulesAnswer(input: RulesAnswerInput): string {
  const parts = [`_${input.why}_`];
  if (input.runs.length > 0) {
    parts.push(...input.runs.map(runSection));
  } else {
    const incidents = input.view.rows.flatMap((r) => r.incidents);
    parts.push(
      [
        '*Fleet*',
        ...input.view.rows.map(fleetRowLine),
        `Fleet cost: $${input.view.totalCostHr.toFixed(2)}/h`,
      ].join('\n'),
      incidents.length === 0
        ? 'No open incidents.'
        : `Open incidents: ${incidents.map((i) => `${i.run} ${i.kind} (x${i.count})`).join(', ')}`,
      '_Name a run in your question for its journal and log tail._',
    );
  }
  return parts.join('\n\n');
}

export interface RulesDeps {
  store: Store;
  fleet: Fleet;
  clock: Clock;
  logs(run: string, n: number): Promise<string[]>;
}

async function readLog(deps: RulesDeps, run: string): Promise<RunReport['log']> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), LOG_TIMEOUT_MS);
    });
    return {
      lines: (await Promise.race([deps.logs(run, RULES_LOG_LINES), timeout])).slice(-RULES_LOG_LINES),
    };
  } catch (err) {
    return { error: errorMessage(err) };
  } finally {
    clearTimeout(timer);
  }
}

/** Gathers what the rule-based answer shows for the runs named in `question`. */
export async function answerFromRules(
  deps: RulesDeps,
  question: string,
  why: string,
  runs?: string[],
): Promise<string> {
  const names =
    runs ??
    findRunsInText(
      question,
      deps.fleet.runs.map((r) => r.name),
    );
  const view = await loadFleetView(deps.store, deps.fleet, deps.clock.now());
  const reports = await Promise.all(
    names.flatMap((name) => {
      const row = view.rows.find((r) => r.run === name);
      if (!row) return [];
      return [
        (async (): Promise<RunReport> => ({
          row,
          journal: (await deps.store.journal.recent(RULES_JOURNAL_ENTRIES, { run: name })).map(
            (r) => r.entry,
          ),
          log: await readLog(deps, name),
        }))(),
      ];
    }),
  );
  return renderRulesAnswer({ why, view, runs: reports });
}
