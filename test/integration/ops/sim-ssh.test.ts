import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { migrationLabel } from '../../../agents/ops/migrate.js';
import { loadMigrationRecord, type MigrationPhase } from '../../../agents/ops/migration-record.js';
import { opsProcessor } from '../../../agents/ops/processor.js';
import { REMOTE_COMMANDS } from '../../../src/fleet/remote/index.js';
import { hostKeyId } from '../../../src/infra/ssh/host-keys.js';
import { createVastClient } from '../../../src/infra/vast/client.js';
import { silentLogger } from '../../../src/logger.js';
import { startVastSim, type VastSim } from '../../../src/sim/vast/index.js';
import { newRedis } from '../../helpers/redis.js';
import { runState } from '../healer/harness.js';
import { argv, fleet, RUN, type SimSsh, simSsh, spec, TOKEN } from '../healer/sim-ssh-setup.js';

const API_KEY = 'sim-ssh-vast-key-0123456789';

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

describe('ops migration over SSH: simulated Vast API + simulated hosts', () => {
  it('moves an outbid run to a new instance and destroys the old one after verification', async () => {
    s = simSsh(redis);
    const { clock, sim, store, prefix, pool, pins } = s;
    vastSim = await startVastSim({
      clock,
      hosts: sim,
      apiKey: API_KEY,
      tickIntervalMs: 0,
      loadingMs: 90_000,
      seed: 3,
    });
    const vast = createVastClient({
      baseUrl: vastSim.url,
      apiKey: API_KEY,
      clock,
      logger: silentLogger,
      timeoutMs: 5000,
      retries: 1,
    });
    for (const minBid of [0.2, 0.25]) {
      vastSim.control.addOffer({
        gpu_name: 'RTX 3090',
        num_gpus: 4,
        min_bid: minBid,
        reliability: 0.99,
        inet_down: 1000,
        disk_space: 500,
      });
    }
    // The old instance: rented, running the trainer, then outbid.
    const oldOffer = vastSim.control
      .offers()
      .find((o) => o.gpu_name === 'RTX 3090' && o.num_gpus === 4 && o.disk_space >= 100)!;
    const { instanceId: oldId } = await vast.rent(oldOffer.id, {
      image: fleet.image,
      disk: 100,
      label: 'tc-mosaic_moe-old',
      price: oldOffer.min_bid * 1.1,
    });
    clock.advance(100_000);
    await vastSim.control.tick();
    const oldView = vastSim.control.instances().find((i) => i.id === oldId)!;
    const oldTarget = { host: oldView.ssh_host, port: oldView.ssh_port };
    await pins.set(hostKeyId(oldTarget.host, oldTarget.port), oldView.host_key);
    sim.get(oldId)!.seedRun({ runDir: spec.run_dir, config: spec.config, step: 10_000 });
    await pool.exec(oldTarget, REMOTE_COMMANDS.launch(fleet.paths, argv));
    await store.putRunState(runState(RUN, oldTarget, { instanceId: oldId, costPerHr: oldView.dph_total }));
    await vastSim.control.outbid(oldId);

    const forgotten: string[] = [];
    const proposalId = 'sim-ssh-migration-0001';
    const result = await opsProcessor({
      fleet,
      store,
      redis,
      prefix,
      hosts: s.hostCommands(),
      clock,
      logger: silentLogger,
      vast,
      stateDir: null,
      hostKeys: { forget: async (id) => void forgotten.push(id) },
      // No template moves a checkpoint between hosts yet: put it in place as a restore would.
      afterPersist: async (phase: MigrationPhase) => {
        if (phase !== 'host_ready') return;
        const record = await loadMigrationRecord(redis, prefix, proposalId);
        sim.get(record!.instance!.id)!.seedRun({ runDir: spec.run_dir, config: spec.config, step: 10_000 });
      },
    })({ action: 'migrate', run: RUN, reason: 'outbid', requestedBy: 'U0APPROVER', proposalId });

    if (result.action !== 'migrate') throw new Error('wrong result');
    expect(result.resumedStep).toBe(10_000);
    expect(result.step).toBeGreaterThan(10_000);
    const newHost = sim.get(result.instanceId)!;
    expect(newHost.trainerStatus()?.phase).toBe('training');
    expect(newHost.trainerEnv()?.['HF_TOKEN']).toBe(TOKEN);
    const [only] = vastSim.control.instances();
    expect(vastSim.control.instances()).toHaveLength(1);
    expect(only).toMatchObject({ id: result.instanceId, label: migrationLabel(RUN, proposalId) });
    // The new host's key was learned and pinned; the old one's forgotten.
    expect(await pins.get(hostKeyId(only!.ssh_host, only!.ssh_port))).toBe(only!.host_key);
    expect(forgotten).toEqual([hostKeyId(oldTarget.host, oldTarget.port)]);
    expect((await store.getRunState(RUN))?.instanceId).toBe(result.instanceId);
  });
});
