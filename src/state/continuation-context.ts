import { buildStatusInstance, type StatusRunInput } from './status-snapshot.js';
import type { Incident, JournalEntry, JournalType, StatusInstance } from './types.js';

/**
 * CONTINUATION_CONTEXT.md: the hand-over document a person (or an LLM starting cold) reads to
 * pick up the fleet: what runs where and how it is doing, what is broken now, what was decided
 * recently and why, and what should happen next. A pure function of its input.
 */

export interface ContinuationInput {
  /** Epoch ms. */
  generatedAt: number;
  runs: readonly StatusRunInput[];
  openIncidents: readonly Incident[];
  /** Recent journal entries, oldest first (as Journal.recent returns them). */
  journal: readonly JournalEntry[];
  nextSteps: readonly string[];
  /** Extra standing notes, e.g. the operating rules in force. */
  notes?: readonly string[];
  /** How many decisions and how many other events to list (default 15 each). */
  limit?: number;
}

/** Journal types that record something the conductor or a person chose to do (or refused to). */
export const DECISION_TYPES: ReadonlySet<JournalType> = new Set<JournalType>([
  'DECISION',
  'REPLACE',
  'AUTO_RESTART',
  'AUTO_CLEANUP',
  'ESCALATION',
  'FIX',
  'APPROVED',
  'POLICY_REFUSED',
  'provision',
  'destroy',
  'start',
  'stop',
  'pause',
  'resume',
]);

const MAX_TEXT = 300;

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** One line of free text: no newlines, bounded length. */
function oneLine(text: string, max = MAX_TEXT): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function cell(text: string): string {
  return oneLine(text, 120).replace(/\|/g, '\\|');
}

function num(value: number | null, digits: number): string {
  return value === null ? '—' : value.toFixed(digits);
}

/** The reason recorded with a decision, from the conventional detail keys. */
export function decisionReason(details: Record<string, unknown> | undefined): string | null {
  for (const key of ['reason', 'why', 'rule', 'cause']) {
    const value = details?.[key];
    if (typeof value === 'string' && value.trim() !== '') return oneLine(value);
  }
  return null;
}

function fleetSection(input: ContinuationInput): string[] {
  const rows = input.runs.map((run) => ({ run, row: buildStatusInstance(run, input.generatedAt) }));
  if (rows.length === 0) return ['## Fleet', '', 'No runs are configured.'];
  const lines = [
    '## Fleet',
    '',
    '| Run | Status | Step | Done | Loss | tok/s | Instance | GPU | $/hr | ETA h | Why |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const { run, row } of rows) lines.push(fleetRow(run, row));
  const total = rows.reduce((sum, { row }) => sum + row.cost_per_hr, 0);
  lines.push('', `Spending $${total.toFixed(2)}/hr across ${rows.length} run(s).`);
  return lines;
}

function fleetRow(run: StatusRunInput, row: StatusInstance): string {
  const state = run.state;
  const gpu = state?.gpuName ? `${state.numGpus ?? 1}× ${state.gpuName}` : '—';
  const instance = state?.instanceId ?? (state?.sshHost ? `${state.sshHost}:${state.sshPort ?? 22}` : '—');
  const step = row.step === null ? '—' : `${row.step}/${row.max_steps}`;
  const done = row.pct_complete === null ? '—' : `${row.pct_complete}%`;
  const why = run.health?.reason ?? (run.state ? '' : 'not observed yet');
  return `| ${cell(row.model)} | ${row.status} | ${step} | ${done} | ${num(row.loss, 4)} | ${num(row.tok_s, 0)} | ${cell(String(instance))} | ${cell(gpu)} | ${row.cost_per_hr.toFixed(2)} | ${num(row.eta_hrs, 1)} | ${cell(why)} |`;
}

function incidentLine(incident: Incident): string {
  const ack = incident.ackedBy ? `acked by ${incident.ackedBy}` : 'not acknowledged';
  const escalated = incident.escalated ? ', escalated' : '';
  return `- **${incident.run}** \`${incident.kind}\` (${incident.severity}) open since ${iso(incident.firstSeen)}, seen ${incident.count}× (last ${iso(incident.lastSeen)}), ${ack}${escalated}: ${oneLine(incident.message)} — id \`${incident.id}\``;
}

function incidentsSection(incidents: readonly Incident[]): string[] {
  const lines = [`## Open incidents (${incidents.length})`, ''];
  if (incidents.length === 0) return [...lines, 'None.'];
  return [...lines, ...incidents.map(incidentLine)];
}

function entryLine(entry: JournalEntry, withReason: boolean): string {
  const reason = withReason ? decisionReason(entry.details) : null;
  const because = reason ? ` Reason: ${reason}` : '';
  return `- ${entry.timestamp} **${entry.type}** ${entry.model}: ${oneLine(entry.message)}${because}`;
}

function journalSections(journal: readonly JournalEntry[], limit: number): string[] {
  const newestFirst = [...journal].reverse();
  const decisions = newestFirst.filter((e) => DECISION_TYPES.has(e.type)).slice(0, limit);
  const events = newestFirst.filter((e) => !DECISION_TYPES.has(e.type)).slice(0, limit);
  return [
    '## Recent decisions (newest first)',
    '',
    ...(decisions.length ? decisions.map((e) => entryLine(e, true)) : ['None recorded.']),
    '',
    '## Recent events (newest first)',
    '',
    ...(events.length ? events.map((e) => entryLine(e, false)) : ['None recorded.']),
  ];
}

function nextStepsSection(steps: readonly string[]): string[] {
  const lines = ['## Next steps', ''];
  if (steps.length === 0) return [...lines, 'Nothing pending.'];
  return [...lines, ...steps.map((step, i) => `${i + 1}. ${oneLine(step)}`)];
}

export function renderContinuationContext(input: ContinuationInput): string {
  const limit = input.limit ?? 15;
  const sections = [
    [
      '# Continuation context',
      '',
      `Generated ${iso(input.generatedAt)} by Train Conductor from its live state; rewritten after every change, so edit the fleet file or ask the conductor in Slack instead of editing this file.`,
    ],
    fleetSection(input),
    incidentsSection(input.openIncidents),
    journalSections(input.journal, limit),
    nextStepsSection(input.nextSteps),
  ];
  if (input.notes?.length)
    sections.push(['## Notes', '', ...input.notes.map((n) => `- ${oneLine(n, 1000)}`)]);
  return `${sections.map((lines) => lines.join('\n')).join('\n\n')}\n`;
}
