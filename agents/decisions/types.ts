import type { RunHealth } from '../../src/fleet/health/types.js';
import type { RecurringDecision } from '../../src/fleet/policy/recurring.js';
import type { Policy, RunSpec } from '../../src/fleet/schema.js';
import type { ActionKind, Incident, JournalEntry, RunState } from '../../src/state/types.js';

/** What the conductor does about a run's health, decided by rules before any LLM is asked. */
export type DecisionAction = 'none' | 'restart' | 'clean_disk' | 'migrate' | 'finish' | 'escalate';

/**
 * How the decision is carried out:
 * - `none`: nothing to do;
 * - `automatic`: enqueue `job` now, no human in the loop (routine, allowed by the policy);
 * - `proposal`: ask a human first; `job` is what runs once approved (for a migration the ops
 *   `offers` job runs now and itself stores the proposal with the ranked offers);
 * - `escalate`: do not act, page a human with the history of past fixes.
 */
export type DecisionMode = 'none' | 'automatic' | 'proposal' | 'escalate';

export type DecisionJob =
  | { queue: 'healer'; action: 'restart' | 'clean_disk' }
  | { queue: 'ops'; action: 'offers' | 'finish' };

/** A past fix of the same run, from the journal, shown to the human an escalation pages. */
export interface PastFix {
  timestamp: string;
  type: JournalEntry['type'];
  message: string;
}

export interface DecisionInput {
  run: RunSpec;
  health: RunHealth;
  incident?: Incident | undefined;
  /** recurringDecision() for the incident's (run, kind). */
  recurring: Pick<RecurringDecision, 'escalate' | 'count'>;
  runState: RunState | null;
  policy: Pick<Policy, 'auto_actions'>;
  /** Recent journal entries of this run (any order); the fixes among them become the history. */
  journal?: readonly JournalEntry[] | undefined;
}

export interface Decision {
  action: DecisionAction;
  mode: DecisionMode;
  /** The job to enqueue now (automatic) or after approval (proposal); null otherwise. */
  job: DecisionJob | null;
  /** The proposal's action when mode is `proposal`. */
  proposalAction: ActionKind | null;
  /** Page a human now (false when the incident was already escalated). */
  page: boolean;
  /** Why, in one sentence fit for the journal and Slack. */
  reason: string;
  /** Past fixes of this run, newest last; filled when a human is paged. */
  history: PastFix[];
  /** The DECISION journal entry recording this decision. */
  journal: { type: 'DECISION'; model: string; message: string; details: Record<string, unknown> };
}
