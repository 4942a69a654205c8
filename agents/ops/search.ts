import type { RunSpec } from '../../src/fleet/schema.js';
import type { VastOffer } from '../../src/infra/vast/types.js';
import { measuredStepsPerHour } from '../../src/state/exports.js';
import type { OpsDeps } from './deps.js';
import { buildOfferQuery } from './offer-query.js';
import { type Ranking, rankOffers } from './offer-ranking.js';

/** One offer search for a run, ranked against its current step and measured speed. */
export async function searchAndRank(
  deps: Pick<OpsDeps, 'vast' | 'fleet' | 'store'>,
  spec: RunSpec,
): Promise<{ ranking: Ranking; offers: VastOffer[]; currentStep: number }> {
  const health = await deps.store.getHealth(spec.name);
  const currentStep = health?.step ?? 0;
  const offers = await deps.vast.searchOffers(buildOfferQuery(spec, deps.fleet));
  const ranking = rankOffers(offers, {
    run: spec,
    fleet: deps.fleet,
    currentStep,
    measuredStepsPerHour: health ? measuredStepsPerHour(health.stepHistory) : null,
  });
  return { ranking, offers, currentStep };
}
