import type { VastClient } from '../../src/infra/vast/client.js';
import type { OpsJob } from '../../src/queues/jobs.js';
import type { HealerDeps } from '../healer/deps.js';
import type { MigrationPhase } from './migration-record.js';

/** What the ops agent needs on top of the healer's host-side dependencies. */
export interface OpsDeps extends HealerDeps {
  vast: VastClient;
  /** Learned host keys: the old instance's is forgotten when it is destroyed (its address gets reused). */
  hostKeys?: { forget(hostId: string): Promise<void> };
  /** STATE_DIR: CONTINUATION_CONTEXT.md is rewritten there after a migration; null = no exports. */
  stateDir: string | null;
  /** Progress for the job's Slack thread (the notify side posts it into the alert's thread). */
  onProgress?: (job: OpsJob, step: string, text: string) => Promise<void> | void;
  /** Clock ms between instance status polls while a rental loads (default 15 s). */
  loadingPollMs?: number;
  /**
   * Called after each migration step is persisted. Tests throw here to kill the job at every
   * step and check that the next run resumes exactly where it stopped.
   */
  afterPersist?: (phase: MigrationPhase) => Promise<void> | void;
}
