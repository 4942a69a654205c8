/** The ops agent: replacement offers, resumable migrations, finishing runs, releasing instances. */
export { replacementGrant } from './budget-gate.js';
export { rewriteContinuation } from './continuation.js';
export type { OpsDeps } from './deps.js';
export { destroyRunInstance, type FinishResult, finishRun } from './finish.js';
export { type MigrationResult, migrateRun, migrationKey, migrationLabel } from './migrate.js';
export {
  loadMigrationRecord,
  MIGRATION_PHASES,
  type MigrationPhase,
  type MigrationRecord,
} from './migration-record.js';
export { buildOfferQuery, offerByIdQuery, profileGpu } from './offer-query.js';
export {
  type Billing,
  bidPrice,
  evaluateOffer,
  type RankContext,
  type RankedOffer,
  type Ranking,
  type RejectedOffer,
  type RejectRule,
  rankOffers,
  requiredDiskGb,
} from './offer-ranking.js';
export { type OffersResult, offerOption, proposeMigration, rejectionSummary } from './offers.js';
export { type OpsResult, opsProcessor } from './processor.js';
export {
  currentFleetDph,
  fleetSpentUsd,
  isDown,
  planReplacements,
  type ReplacementGrant,
  type ReplacementRequest,
} from './replacement-budget.js';
export { searchAndRank } from './search.js';
