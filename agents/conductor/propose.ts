import type { Clock } from '../../src/clock.js';
import { errorMessage } from '../../src/errors.js';
import { checkBudget, checkGpuAllowed, findProfile, requiresApproval } from '../../src/fleet/policy/index.js';
import type { Fleet, RunSpec } from '../../src/fleet/schema.js';
import type { VastOffer } from '../../src/infra/vast/types.js';
import { type Logger, silentLogger } from '../../src/logger.js';
import type { Store } from '../../src/state/store.js';
import type { ProposeRequest, ProposeResult } from './tools.js';

/**
 * Proposals on the conductor's behalf, checked exactly as a person's request would be: the run
 * must exist, a migration needs a current offer whose GPU the policy allows, for which the run has
 * a launch profile, that meets the offer rules and keeps the fleet within budget. Every outcome is
 * journaled (DECISION or POLICY_REFUSED). A proposal only waits for a click: nothing here runs it.
 */

export interface ProposerDeps {
  store: Store;
  fleet: Fleet;
  clock: Clock;
  offers(run: string): Promise<VastOffer[]>;
  logger?: Logger;
}

type Check = { ok: true; params: Record<string, unknown> } | { ok: false; reason: string };

/** What the fleet pays per hour now: every run with an instance or a static host assigned. */
async function currentFleetDph(store: Store): Promise<number> {
  const states = await store.listRunStates();
  return states
    .filter((s) => s.instanceId !== null || s.sshHost !== null)
    .reduce((sum, s) => sum + (Number.isFinite(s.costPerHr) ? s.costPerHr : 0), 0);
}

async function checkMigration(
  deps: ProposerDeps,
  spec: RunSpec,
  offerId: number | undefined,
): Promise<Check> {
  const { policy } = deps.fleet;
  if (offerId === undefined)
    return { ok: false, reason: 'a migration needs an offer id from the offers tool' };
  let offers: VastOffer[];
  try {
    offers = await deps.offers(spec.name);
  } catch (err) {
    return { ok: false, reason: `the offers for ${spec.name} could not be checked: ${errorMessage(err)}` };
  }
  const offer = offers.find((o) => o.id === offerId);
  if (!offer)
    return { ok: false, reason: `offer ${offerId} is not among the current offers for ${spec.name}` };
  const gpu = checkGpuAllowed(offer.gpu_name, policy);
  if (!gpu.ok) return { ok: false, reason: gpu.reason };
  try {
    findProfile(spec, offer.gpu_name, offer.num_gpus);
  } catch (err) {
    return { ok: false, reason: errorMessage(err) };
  }
  if (offer.reliability < policy.offers.reliability_min) {
    return {
      ok: false,
      reason: `offer ${offerId} has reliability ${offer.reliability}, below the policy minimum ${policy.offers.reliability_min}`,
    };
  }
  if (policy.offers.max_dph !== undefined && offer.dph_total > policy.offers.max_dph) {
    return {
      ok: false,
      reason: `offer ${offerId} costs $${offer.dph_total}/h, above the offer limit $${policy.offers.max_dph}/h`,
    };
  }
  // Rule 7 keeps the old instance until the new one is verified, so both bill for a while.
  const budget = checkBudget(
    { currentFleetDph: await currentFleetDph(deps.store), addDph: offer.dph_total },
    policy,
  );
  if (!budget.ok) return { ok: false, reason: budget.reason };
  return {
    ok: true,
    params: { offerId, gpuName: offer.gpu_name, numGpus: offer.num_gpus, dphTotal: offer.dph_total },
  };
}

async function checkRequest(deps: ProposerDeps, request: ProposeRequest): Promise<Check> {
  const spec = deps.fleet.runs.find((r) => r.name === request.run);
  if (!spec) return { ok: false, reason: `${request.run} is not a run of this fleet` };
  if (request.action === 'migrate') return checkMigration(deps, spec, request.offerId);
  if (request.offerId !== undefined)
    return { ok: false, reason: `an offer id only applies to migrate, not ${request.action}` };
  return { ok: true, params: {} };
}

export function createPolicyProposer(
  deps: ProposerDeps,
): (request: ProposeRequest) => Promise<ProposeResult> {
  const logger = deps.logger ?? silentLogger;
  const { policy } = deps.fleet;
  return async (request) => {
    const needsApproval = requiresApproval(request.action, policy);
    const check = await checkRequest(deps, request);
    if (!check.ok) {
      await deps.store.journal.append({
        type: 'POLICY_REFUSED',
        model: request.run,
        message: `refused ${request.action} proposed by ${request.createdBy}: ${check.reason}`,
        details: {
          action: request.action,
          reason: request.reason,
          ...(request.offerId !== undefined && { offerId: request.offerId }),
        },
      });
      logger.info(
        { run: request.run, action: request.action, reason: check.reason },
        'conductor proposal refused',
      );
      return { proposalId: null, needsApproval, refused: check.reason };
    }
    const proposal = await deps.store.proposals.create({
      run: request.run,
      action: request.action,
      reason: request.reason,
      params: check.params,
      createdBy: request.createdBy,
      ...(request.incidentId !== undefined && { incidentId: request.incidentId }),
      ttlMs: policy.proposal_ttl_minutes * 60_000,
    });
    await deps.store.journal.append({
      type: 'DECISION',
      model: request.run,
      message: `${request.createdBy} proposed ${request.action}: ${request.reason}`,
      details: { proposalId: proposal.id, action: request.action, needsApproval, ...check.params },
    });
    return { proposalId: proposal.id, needsApproval, proposal };
  };
}
