import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { accountStrategy } from '../../../src/bench/campaign/accounting.js';
import { hubBackups } from '../../../src/bench/campaign/hub-backup.js';
import { startLegacySupervisor } from '../../../src/bench/campaign/legacy.js';
import { createRecorder, injectFault, runOfLabel } from '../../../src/bench/campaign/recorder.js';
import { type ManualClock, manualClock } from '../../../src/clock.js';
import { loadFleetFile } from '../../../src/config.js';
import { parseBackupSource } from '../../../src/fleet/remote/backup-source.js';
import { generateSshKeyPair } from '../../../src/infra/ssh/keys.js';
import { silentLogger } from '../../../src/logger.js';
import { type SimWorld, startSimWorld } from '../../../src/sim/world.js';

const fleet = loadFleetFile(path.resolve('fleet.example.yaml'));
const MIN = 60_000;
const RUN = 'gpt2_reference';
const GPU = { name: 'RTX 3090', count: 4 };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function world(step: number): Promise<{ world: SimWorld; clock: ManualClock }> {
  const clock = manualClock(Date.UTC(2026, 10, 1));
  const w = await startSimWorld({
    clock,
    fleet,
    scenario: {
      name: 'campaign-test',
      speed: 1,
      runs: [{ run: RUN, gpu_name: GPU.name, num_gpus: GPU.count, step }],
      faults: [],
    },
    authorizedKey: generateSshKeyPair().public,
    logger: silentLogger,
  });
  cleanups.push(() => w.close());
  return { world: w, clock };
}

/** Advances the clock in steps, letting the legacy loop's timers run in between. */
async function pass(clock: ManualClock, ms: number, stepMs = MIN): Promise<void> {
  for (let done = 0; done < ms; done += stepMs) {
    await clock.advance(Math.min(stepMs, ms - done));
    await new Promise((r) => setImmediate(r));
  }
}

describe('runOfLabel', () => {
  it('maps tc-<run>-<key> labels to the longest run name that fits', () => {
    const runs = ['mosaic', 'mosaic_dense'];
    expect(runOfLabel('tc-mosaic_dense-abc-def', runs)).toBe('mosaic_dense');
    expect(runOfLabel('tc-mosaic-seed', runs)).toBe('mosaic');
    expect(runOfLabel('bench-1', runs)).toBeNull();
    expect(runOfLabel(null, runs)).toBeNull();
  });
});

describe('the legacy loop in a simulated world', () => {
  it('relaunches a crashed trainer with the same command within a poll, and the accounting sees the redone steps', async () => {
    const { world: w, clock } = await world(10_000);
    const recorder = createRecorder(w, [RUN], clock);
    const legacy = startLegacySupervisor({ world: w, fleet, gpus: new Map([[RUN, GPU]]), clock });
    cleanups.push(() => legacy.stop());
    const startAt = clock.now();
    recorder.sample();
    await pass(clock, 60 * MIN);
    recorder.sample();
    const host = w.hosts.get(w.instances.get(RUN)!)!;
    const before = host.trainerStatus()!;
    expect(before.phase).toBe('training');

    expect((await injectFault(w, recorder, RUN, 'crash_killed')).applied).toBe(true);
    recorder.sample();
    await pass(clock, 2 * MIN, 10_000);
    const after = host.trainerStatus()!;
    expect(legacy.restarts).toBe(1);
    expect(after.pid).not.toBe(before.pid);
    expect([after.launcher, after.config, after.runDir]).toEqual([
      before.launcher,
      before.config,
      before.runDir,
    ]);
    for (let i = 0; i < 6; i++) {
      await pass(clock, 10 * MIN);
      recorder.sample();
    }
    expect(host.trainerStatus()!.step).toBeGreaterThan(before.step);
    const account = accountStrategy(recorder.samples, [{ run: RUN, startStep: 10_000, targetStep: 50_000 }], {
      startAt,
      endAt: clock.now(),
    });
    // Killed past the last checkpoint: the steps since then were trained twice.
    expect(account.stepsLost).toBeGreaterThan(0);
    expect(account.goodput).toBeLessThan(1);
    expect(account.goodput).toBeGreaterThan(0.5);
  });

  it('leaves a stalled trainer alone and never replaces an outbid instance', async () => {
    const { world: w, clock } = await world(10_000);
    const recorder = createRecorder(w, [RUN], clock);
    const legacy = startLegacySupervisor({ world: w, fleet, gpus: new Map([[RUN, GPU]]), clock });
    cleanups.push(() => legacy.stop());
    await pass(clock, 10 * MIN);
    await injectFault(w, recorder, RUN, 'stall');
    const stuck = w.hosts.get(w.instances.get(RUN)!)!.trainerStatus()!.step;
    await pass(clock, 60 * MIN);
    expect(w.hosts.get(w.instances.get(RUN)!)!.trainerStatus()!.step).toBe(stuck);
    expect(legacy.restarts).toBe(0);

    expect((await injectFault(w, recorder, RUN, 'outbid')).applied).toBe(true);
    await pass(clock, 60 * MIN);
    recorder.sample();
    expect(legacy.restarts).toBe(0);
    expect(w.vast.control.instances()).toHaveLength(1);
    expect(recorder.samples.at(-1)?.billed).toBe(false);
    // Nothing left to hit: the next fault is recorded as not applied, not thrown.
    expect(await injectFault(w, recorder, RUN, 'crash_oom')).toMatchObject({
      applied: false,
      note: 'no running instance',
    });
  });

  it('caps the valid step of a trainer whose loss turned NaN at the step it turned', async () => {
    const { world: w, clock } = await world(10_000);
    const recorder = createRecorder(w, [RUN], clock);
    await pass(clock, 10 * MIN);
    const at = w.hosts.get(w.instances.get(RUN)!)!.trainerStatus()!.step;
    await injectFault(w, recorder, RUN, 'nan');
    await pass(clock, 30 * MIN);
    recorder.sample();
    const last = recorder.samples.at(-1)!;
    expect(last.step).toBeGreaterThan(at);
    expect(last.validStep).toBe(at);
    expect(recorder.progress.get(RUN)?.highWater).toBe(at);
  });
});

describe('the training project hub backups', () => {
  it('uploads each newer latest.pt of a running host to <hf_path>/latest.pt, and nothing older', async () => {
    const { world: w, clock } = await world(10_000);
    const backups = hubBackups(w, fleet, clock);
    const spec = fleet.runs.find((r) => r.name === RUN)!;
    const repo = parseBackupSource(spec.backup_source!);
    const hubStep = () =>
      w.hosts.hub.get(repo.repoType, repo.repoId, `${spec.hf_path}/latest.pt`)?.meta?.step;
    backups.sync();
    expect(hubStep()).toBe(10_000);
    expect(backups.uploads).toBe(1);
    await pass(clock, 60 * MIN);
    backups.sync();
    expect(hubStep()).toBeGreaterThanOrEqual(10_500);
    const uploads = backups.uploads;
    backups.sync();
    expect(backups.uploads).toBe(uploads);
    await w.vast.control.outbid(w.instances.get(RUN)!);
    await pass(clock, 60 * MIN);
    backups.sync();
    expect(backups.uploads).toBe(uploads);
  });
});
