import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { migrationLabel } from '../../../agents/ops/migrate.js';
import { loadMigrationRecord, type MigrationPhase } from '../../../agents/ops/migration-record.js';
import { opsProcessor } from '../../../agents/ops/processor.js';
import { hostKeyId } from '../../../src/infra/ssh/host-keys.js';
import { silentLogger } from '../../../src/logger.js';
import type { VastSim } from '../../../src/sim/vast/index.js';
import { newRedis } from '../../helpers/redis.js';
import { runState } from '../healer/harness.js';
import {
  argv,
  fleet,
  RUN,
  rentedOldInstance,
  type SimSsh,
  simSsh,
  spec,
  TOKEN,
} from '../healer/sim-ssh-setup.js';

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
    const { clock, sim, store, prefix, pins } = s;
    // The old instance: rented, running the trainer, then outbid.
    const old = await rentedOldInstance(s, {
      apiKey: API_KEY,
      seed: 3,
      fleet,
      run: spec,
      trainerArgv: argv,
      step: 10_000,
    });
    vastSim = old.vastSim;
    const { vast, oldId, target: oldTarget, view: oldView } = old;
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
