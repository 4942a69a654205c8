import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { healerProcessor } from '../../../agents/healer/processor.js';
import { recordingEvents } from '../../../agents/monitor/events.js';
import { ActionFailedError } from '../../../src/errors.js';
import { buildTrainerArgv } from '../../../src/fleet/policy/launch.js';
import { parsePids, REMOTE_COMMANDS } from '../../../src/fleet/remote/index.js';
import { hostKeyId } from '../../../src/infra/ssh/host-keys.js';
import { silentLogger } from '../../../src/logger.js';
import { newRedis } from '../../helpers/redis.js';
import { runOf } from '../../unit/ops/fixtures.js';
import { runState } from './harness.js';
import { fleet, type SimSsh, simSsh } from './sim-ssh-setup.js';

/**
 * A run whose profile has nproc 1 (gpt2_reference on RTX_4090_1x, from the real profiles file)
 * trains as `python3 -u experiments/train.py`, with no torchrun for the policy's
 * `killall -9 torchrun` to find. A restart must still stop that trainer before it launches, so
 * exactly one trainer runs afterwards; and when the old one cannot be stopped, it must not
 * launch a second one at all.
 */

const RUN = 'gpt2_reference';
const spec = runOf(fleet, RUN);
const GPU = { name: 'RTX 4090', count: 1 };
const argv = buildTrainerArgv(spec, fleet, GPU);

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

/** A single-GPU host training gpt2_reference from a step-`step` checkpoint, recorded in the store. */
async function singleGpuHost(instanceId: number, step: number) {
  const endpoint = await s.sim.create({
    instanceId,
    gpuName: GPU.name,
    numGpus: GPU.count,
    diskGb: 200,
    env: {},
    label: RUN,
  });
  await s.pins.set(hostKeyId(endpoint.sshHost, endpoint.sshPort), endpoint.hostKey);
  const host = s.sim.get(instanceId)!;
  host.seedRun({ runDir: spec.run_dir, config: spec.config, step });
  const target = { host: endpoint.sshHost, port: endpoint.sshPort };
  await s.store.putRunState(runState(RUN, target, { instanceId, gpuName: GPU.name, numGpus: GPU.count }));
  await s.pool.exec(target, REMOTE_COMMANDS.launch(fleet.paths, argv));
  s.clock.advance(20 * 60_000);
  return { host, target };
}

function processor() {
  const { store, clock, prefix } = s;
  return healerProcessor({
    fleet,
    store,
    redis,
    prefix,
    hosts: s.hostCommands(),
    clock,
    logger: silentLogger,
    events: recordingEvents(),
  });
}

const restartJob = { action: 'restart' as const, run: RUN, reason: 'stalled', requestedBy: 'conductor' };
const types = async () => (await s.store.journal.recent(50)).map((r) => r.entry.type);

describe('healer restart of a single-GPU (python3 -u) run over SSH', () => {
  it('launches python3 -u for this profile, never torchrun', () => {
    expect(argv.slice(0, 3)).toEqual(['python3', '-u', 'experiments/train.py']);
  });

  it('stops the stalled python3 trainer before launching, so exactly one trainer runs afterwards', async () => {
    s = simSsh(redis);
    const { host, target } = await singleGpuHost(601, 10_000);
    host.inject({ kind: 'stall' });
    const old = host.trainerStatus()!;
    expect(old).toMatchObject({ launcher: 'python3', phase: 'training', stalled: true });

    const result = await processor()(restartJob);

    expect(result).toMatchObject({ action: 'restart', outcome: 'restarted' });
    const now = host.trainerStatus()!;
    expect(now.pid).not.toBe(old.pid);
    expect(now).toMatchObject({ launcher: 'python3', phase: 'training', stalled: false });
    // One trainer process on the host, the new one; the old one was killed, not left running.
    const alive = await s.pool.exec(target, REMOTE_COMMANDS.trainerAlive(), { timeoutMs: 5000 });
    expect(parsePids(alive.stdout)).toEqual([now.pid]);
    expect(host.processes()).toHaveLength(1);
    expect(await types()).toEqual(['AUTO_RESTART', 'FIX']);
  });

  it('does not launch a second trainer next to one that survives kill -9, and pages a human', async () => {
    s = simSsh(redis);
    const { host, target } = await singleGpuHost(602, 10_000);
    host.inject({ kind: 'unkillable' });
    const stuck = host.trainerStatus()!;

    const failure = processor()(restartJob);
    await expect(failure).rejects.toBeInstanceOf(ActionFailedError);
    await expect(failure).rejects.toThrow(/could not be stopped \(.*trainer still running after kill -9/);

    // Still the one stuck trainer: nothing was launched.
    expect(host.trainerStatus()?.pid).toBe(stuck.pid);
    const alive = await s.pool.exec(target, REMOTE_COMMANDS.trainerAlive(), { timeoutMs: 5000 });
    expect(parsePids(alive.stdout)).toEqual([stuck.pid]);
    expect(await types()).toEqual(['RESTART_FAILED', 'ESCALATION']);
  });
});
