import type { ErrorSignature } from '../../src/fleet/health/types.js';
import type { Thresholds } from '../../src/fleet/schema.js';
import type { Store } from '../../src/state/store.js';
import type { Incident, JournalEntry, JournalType } from '../../src/state/types.js';
import { wrapUntrusted } from './untrusted.js';

/**
 * The root-cause summary posted in an escalated incident's thread: what keeps happening, how
 * often, which fixes were already tried and whether the problem came back after them. The facts
 * are gathered from the store; the rule-based summary is a pure function of them, and the same
 * facts (quoted as untrusted data) are what the model reads when it writes the summary instead.
 */

export interface EscalationFacts {
  incident: Incident;
  /** Opening times (epoch ms) of this run's incidents of this kind inside the window. */
  occurrences: number[];
  /** The run's recent journal, oldest first. */
  journal: JournalEntry[];
  errorSignature: ErrorSignature | null;
  windowHours: number;
  now: number;
}

export const FIX_TYPES: ReadonlySet<JournalType> = new Set<JournalType>([
  'AUTO_RESTART',
  'AUTO_CLEANUP',
  'RESTART_FAILED',
  'FIX',
  'REPLACE',
  'DECISION',
  'APPROVED',
]);

const JOURNAL_ENTRIES = 40;
const HOUR_MS = 3_600_000;

interface Hint {
  cause: string;
  next: string;
}

const SIGNATURE_HINTS: Record<ErrorSignature, Hint> = {
  oom: {
    cause: 'the batch does not fit in GPU memory (CUDA out of memory); restarting repeats it',
    next: "lower batch_size (and raise grad_accum) in this GPU type's profile in the fleet file",
  },
  nccl_hang: {
    cause: 'a worker stopped answering in a collective operation (NCCL watchdog timeout)',
    next: 'if it keeps recurring on this machine, migrate the run to another machine',
  },
  killed: {
    cause: "the trainer was killed (-9): the host's OOM killer or the instance being reclaimed",
    next: 'check host memory and the instance status; migrate if the host is unreliable',
  },
  disk_full: {
    cause: 'the disk is full (No space left on device)',
    next: 'free space (old step checkpoints) or move to a machine with a larger disk',
  },
  nan: {
    cause: 'the loss became NaN: training diverged, and resuming from the same checkpoint diverges again',
    next: 'resume from an earlier checkpoint or lower the learning rate',
  },
  no_kernel_image: {
    cause: 'the GPU is too new for the installed PyTorch (no kernel image for this device)',
    next: 'migrate to a GPU type the policy allows',
  },
};

const KIND_HINTS: Partial<Record<Incident['kind'], Hint>> = {
  oom: SIGNATURE_HINTS.oom,
  nccl_hang: SIGNATURE_HINTS.nccl_hang,
  nan: SIGNATURE_HINTS.nan,
  disk_critical: {
    cause: 'checkpoints fill the disk faster than the cleanup frees it',
    next: 'use a larger disk or save checkpoints less often',
  },
  disk_warning: {
    cause: 'checkpoints fill the disk faster than the cleanup frees it',
    next: 'use a larger disk or save checkpoints less often',
  },
  stalled: {
    cause: 'the trainer is alive but the step does not advance (a hang in data loading or a collective)',
    next: 'collect the logs and a stack dump; if restarts keep stalling, migrate',
  },
  slow: {
    cause: 'throughput dropped well below its recent level (throttling, a noisy neighbour, or data loading)',
    next: 'compare GPU utilisation over time; migrate if it persists',
  },
  unreachable: {
    cause: 'the host does not answer over SSH (host or network down)',
    next: 'check the instance on Vast.ai; migrate if the host is gone',
  },
  preempted: {
    cause: 'the interruptible instance keeps being outbid',
    next: 'raise the bid margin or switch the run to on-demand billing',
  },
  host_key_changed: {
    cause: "the host's SSH key changed: the machine was replaced, or someone is in the way",
    next: 'verify the instance with Vast.ai before trusting the host again',
  },
};

export function escalationHint(kind: Incident['kind'], signature: ErrorSignature | null): Hint {
  if (signature) return SIGNATURE_HINTS[signature];
  return (
    KIND_HINTS[kind] ?? {
      cause: 'not clear from the journal alone',
      next: 'read the log tail around the failures',
    }
  );
}

function hhmm(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

function entryMs(entry: JournalEntry): number {
  return Date.parse(entry.timestamp);
}

export async function gatherEscalationFacts(
  store: Store,
  incident: Incident,
  thresholds: Pick<Thresholds, 'recurring_window_hours'>,
  now: number,
): Promise<EscalationFacts> {
  const windowHours = thresholds.recurring_window_hours;
  const [occurrences, records, health] = await Promise.all([
    store.incidents.history(incident.run, incident.kind, now - windowHours * HOUR_MS),
    store.journal.recent(JOURNAL_ENTRIES, { run: incident.run }),
    store.getHealth(incident.run),
  ]);
  return {
    incident,
    occurrences,
    journal: records.map((r) => r.entry),
    errorSignature: health?.errorSignature ?? null,
    windowHours,
    now,
  };
}

/** Each fix type tried in the window, how often, and when last. */
export function fixesTried(facts: EscalationFacts): { type: JournalType; count: number; last: number }[] {
  const since = facts.now - facts.windowHours * HOUR_MS;
  const byType = new Map<JournalType, { count: number; last: number }>();
  for (const entry of facts.journal) {
    const at = entryMs(entry);
    if (!FIX_TYPES.has(entry.type) || !(at >= since)) continue;
    const seen = byType.get(entry.type) ?? { count: 0, last: 0 };
    byType.set(entry.type, { count: seen.count + 1, last: Math.max(seen.last, at) });
  }
  return [...byType].map(([type, v]) => ({ type, ...v })).sort((a, b) => a.last - b.last);
}

/** Whether the problem came back after the last fix (an opening later than that fix). */
function recurredAfterFix(facts: EscalationFacts, lastFix: number): boolean {
  return facts.occurrences.some((t) => t > lastFix) || facts.incident.lastSeen > lastFix;
}

/** The facts as plain lines: the model's input (quoted as untrusted) and the rules summary's core. */
export function escalationFactsText(facts: EscalationFacts): string {
  const { incident } = facts;
  const times = facts.occurrences.map(hhmm).join(', ') || 'none recorded';
  const fixes = fixesTried(facts);
  return [
    `run: ${incident.run}; kind: ${incident.kind}; severity: ${incident.severity}`,
    `incidents of this kind in the last ${facts.windowHours} h: ${facts.occurrences.length} (opened at ${times} UTC)`,
    `current incident: seen in ${incident.count} sweeps since ${new Date(incident.firstSeen).toISOString()}`,
    `latest message: ${incident.message}`,
    `error signature in the log: ${facts.errorSignature ?? 'none'}`,
    `fixes tried: ${fixes.length === 0 ? 'none' : fixes.map((f) => `${f.type} x${f.count} (last ${hhmm(f.last)} UTC)`).join(', ')}`,
    'journal (oldest first):',
    ...facts.journal
      .slice(-15)
      .map((e) => `${e.timestamp} ${e.type} ${e.message.replace(/\s+/g, ' ').slice(0, 240)}`),
  ].join('\n');
}

/** The rule-based root-cause summary. */
export function escalationSummaryFromRules(facts: EscalationFacts, why: string): string {
  const { incident } = facts;
  const hint = escalationHint(incident.kind, facts.errorSignature);
  const fixes = fixesTried(facts);
  const lastFix = fixes.reduce((m, f) => Math.max(m, f.last), 0);
  const lines = [
    `_${why}_`,
    `*${incident.run}: ${incident.kind.replace(/_/g, ' ')}* came back ${facts.occurrences.length} times in ${facts.windowHours} h.`,
    `• Latest: ${incident.message.replace(/\s+/g, ' ').slice(0, 300)}`,
    fixes.length === 0
      ? '• No fix was tried yet.'
      : `• Fixes tried: ${fixes.map((f) => `${f.type} x${f.count}`).join(', ')}.`,
  ];
  if (fixes.length > 0 && recurredAfterFix(facts, lastFix)) {
    lines.push('• The problem came back after the fixes: repeating them will not address the cause.');
  }
  lines.push(`• Likely cause: ${hint.cause}.`, `• Next step for a person: ${hint.next}.`);
  return lines.join('\n');
}

/** The request the model answers for an escalation; the facts ride along as untrusted data. */
export function escalationQuestion(facts: EscalationFacts): string {
  const { incident } = facts;
  return [
    `Incident ${incident.id} (${incident.kind} on ${incident.run}) recurred ${facts.occurrences.length} times in ${facts.windowHours} h and was escalated to on-call.`,
    'Write a root-cause summary for the on-call engineer in at most 12 lines: the most likely cause, the evidence,',
    'the fixes already tried and whether they helped, and one concrete next step for a person.',
    'Use log_tail or the journal tools if the facts below are not enough. Do not propose actions unless the fix is clear.',
    'Facts gathered by the service:',
    wrapUntrusted(`incident ${incident.id}`, escalationFactsText(facts)),
  ].join('\n');
}
