import { ActionFailedError, PolicyViolation } from '../../src/errors.js';
import type { RunSpec } from '../../src/fleet/schema.js';
import type { OpsJob } from '../../src/queues/jobs.js';
import type { Proposal } from '../../src/state/types.js';
import { type ProgressReporter, report } from '../healer/deps.js';
import { escalate } from '../healer/escalate.js';
import { replacementGrant } from './budget-gate.js';
import type { OpsDeps } from './deps.js';
import type { RankedOffer, Ranking } from './offer-ranking.js';
import { searchAndRank } from './search.js';

/**
 * The `offers` job: search and rank replacements for a run, then store a single-use migration
 * proposal holding the best offers (the notify side renders it with one Approve button per
 * offer). Nothing is rented here. When the budget cannot cover this run's replacement because
 * higher-priority runs need theirs first, the proposal says what it waits for.
 */

/** Offers shown in a proposal (Slack draws one button each). */
export const PROPOSAL_OFFERS = 5;

export interface OffersResult {
  proposal: Proposal | null;
  ranked: number;
  rejected: number;
  waitingFor: string | null;
}

/** The fields of an offer the proposal message shows (src/slack-messages/proposal.ts OfferOption). */
export function offerOption(ranked: RankedOffer) {
  const o = ranked.offer;
  return {
    offer: {
      id: o.id,
      gpu_name: o.gpu_name,
      num_gpus: o.num_gpus,
      gpu_ram: o.gpu_ram,
      dph_total: o.dph_total,
      reliability: o.reliability,
      inet_down: o.inet_down,
      geolocation: o.geolocation,
    },
    estHours: ranked.estHours,
    estDollars: ranked.estDollars,
    ...(ranked.bid !== undefined && { bid: ranked.bid }),
    profileKey: ranked.profileKey,
    roughEstimate: ranked.roughEstimate,
  };
}

/** A one-line summary of why offers were left out, most common reason first. */
export function rejectionSummary(ranking: Ranking): string {
  const counts = new Map<string, number>();
  for (const r of ranking.rejected) counts.set(r.rule, (counts.get(r.rule) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([rule, n]) => `${n} ${rule}`)
    .join(', ');
}

export async function proposeMigration(
  deps: OpsDeps,
  job: OpsJob,
  spec: RunSpec,
  progress?: ProgressReporter,
): Promise<OffersResult> {
  const { store, fleet, logger } = deps;
  if (spec.host) {
    throw new PolicyViolation(
      'static_host',
      `${spec.name} runs on static host ${spec.host.host}: nothing to rent`,
    );
  }
  const { ranking, currentStep } = await searchAndRank(deps, spec);
  const top = ranking.ranked.slice(0, PROPOSAL_OFFERS);
  const best = top[0];
  if (!best) {
    const why = `no acceptable offer for ${spec.name} (${rejectionSummary(ranking) || 'the market returned none'})`;
    await store.journal.append({
      type: 'DECISION',
      model: spec.name,
      message: `cannot propose a replacement: ${why}`,
      details: { reason: why, rejected: ranking.rejected.length },
    });
    await escalate(deps, {
      run: spec.name,
      incidentId: job.incidentId,
      message: `${why}: a human must choose`,
    });
    await report(progress, logger, 'offers', `No acceptable offer: ${why}`);
    throw new ActionFailedError(why);
  }
  const grant = await replacementGrant(deps, spec, best.pricePerHour);
  const waitingFor = grant.granted ? null : grant.reason;
  const reason =
    `${job.reason}: best offer ${best.offer.num_gpus}x ${best.offer.gpu_name} at $${best.pricePerHour.toFixed(3)}/h, ` +
    `about ${best.estHours.toFixed(1)} h and $${best.estDollars.toFixed(2)} to step ${spec.target_steps}` +
    (waitingFor ? ` (${waitingFor})` : '');
  const proposal = await store.proposals.create({
    run: spec.name,
    action: 'migrate',
    reason,
    params: {
      offers: top.map(offerOption),
      currentStep,
      billing: spec.billing,
      rejected: ranking.rejected.length,
      ...(waitingFor !== null && { waitingFor }),
    },
    createdBy: job.requestedBy,
    ttlMs: fleet.policy.proposal_ttl_minutes * 60_000,
    ...(job.incidentId !== undefined && { incidentId: job.incidentId }),
  });
  await store.journal.append({
    type: 'DECISION',
    model: spec.name,
    message: `proposed migrating ${spec.name}: ${reason}`,
    details: {
      reason,
      proposal: proposal.id,
      offers: top.map((r) => r.offer.id),
      rejected: rejectionSummary(ranking),
      ...(waitingFor !== null && { waitingFor }),
    },
  });
  await report(progress, logger, 'offers', `Proposed ${top.length} replacement offers for ${spec.name}`);
  return { proposal, ranked: ranking.ranked.length, rejected: ranking.rejected.length, waitingFor };
}
