import type { Clock } from '../../src/clock.js';
import { recurringDecision } from '../../src/fleet/policy/recurring.js';
import type { Fleet } from '../../src/fleet/schema.js';
import type { Queues } from '../../src/queues/queues.js';
import type { Store } from '../../src/state/store.js';
import type { Incident, Proposal } from '../../src/state/types.js';
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
  } else if (decision.job?.queue === 'ops') {
    // `offers` ranks and stores a proposal; `finish` waits for approval inside ops.
    await deps.queues.enqueue(
      'ops',
      decision.job.action,
      { ...common, action: decision.job.action },
      { jobId },
    );
  } else if (decision.job?.queue === 'healer' && decision.mode === 'proposal') {
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
