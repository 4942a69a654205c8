import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { healerProcessor } from '../../../agents/healer/processor.js';
import { recordingEvents } from '../../../agents/monitor/events.js';
import { REMOTE_COMMANDS } from '../../../src/fleet/remote/index.js';
import { hostKeyId } from '../../../src/infra/ssh/host-keys.js';
import { silentLogger } from '../../../src/logger.js';
import { newRedis } from '../../helpers/redis.js';
import { runState } from './harness.js';
import { argv, fleet, RUN, type SimSsh, simSsh, spec, TOKEN } from './sim-ssh-setup.js';

let redis: Redis;
let s: SimSsh;
beforeAll(() => {
  redis = newRedis();
});
afterEach(async () => {
  await s?.close();
});
afterAll(() => {
  redis.disconnect();
});

/** A simulated host training the MoE run from a step-`step` checkpoint, recorded in the store. */
async function trainingHost(instanceId: number, step: number) {
  const endpoint = await s.sim.create({
    instanceId,
    gpuName: 'RTX 3090',
    numGpus: 4,
    diskGb: 200,
    env: {},
    label: 'x',
  });
  await s.pins.set(hostKeyId(endpoint.sshHost, endpoint.sshPort), endpoint.hostKey);
  const host = s.sim.get(instanceId)!;
  host.seedRun({ runDir: spec.run_dir, config: spec.config, step });
  const target = { host: endpoint.sshHost, port: endpoint.sshPort };
  await s.store.putRunState(runState(RUN, target, { instanceId }));
  return { host, target };
}

const types = async () => (await s.store.journal.recent(50)).map((r) => r.entry.type);

describe('healer over SSH against a simulated host', () => {
  it('restarts a crashed trainer with the secret in its environment and verifies progress', async () => {
    s = simSsh(redis);
    const { host, target } = await trainingHost(501, 10_000);
    await s.pool.exec(target, REMOTE_COMMANDS.launch(fleet.paths, argv));
    s.clock.advance(20 * 60_000);
    host.inject({ kind: 'crash', signature: 'oom' });
    s.clock.advance(60_000);

    const { store, clock, prefix } = s;
    const deps = {
      fleet,
      store,
      redis,
      prefix,
      hosts: s.hostCommands(),
      clock,
      logger: silentLogger,
      events: recordingEvents(),
    };
    const result = await healerProcessor(deps)({
      action: 'restart',
      run: RUN,
      reason: 'oom',
      requestedBy: 'conductor',
    });

    expect(result).toMatchObject({ action: 'restart', outcome: 'restarted' });
    if (result.action !== 'restart') throw new Error('wrong result');
    expect(result.step).toBeGreaterThan(result.resumedStep ?? Number.POSITIVE_INFINITY);
    expect(host.trainerStatus()?.phase).toBe('training');
    expect(host.trainerEnv()?.['HF_TOKEN']).toBe(TOKEN);
    expect(await types()).toEqual(['AUTO_RESTART', 'FIX']);
  });

  it('restarts a trainer whose loss went NaN even though its step keeps advancing', async () => {
    s = simSsh(redis);
    const { host, target } = await trainingHost(503, 10_000);
    await s.pool.exec(target, REMOTE_COMMANDS.launch(fleet.paths, argv));
    s.clock.advance(20 * 60_000);
    host.inject({ kind: 'nan' });
    s.clock.advance(60_000);
    const pidBefore = host.trainerStatus()?.pid;
    const result = await healerProcessor({
      fleet,
      store: s.store,
      redis,
      prefix: s.prefix,
      hosts: s.hostCommands(),
      clock: s.clock,
      logger: silentLogger,
      events: recordingEvents(),
    })({ action: 'restart', run: RUN, reason: 'nan', requestedBy: 'conductor' });
    expect(result).toMatchObject({ action: 'restart' });
    expect(result).not.toMatchObject({ outcome: 'already_running' });
    expect(host.trainerStatus()?.pid).not.toBe(pidBefore);
    expect(await types()).not.toContain('DECISION');
  });

  it('escalates when the relaunched trainer stalls', async () => {
    s = simSsh(redis);
    const { host } = await trainingHost(502, 5_000);
    const hosts = s.hostCommands();
    const stalling = {
      ...hosts,
      async launch(...args: Parameters<typeof hosts.launch>) {
        const launched = await hosts.launch(...args);
        host.inject({ kind: 'stall' });
        return launched;
      },
    };
    const { store, clock, prefix } = s;
    const processor = healerProcessor({
      fleet,
      store,
      redis,
      prefix,
      hosts: stalling,
      clock,
      logger: silentLogger,
    });
    await expect(
      processor({ action: 'restart', run: RUN, reason: 'crashed', requestedBy: 'conductor' }),
    ).rejects.toThrow(/no progress within 10 min/);
    expect(await types()).toEqual(['RESTART_FAILED', 'ESCALATION']);
  });
});
