import type { Redis } from 'ioredis';
import type { HealerProcessorDeps } from '../../../agents/healer/processor.js';
import { type IncidentEvent, recordingEvents } from '../../../agents/monitor/events.js';
import type { Fleet } from '../../../src/fleet/schema.js';
import type { SshTarget } from '../../../src/infra/ssh/types.js';
import { silentLogger } from '../../../src/logger.js';
import { Store } from '../../../src/state/store.js';
import type { JournalEntry, RunState } from '../../../src/state/types.js';
import { deleteKeys, newRedis, uniquePrefix } from '../../helpers/redis.js';
import { testFleet } from '../../unit/ops/fixtures.js';
import { type FakeFleetHosts, fakeFleetHosts, jumpingClock } from './fake-hosts.js';

/** Per test: its own key prefix in the real Redis, a jumping clock and in-memory hosts. */
export interface HealerHarness {
  redis: Redis;
  prefix: string;
  clock: ReturnType<typeof jumpingClock>;
  store: Store;
  hosts: FakeFleetHosts;
  events: IncidentEvent[];
  deps: HealerProcessorDeps;
  journal(): Promise<JournalEntry[]>;
  close(): Promise<void>;
}

export function createHealerHarness(fleet: Fleet = testFleet(), label = 'healer'): HealerHarness {
  const redis = newRedis();
  const prefix = uniquePrefix(label);
  const clock = jumpingClock();
  const store = new Store({ redis, prefix, clock });
  const hosts = fakeFleetHosts(clock);
  const recorder = recordingEvents();
  const deps: HealerProcessorDeps = {
    fleet,
    store,
    redis,
    prefix,
    hosts,
    clock,
    logger: silentLogger,
    events: recorder,
    lockWaitMs: 2_000,
  };
  return {
    redis,
    prefix,
    clock,
    store,
    hosts,
    events: recorder.events,
    deps,
    journal: async () => (await store.journal.recent(500)).map((r) => r.entry),
    async close() {
      await deleteKeys(redis, prefix);
      redis.disconnect();
    },
  };
}

export function runState(run: string, target: SshTarget, patch: Partial<RunState> = {}): RunState {
  return {
    run,
    instanceId: 1001,
    sshHost: target.host,
    sshPort: target.port,
    gpuName: 'RTX 3090',
    numGpus: 4,
    costPerHr: 1.2,
    startedAt: Date.UTC(2025, 11, 31),
    costAccrued: 0,
    paused: false,
    stoppedByUs: false,
    complete: false,
    ...patch,
  };
}
