import type { Clock } from '../../src/clock.js';
import type { RunHealth } from '../../src/fleet/health/types.js';
import { recurringDecision } from '../../src/fleet/policy/recurring.js';
import type { Fleet } from '../../src/fleet/schema.js';
import type { Queues } from '../../src/queues/queues.js';
import type { Store } from '../../src/state/store.js';
import type { Incident, Proposal, RunState } from '../../src/state/types.js';
import { decide } from './decide.js';
import type { Decision } from './types.js';

export interface DispatchDeps {
  store: Store;
  queues: Queues;
  fleet: Fleet;
  clock: Clock;
  /** Posts a proposal with its Approve/Reject buttons (the notify side renders it). */
  postProposal(proposal: Proposal): Promise<void>;
}

/**
 * Rules first: when an incident opens, decide what to do and enqueue it. The job id carries the
 * incident id, so a re-published event never starts the same fix twice.
 */
export async function dispatchDecision(deps: DispatchDeps, incident: Incident): Promise<Decision | null> {
  const run = deps.fleet.runs.find((r) => r.name === incident.run);
  const health = await deps.store.getHealth(incident.run);
  if (!run || !health || incident.kind === 'host_key_changed') return null;
  const windowMs = deps.fleet.thresholds.recurring_window_hours * 3_600_000;
  const now = deps.clock.now();
  const past = (await deps.store.incidents.history(incident.run, incident.kind, now - windowMs)).filter(
    (t) => t !== incident.firstSeen,
  );
  const journal = (await deps.store.journal.recent(50, { run: incident.run })).map((r) => r.entry);
  const decision = decide({
    run,
    health,
    incident,
    recurring: recurringDecision(past, now, deps.fleet.thresholds),
    runState: await deps.store.getRunState(incident.run),
    policy: deps.fleet.policy,
    journal,
  });
  if (decision.mode === 'none') return decision;
  await deps.store.journal.append(decision.journal);
  const jobId = `decision-${incident.id}`;
  const common = {
    run: incident.run,
    reason: decision.reason,
    requestedBy: 'conductor',
    incidentId: incident.id,
  };
  if (decision.job?.queue === 'healer' && decision.mode === 'automatic') {
    await deps.queues.enqueue(
      'healer',
      decision.job.action,
      { ...common, action: decision.job.action },
      { jobId },
    );
  } else if (decision.job?.queue === 'ops' && decision.job.action === 'offers') {
    // `offers` ranks replacement offers and posts them as a proposal itself.
    await deps.queues.enqueue('ops', 'offers', { ...common, action: 'offers' }, { jobId });
  } else if (decision.job && decision.job.action !== 'offers') {
    // A healer action that needs approval, or `finish`, which ends with destroying the instance:
    // a proposal with buttons (ops refuses finish unapproved).
    const proposal = await deps.store.proposals.create({
      run: incident.run,
      action: decision.job.action,
      reason: decision.reason,
      params: {},
      createdBy: 'conductor',
      incidentId: incident.id,
      ttlMs: deps.fleet.policy.proposal_ttl_minutes * 60_000,
    });
    await deps.postProposal(proposal);
  }
  return decision;
}

/**
 * A run that reached its target keeps its instance, and its bill, until someone releases it. Asks
 * once per instance and proposal lifetime: when a proposal expires unanswered, the next sweep
 * asks again, since the instance is still billing.
 */
export async function proposeFinish(
  deps: DispatchDeps,
  health: RunHealth,
  state: RunState,
): Promise<Proposal | null> {
  const run = deps.fleet.runs.find((r) => r.name === health.run);
  if (!run || state.complete || state.instanceId === null || health.status !== 'complete') return null;
  const ttlMs = deps.fleet.policy.proposal_ttl_minutes * 60_000;
  const first = await deps.store.once(
    `finish-proposed:${run.name}:${state.instanceId}`,
    ttlMs / deps.clock.speed,
  );
  if (!first) return null;
  const cost = state.costPerHr > 0 ? `, which bills $${state.costPerHr.toFixed(2)}/h while idle` : '';
  const reason = `${run.name} reached its target (${health.reason}): back up final.pt and release instance ${state.instanceId}${cost}`;
  await deps.store.journal.append({
    type: 'DECISION',
    model: run.name,
    message: `finish: ${reason}`,
    details: { action: 'finish', mode: 'proposal', instance: state.instanceId, step: health.step },
  });
  const proposal = await deps.store.proposals.create({
    run: run.name,
    action: 'finish',
    reason,
    params: {},
    createdBy: 'conductor',
    ttlMs,
  });
  await deps.postProposal(proposal);
  return proposal;
}
