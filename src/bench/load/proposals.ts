import type { webApi } from '@slack/bolt';
import { ConductorError } from '../../errors.js';
import type { RunSpec } from '../../fleet/schema.js';
import { encodeApproveValue, type OfferOption, renderProposal } from '../../slack-messages/proposal.js';
import type { Store } from '../../state/store.js';

/**
 * Real proposals for the burst's Approve clicks: stored single-use (as the ops agent stores them)
 * and posted with their buttons, as the notify worker posts them. Each offers one replacement.
 */

export interface PostedProposal {
  id: string;
  run: string;
  offerId: number;
  /** The Approve button's value. */
  value: string;
  channel: string;
  ts: string;
}

const PROPOSAL_TTL_MS = 30 * 60_000;

function offerFor(index: number): OfferOption {
  return {
    offer: {
      id: 900_001 + index,
      gpu_name: 'RTX 3090',
      num_gpus: 4,
      gpu_ram: 24_576,
      dph_total: 0.92,
      reliability: 0.99,
      inet_down: 800,
      geolocation: 'Load, Bench',
    },
    estHours: 12,
    estDollars: 11.04,
    profileKey: 'RTX_3090_4x',
  };
}

export async function postProposals(
  deps: { store: Store; client: webApi.WebClient; channel: string; now: () => number },
  runs: readonly RunSpec[],
  count: number,
): Promise<PostedProposal[]> {
  const posted: PostedProposal[] = [];
  for (let i = 0; i < count; i++) {
    const run = runs[i % runs.length];
    if (!run) throw new ConductorError('no runs to propose for');
    const option = offerFor(i);
    const proposal = await deps.store.proposals.create({
      run: run.name,
      action: 'migrate',
      reason: 'load benchmark: host reported preempted, replacement offer ranked',
      params: { offerIds: [option.offer.id], offers: [option] },
      createdBy: 'conductor',
      ttlMs: PROPOSAL_TTL_MS,
    });
    const value = encodeApproveValue(proposal.id, option.offer.id);
    if (value === null) throw new ConductorError(`proposal id ${proposal.id} cannot be carried by a button`);
    const message = renderProposal({
      proposal,
      run,
      offers: [option],
      currentStep: 10_000,
      now: deps.now(),
    });
    const result = await deps.client.chat.postMessage({
      channel: deps.channel,
      text: message.text,
      blocks: message.blocks as never,
    });
    if (!result.ok || typeof result.ts !== 'string') {
      throw new ConductorError(`posting proposal ${proposal.id} failed: ${result.error ?? 'no ts'}`);
    }
    posted.push({
      id: proposal.id,
      run: run.name,
      offerId: option.offer.id,
      value,
      channel: deps.channel,
      ts: result.ts,
    });
  }
  return posted;
}
