import { ProposalError } from '../errors.js';
import type { Queues } from '../queues/queues.js';
import type { Store } from '../state/store.js';
import type { Proposal } from '../state/types.js';

export type ApprovalOutcome = { ok: true; proposal: Proposal; jobId: string } | { ok: false; reason: string };

const HEALER_ACTIONS = new Set(['restart', 'clean_disk', 'collect_logs', 'stop']);

/** The offers a proposal presented; a button value naming any other offer was not ours. */
function presentedOffers(proposal: Proposal): number[] {
  const { offerIds, offerId, offers } = proposal.params;
  const ids = new Set<number>();
  if (typeof offerId === 'number') ids.add(offerId);
  if (Array.isArray(offerIds)) for (const id of offerIds) if (typeof id === 'number') ids.add(id);
  // Ranked proposals from ops carry the offers themselves ({offer: {id, ...}, estHours, ...}).
  if (Array.isArray(offers)) {
    for (const option of offers as { offer?: { id?: unknown } }[]) {
      if (typeof option?.offer?.id === 'number') ids.add(option.offer.id);
    }
  }
  return [...ids];
}

/**
 * Consumes a proposal (atomically: one click wins, every other gets a reason) and enqueues its
 * job with the proposal id as job id, so even a replayed approval cannot start the work twice.
 */
export async function approveProposal(
  deps: { store: Store; queues: Queues },
  input: {
    proposalId: string;
    offerId: number | null;
    user: string;
    thread?: { channel: string; ts: string };
  },
): Promise<ApprovalOutcome> {
  const existing = await deps.store.proposals.get(input.proposalId);
  if (existing && input.offerId !== null && !presentedOffers(existing).includes(input.offerId)) {
    return { ok: false, reason: `offer ${input.offerId} is not one this proposal presented` };
  }
  let proposal: Proposal;
  try {
    proposal = await deps.store.proposals.consume(input.proposalId);
  } catch (err) {
    if (err instanceof ProposalError) {
      const reason = {
        consumed: 'this proposal has already been decided',
        expired: 'this proposal has expired: ask for a fresh one',
        not_found: 'no such proposal',
      }[err.reason];
      return { ok: false, reason };
    }
    throw err;
  }
  const jobId = `proposal-${proposal.id}`;
  const common = {
    run: proposal.run,
    reason: `${proposal.reason} (approved by <@${input.user}>)`,
    requestedBy: input.user,
    proposalId: proposal.id,
    ...(proposal.incidentId && { incidentId: proposal.incidentId }),
    ...(input.thread && { thread: input.thread }),
  };
  if (HEALER_ACTIONS.has(proposal.action)) {
    await deps.queues.enqueue(
      'healer',
      proposal.action,
      { ...common, action: proposal.action as 'restart' | 'clean_disk' | 'collect_logs' | 'stop' },
      { jobId },
    );
  } else {
    const offerId = input.offerId ?? presentedOffers(proposal)[0];
    await deps.queues.enqueue(
      'ops',
      proposal.action,
      {
        ...common,
        action: proposal.action as 'migrate' | 'destroy' | 'finish',
        ...(offerId !== undefined && { offerId }),
      },
      { jobId },
    );
  }
  await deps.store.journal.append({
    type: 'APPROVED',
    model: proposal.run,
    message: `${proposal.action} approved by ${input.user}`,
    details: { proposal: proposal.id, ...(input.offerId !== null && { offerId: input.offerId }) },
  });
  return { ok: true, proposal, jobId };
}

export async function rejectProposal(
  store: Store,
  proposalId: string,
  user: string,
): Promise<ApprovalOutcome> {
  try {
    const proposal = await store.proposals.consume(proposalId);
    await store.journal.append({
      type: 'DECISION',
      model: proposal.run,
      message: `${proposal.action} rejected by ${user}`,
      details: { proposal: proposal.id },
    });
    return { ok: true, proposal, jobId: '' };
  } catch (err) {
    if (err instanceof ProposalError)
      return { ok: false, reason: `cannot reject: ${err.reason.replace('_', ' ')}` };
    throw err;
  }
}
