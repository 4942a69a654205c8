import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { OpsDeps } from '../../../agents/ops/deps.js';
import type { RunHealth } from '../../../src/fleet/health/types.js';
import type { Fleet } from '../../../src/fleet/schema.js';
import { createVastClient, type VastClient } from '../../../src/infra/vast/client.js';
import { silentLogger } from '../../../src/logger.js';
import type { OpsJob } from '../../../src/queues/jobs.js';
import { startVastSim, type VastSim } from '../../../src/sim/vast/index.js';
import type { SimOffer } from '../../../src/sim/vast/market.js';
import { testFleet } from '../../unit/ops/fixtures.js';
import { type FakeMachine, runFiles } from '../healer/fake-hosts.js';
import { createHealerHarness, type HealerHarness, runState } from '../healer/harness.js';

/**
 * Per test: the simulated Vast.ai API over real HTTP (its instances become machines in the fake
 * hosts), the real Redis under a unique prefix, a jumping clock and a temp STATE_DIR.
 */

export const API_KEY = 'test-ops-vast-key-0123456789';
export const RUN = 'mosaic_moe';
export const BACKUP = 'hf://team/mosaic_small_3090';

export interface OpsHarness extends HealerHarness {
  sim: VastSim;
  vast: VastClient;
  ops: OpsDeps;
  stateDir: string;
  forgotten: string[];
  progress: [string, string][];
  /** Offers added so the market always has good RTX 3090 4x machines. */
  good: SimOffer[];
}

/** The default fleet, with a backup location for the MoE run's checkpoints. */
export function opsFleet(
  conductor: Record<string, unknown> = {},
  runs: Record<string, Record<string, unknown>> = {},
) {
  return testFleet(conductor, { [RUN]: { backup_source: BACKUP }, ...runs });
}

export async function createOpsHarness(fleet: Fleet = opsFleet()): Promise<OpsHarness> {
  const base = createHealerHarness(fleet, 'ops');
  const sim = await startVastSim({
    clock: base.clock,
    hosts: base.hosts,
    apiKey: API_KEY,
    tickIntervalMs: 0,
    loadingMs: 90_000,
    seed: 7,
  });
  const vast = createVastClient({
    baseUrl: sim.url,
    apiKey: API_KEY,
    clock: base.clock,
    logger: silentLogger,
    timeoutMs: 3000,
    retries: 2,
  });
  const good = [0.2, 0.24, 0.28, 0.32].map((minBid) =>
    sim.control.addOffer({
      gpu_name: 'RTX 3090',
      num_gpus: 4,
      dph_total: 0.9,
      min_bid: minBid,
      reliability: 0.99,
      inet_down: 1000,
      disk_space: 500,
      gpu_ram: 24_576,
    }),
  );
  const stateDir = await mkdtemp(path.join(os.tmpdir(), 'tc-ops-'));
  const forgotten: string[] = [];
  const progress: [string, string][] = [];
  const ops: OpsDeps = {
    ...base.deps,
    vast,
    stateDir,
    hostKeys: {
      async forget(hostId) {
        forgotten.push(hostId);
      },
    },
    onProgress: (_job, step, text) => {
      progress.push([step, text]);
    },
  };
  return {
    ...base,
    sim,
    vast,
    ops,
    stateDir,
    forgotten,
    progress,
    good,
    async close() {
      await sim.close();
      await rm(stateDir, { recursive: true, force: true });
      await base.close();
    },
  };
}

export interface OldInstance {
  id: number;
  machine: FakeMachine;
}

/**
 * A run training on a rented RTX 3090 x4 (checkpoints up to step 10,000, trainer at `step`),
 * recorded in the store as the monitor would. `outbid` then takes it down as Vast does.
 */
export async function runningRun(h: OpsHarness, step = 12_340, run = RUN): Promise<OldInstance> {
  const offer = h.sim.control
    .offers()
    .find((o) => o.gpu_name === 'RTX 3090' && o.num_gpus === 4 && o.disk_space >= 100 && !h.good.includes(o));
  if (!offer) throw new Error('the market has no RTX 3090 x4 offer for the old instance');
  const { instanceId } = await h.vast.rent(offer.id, {
    image: h.ops.fleet.image,
    disk: 100,
    label: `tc-${run}-old`,
    price: offer.min_bid * 1.1,
  });
  h.clock.advance(100_000);
  await h.sim.control.tick();
  const view = h.sim.control.instances().find((i) => i.id === instanceId);
  const machine = h.hosts.byInstance.get(instanceId);
  if (!view || !machine || machine.power !== 'running') throw new Error('old instance did not start');
  machine.files = runFiles(step);
  machine.trainer = { startedAt: h.clock.now() - 3_600_000, fromStep: 10_000, behaviour: 'train' };
  await h.store.putRunState(
    runState(run, machine.target, {
      instanceId,
      costPerHr: view.dph_total,
      startedAt: h.clock.now() - 5 * 3_600_000,
      costAccrued: 2,
    }),
  );
  return { id: instanceId, machine };
}

export function preemptedHealth(
  run: string,
  step: number,
  since: number,
  instanceId: number | null = null,
): RunHealth {
  return {
    instanceId,
    run,
    status: 'preempted',
    severity: 'critical',
    reason: 'bid instance stopped: outbid',
    since,
    observedAt: since,
    step,
    stepChangedAt: since,
    loss: 3.1,
    ppl: 22,
    tokS: 48_000,
    gpuUtil: 97,
    diskPct: 30,
    processAlive: null,
    heartbeatAgeS: null,
    tokSHistory: [],
    stepHistory: [],
  };
}

/** The old instance is outbid: it stops, its host goes dark, the monitor records `preempted`. */
export async function outbid(h: OpsHarness, old: OldInstance, run = RUN, step = 12_340): Promise<void> {
  await h.sim.control.outbid(old.id);
  await h.store.putHealth(preemptedHealth(run, step, h.clock.now(), old.id));
  h.hosts.backups.set(BACKUP, 10_000);
}

export function migrateJob(proposalId: string, patch: Partial<OpsJob> = {}): OpsJob {
  return { action: 'migrate', run: RUN, reason: 'outbid', requestedBy: 'U0APPROVER', proposalId, ...patch };
}

/** Instances in the simulated cloud carrying this label. */
export function labelled(h: OpsHarness, label: string): number[] {
  return h.sim.control
    .instances()
    .filter((i) => i.label === label)
    .map((i) => i.id);
}

export function rentRequests(h: OpsHarness): number {
  return h.sim.control.requests().filter((r) => r.method === 'PUT' && r.path.startsWith('/api/v0/asks/'))
    .length;
}
