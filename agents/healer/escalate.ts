import { errorMessage, PolicyViolation } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import type { Store } from '../../src/state/store.js';
import type { Incident } from '../../src/state/types.js';
import type { IncidentEvents } from '../monitor/events.js';

/**
 * Paging a human when an action could not fix the run: an ESCALATION journal entry, the
 * incident marked escalated, and an `escalated` event for the notify and conductor sides (they
 * page on-call and attach the history). Failures here are logged, never thrown: the caller is
 * already on its failure path.
 */

export interface EscalationDeps {
  store: Store;
  logger: Logger;
  events?: IncidentEvents | undefined;
}

export interface Escalation {
  run: string;
  message: string;
  incidentId?: string | undefined;
  details?: Record<string, unknown>;
}

/** The job's incident, else the run's oldest open one. */
async function incidentFor(
  store: Store,
  run: string,
  incidentId: string | undefined,
): Promise<Incident | null> {
  if (incidentId !== undefined) {
    const incident = await store.incidents.get(incidentId);
    if (incident) return incident;
  }
  return (await store.incidents.listOpen({ run }))[0] ?? null;
}

export async function escalate(deps: EscalationDeps, escalation: Escalation): Promise<void> {
  const { store, logger } = deps;
  try {
    const incident = await incidentFor(store, escalation.run, escalation.incidentId);
    await store.journal.append({
      type: 'ESCALATION',
      model: escalation.run,
      message: escalation.message,
      details: { ...escalation.details, ...(incident && { incident: incident.id }) },
    });
    if (!incident) return;
    const marked = (await store.incidents.markEscalated(incident.id)) ?? incident;
    await deps.events?.publish({ incident: marked, change: 'escalated' });
  } catch (err) {
    logger.error({ run: escalation.run, err: errorMessage(err) }, 'escalation failed');
  }
}

/** A refused action: journaled POLICY_REFUSED (never executed), naming the rule. */
export async function journalRefusal(store: Store, run: string, violation: PolicyViolation, action: string) {
  await store.journal.append({
    type: 'POLICY_REFUSED',
    model: run,
    message: `${action} refused: ${violation.message}`,
    details: { rule: violation.rule, action, reason: violation.message },
  });
}

/**
 * What the healer and ops processors do with an error before rethrowing it: a policy refusal is
 * journaled, and a config that contradicts the run's experts also pages a human (no retry fixes
 * that).
 */
export async function recordRefusal(
  deps: EscalationDeps,
  job: { run: string; action: string; incidentId?: string | undefined },
  err: unknown,
): Promise<void> {
  if (!(err instanceof PolicyViolation)) return;
  await journalRefusal(deps.store, job.run, err, job.action);
  if (err.rule === 'n_experts_mismatch') {
    await escalate(deps, {
      run: job.run,
      incidentId: job.incidentId,
      message: `${job.action} refused: ${err.message}. A human must fix the config on the host.`,
      details: { rule: err.rule },
    });
  }
}
