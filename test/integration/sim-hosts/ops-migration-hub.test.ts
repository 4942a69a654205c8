import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { opsProcessor } from '../../../agents/ops/processor.js';
import type { VastClient } from '../../../src/infra/vast/client.js';
import { silentLogger } from '../../../src/logger.js';
import type { VastSim } from '../../../src/sim/vast/index.js';
import { newRedis } from '../../helpers/redis.js';
import { runOf, testFleet } from '../../unit/ops/fixtures.js';
import { runState } from '../healer/harness.js';
import { argv, RUN, rentedOldInstance, type SimSsh, simSsh } from '../healer/sim-ssh-setup.js';

/**
 * The ops migration end to end with nothing faked but the clock: simulated Vast API, simulated
 * hosts over real SSH, the real HostCommands, and the simulated Hub carrying latest.pt from the
 * old host (or from the run's backup when the old host is gone) to the new one.
 */

const API_KEY = 'sim-hub-vast-key-0123456789';
const REPO_ID = 'mosaic-team/ops-hub';
const fleet = testFleet({}, { [RUN]: { backup_source: `hf://${REPO_ID}` } });
const spec = runOf(fleet, RUN);
const LATEST_IN_REPO = `${spec.hf_path}/latest.pt`;

let redis: Redis;
let s: SimSsh;
let vastSim: VastSim | undefined;
beforeAll(() => {
  redis = newRedis();
});
afterEach(async () => {
  await vastSim?.close();
  vastSim = undefined;
  await s?.close();
});
afterAll(() => {
  redis.disconnect();
});

/** A rented, running old instance training the MoE run from step 10,000 for two hours. */
async function oldInstance(): Promise<{ vast: VastClient; oldId: number; step: number }> {
  s = simSsh(redis);
  const { clock, sim, store } = s;
  const old = await rentedOldInstance(s, {
    apiKey: API_KEY,
    seed: 5,
    fleet,
    run: spec,
    trainerArgv: argv,
    step: 10_000,
  });
  vastSim = old.vastSim;
  const { vast, oldId, target, view } = old;
  clock.advance(2 * 3600_000);
  await store.putRunState(runState(RUN, target, { instanceId: oldId, costPerHr: view.dph_total }));
  sim.get(oldId)!.sync();
  const latest = sim.get(oldId)!.vfs.get(`${fleet.paths.workspace}/${spec.run_dir}/latest.pt`);
  const step = latest?.kind === 'blob' ? (latest.meta?.step ?? 0) : 0;
  expect(step).toBeGreaterThan(10_000);
  return { vast, oldId, step };
}

function ops(vast: VastClient) {
  return opsProcessor({
    fleet,
    store: s.store,
    redis,
    prefix: s.prefix,
    hosts: s.hostCommands(),
    clock: s.clock,
    logger: silentLogger,
    vast,
    stateDir: null,
    hostKeys: { forget: async () => {} },
  });
}

function migrate(vast: VastClient, proposalId: string, reason: string) {
  return ops(vast)({ action: 'migrate', run: RUN, reason, requestedBy: 'U0APPROVER', proposalId });
}

describe('ops migration with checkpoints through the Hub', () => {
  it('copies latest.pt from a reachable old host through the Hub; the new host resumes from it', async () => {
    const { vast, oldId, step } = await oldInstance();
    const result = await migrate(vast, 'hub-copy-0001', 'slow host');
    if (result.action !== 'migrate') throw new Error('wrong result');
    expect(result.checkpointSource).toMatch(/^old host /);
    // The old host's trainer kept going while the copy was made; the new one resumed from the
    // checkpoint the old host uploaded, not from the seed.
    const uploaded = s.sim.hub.get('model', REPO_ID, LATEST_IN_REPO);
    expect(uploaded?.meta?.step).toBeGreaterThanOrEqual(step);
    expect(result.resumedStep).toBe(uploaded?.meta?.step);
    expect(result.step).toBeGreaterThan(result.resumedStep);
    const newHost = s.sim.get(result.instanceId)!;
    expect(newHost.trainerStatus()?.phase).toBe('training');
    expect(vastSim!.control.instances().map((i) => i.id)).toEqual([result.instanceId]);
    expect(result.oldInstanceId).toBe(oldId);

    // The run completes there: finishing backs final.pt up to the Hub, then releases the instance.
    s.sim.inject(result.instanceId, { kind: 'complete' });
    const finished = await ops(vast)({
      action: 'finish',
      run: RUN,
      reason: 'done',
      requestedBy: 'U0APPROVER',
    });
    if (finished.action !== 'finish') throw new Error('wrong result');
    expect(finished).toMatchObject({ backedUp: true, destroyed: true });
    expect(s.sim.hub.get('model', REPO_ID, `${spec.hf_path}/final.pt`)?.meta?.step).toBe(50_000);
    expect(vastSim!.control.instances()).toEqual([]);
  });

  it('restores from the backup when the old host is gone', async () => {
    const { vast, oldId } = await oldInstance();
    // What the training project backed up earlier, before the host was outbid.
    s.sim.hub.put('model', REPO_ID, LATEST_IN_REPO, {
      size: 4_200_000_000,
      meta: { step: 10_000, nExperts: 4, model: 'mosaic_moe' },
      text: null,
      uploadedAtMs: s.clock.now(),
    });
    await vastSim!.control.outbid(oldId);
    const result = await migrate(vast, 'hub-restore-0001', 'outbid');
    if (result.action !== 'migrate') throw new Error('wrong result');
    expect(result.checkpointSource).toBe(`hf://${REPO_ID}`);
    expect(result.resumedStep).toBe(10_000);
    expect(result.step).toBeGreaterThan(10_000);
    const newHost = s.sim.get(result.instanceId)!;
    expect(newHost.trainerStatus()?.phase).toBe('training');
  });
});
