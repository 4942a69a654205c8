import { afterEach, describe, expect, it } from 'vitest';
import { healerProcessor } from '../../../agents/healer/processor.js';
import { ActionFailedError, PolicyViolation } from '../../../src/errors.js';
import { buildTrainerArgv } from '../../../src/fleet/policy/launch.js';
import type { Fleet } from '../../../src/fleet/schema.js';
import type { HealerJob } from '../../../src/queues/jobs.js';
import { runOf, testFleet } from '../../unit/ops/fixtures.js';
import { type FakeMachine, GB, runFiles } from './fake-hosts.js';
import { createHealerHarness, type HealerHarness, runState } from './harness.js';

const RUN = 'mosaic_moe';
const target = { host: '10.0.0.7', port: 40022 };

let h: HealerHarness;
afterEach(async () => {
  await h?.close();
});

function job(action: HealerJob['action'], patch: Partial<HealerJob> = {}): HealerJob {
  return { action, run: RUN, reason: `test ${action}`, requestedBy: 'conductor', ...patch };
}

/** A crashed run: trainer gone at step 12,340, checkpoints up to 10,000 on disk. */
async function crashedRun(fleet?: Fleet, init: Partial<FakeMachine> = {}): Promise<FakeMachine> {
  h = createHealerHarness(fleet);
  await h.store.putRunState(runState(RUN, target));
  return h.hosts.addMachine(target, {
    files: runFiles(12_340),
    leftover: { step: 12_340, ts: Math.floor(h.clock.now() / 1000) - 600 },
    ...init,
  });
}

const types = async () => (await h.journal()).map((e) => e.type);

describe('healer restart', () => {
  it('stops, cleans the disk, launches with the profile for the GPU and verifies progress', async () => {
    const m = await crashedRun(undefined, { otherBytes: 130 * GB });
    const result = await healerProcessor(h.deps)(job('restart'));

    expect(result).toMatchObject({ action: 'restart', outcome: 'restarted', resumedStep: 10_000 });
    expect(result.action === 'restart' && (result.step ?? 0) > 10_000).toBe(true);
    expect(m.stops).toBe(1);
    expect(m.launches).toEqual([
      buildTrainerArgv(runOf(h.deps.fleet, RUN), h.deps.fleet, { name: 'RTX 3090', count: 4 }),
    ]);
    expect(m.launches[0]).toEqual(expect.arrayContaining(['--config', 'configs/mosaic_small_resume.yaml']));
    // Above 70%: old step files go, the newest two and latest/best stay.
    expect(m.deleted).toEqual(['step_2500.pt', 'step_5000.pt']);
    expect([...m.files.keys()].sort()).toEqual(['best.pt', 'latest.pt', 'step_10000.pt', 'step_7500.pt']);
    expect(await types()).toEqual(['AUTO_CLEANUP', 'AUTO_RESTART', 'FIX']);
    expect(await h.store.getMeta(`healer:launch:${RUN}`)).toBeNull();
  });

  it('journals RESTART_FAILED and escalates when the restart brings no progress', async () => {
    const m = await crashedRun(undefined, { nextBehaviour: 'stuck' });
    const { incident } = await h.store.incidents.openOrUpdate({
      run: RUN,
      kind: 'crashed',
      severity: 'critical',
      message: 'died',
    });
    const started = h.clock.now();

    const err = await healerProcessor(h.deps)(job('restart', { incidentId: incident.id })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ActionFailedError);
    expect(m.launches).toHaveLength(1);
    // It waited the whole verification window before giving up.
    expect(h.clock.now() - started).toBeGreaterThanOrEqual(
      h.deps.fleet.thresholds.verify_window_minutes * 60_000,
    );
    const journal = await h.journal();
    expect(journal.map((e) => e.type)).toEqual(['RESTART_FAILED', 'ESCALATION']);
    expect(journal[0]?.message).toMatch(/no progress within 10 min: the step stayed at 10000/);
    expect((await h.store.incidents.get(incident.id))?.escalated).toBe(true);
    expect(h.events.map((e) => e.change)).toEqual(['escalated']);
  });

  it('fails fast when the relaunched trainer dies', async () => {
    const m = await crashedRun(undefined, { nextBehaviour: 'die' });
    const started = h.clock.now();
    await expect(healerProcessor(h.deps)(job('restart'))).rejects.toBeInstanceOf(ActionFailedError);
    expect(h.clock.now() - started).toBeLessThan(h.deps.fleet.thresholds.verify_window_minutes * 60_000);
    expect(m.launches).toHaveLength(1);
    const failed = (await h.journal()).find((e) => e.type === 'RESTART_FAILED');
    expect(failed?.message).toMatch(/died after launch \(oom\)/);
  });

  it('restarts a stalled trainer that is alive but not advancing', async () => {
    const m = await crashedRun(undefined, {
      trainer: { startedAt: Date.UTC(2025, 11, 31), fromStep: 12_340, behaviour: 'stuck' },
    });
    const result = await healerProcessor(h.deps)(job('restart'));
    expect(result).toMatchObject({ outcome: 'restarted' });
    expect(m.stops).toBe(1);
    expect(m.launches).toHaveLength(1);
  });

  it('leaves alone a trainer that is already running and advancing', async () => {
    const m = await crashedRun(undefined, {
      trainer: { startedAt: Date.UTC(2025, 11, 31), fromStep: 10_000, behaviour: 'train' },
    });
    const result = await healerProcessor(h.deps)(job('restart'));
    expect(result).toMatchObject({ outcome: 'already_running' });
    expect(m.stops).toBe(0);
    expect(m.launches).toHaveLength(0);
    expect(await types()).toEqual(['DECISION']);
  });

  it('a retry after the worker died mid-verification verifies the running trainer instead of launching again', async () => {
    const m = await crashedRun();
    // The first attempt dies right after its launch: its first wait during verification throws.
    let launched = false;
    const dying = {
      ...h.deps,
      clock: {
        ...h.clock,
        async sleep(ms: number) {
          if (launched) throw new Error('worker killed');
          return h.clock.sleep(ms);
        },
      },
      hosts: {
        ...h.hosts,
        async launch(t: typeof target, argv: readonly string[]) {
          launched = true;
          return h.hosts.launch(t, argv);
        },
      },
    };
    await expect(healerProcessor(dying)(job('restart'))).rejects.toThrow('worker killed');
    expect(m.launches).toHaveLength(1);

    const result = await healerProcessor(h.deps)(job('restart'));
    expect(result).toMatchObject({ outcome: 'restarted', resumedStep: 10_000 });
    expect(m.launches).toHaveLength(1);
    expect(m.stops).toBe(1);
  });
});

describe('healer restart: policy refusals are journaled and never executed', () => {
  it('refuses an 8-expert config forced onto the MoE run', async () => {
    const base = testFleet();
    const forced: Fleet = {
      ...base,
      runs: base.runs.map((r) => (r.name === RUN ? { ...r, config: 'configs/mosaic_small.yaml' } : r)),
    };
    const m = await crashedRun(forced);
    const err = await healerProcessor(h.deps)(job('restart')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyViolation);
    expect((err as PolicyViolation).rule).toBe('forbidden_config');
    expect(m.stops + m.launches.length).toBe(0);
    const [refusal] = await h.journal();
    expect(refusal).toMatchObject({ type: 'POLICY_REFUSED', details: { rule: 'forbidden_config' } });
  });

  it('refuses and escalates when the config on the host has the wrong expert count', async () => {
    const m = await crashedRun(undefined, { experts: new Map([['configs/mosaic_small_resume.yaml', 8]]) });
    const err = await healerProcessor(h.deps)(job('restart')).catch((e: unknown) => e);
    expect((err as PolicyViolation).rule).toBe('n_experts_mismatch');
    expect(m.stops + m.launches.length).toBe(0);
    expect(await types()).toEqual(['POLICY_REFUSED', 'ESCALATION']);
  });

  it('refuses to launch on an RTX 5090', async () => {
    h = createHealerHarness();
    await h.store.putRunState(runState(RUN, target, { gpuName: 'RTX 5090' }));
    const m = h.hosts.addMachine(target, { gpuName: 'RTX 5090', files: runFiles(5000) });
    const err = await healerProcessor(h.deps)(job('restart')).catch((e: unknown) => e);
    expect((err as PolicyViolation).rule).toBe('gpu_blocked');
    expect(m.launches).toHaveLength(0);
    expect(await types()).toEqual(['POLICY_REFUSED']);
  });

  it("refuses an automatic restart the policy says needs approval, but runs a person's", async () => {
    const m = await crashedRun(testFleet({ policy: { auto_actions: { restart: false } } }));
    const err = await healerProcessor(h.deps)(job('restart')).catch((e: unknown) => e);
    expect((err as PolicyViolation).rule).toBe('approval_required');
    expect(m.launches).toHaveLength(0);
    await expect(
      healerProcessor(h.deps)(job('restart', { requestedBy: 'U0123ABCD' })),
    ).resolves.toMatchObject({
      outcome: 'restarted',
    });
  });
});

describe('healer clean_disk, collect_logs, stop', () => {
  it('deletes old step checkpoints above the threshold and reports what it freed', async () => {
    const m = await crashedRun(undefined, { otherBytes: 130 * GB });
    const result = await healerProcessor(h.deps)(job('clean_disk'));
    expect(result).toMatchObject({
      action: 'clean_disk',
      needed: true,
      deleted: ['step_2500.pt', 'step_5000.pt'],
    });
    if (result.action !== 'clean_disk') throw new Error('wrong result');
    expect(result.freedBytes).toBe(2 * Math.round(4.2 * GB));
    expect(result.diskPctAfter).toBeLessThan(result.diskPctBefore ?? 0);
    expect(m.files.has('latest.pt') && m.files.has('best.pt')).toBe(true);
    const [entry] = await h.journal();
    expect(entry).toMatchObject({ type: 'AUTO_CLEANUP', details: { freedBytes: result.freedBytes } });
  });

  it('does nothing below the threshold', async () => {
    const m = await crashedRun();
    const result = await healerProcessor(h.deps)(job('clean_disk'));
    expect(result).toMatchObject({ needed: false, deleted: [] });
    expect(m.deleted).toEqual([]);
    expect(await h.journal()).toEqual([]);
  });

  it('collects the log tail', async () => {
    await crashedRun();
    const result = await healerProcessor(h.deps)(job('collect_logs'));
    expect(result.action === 'collect_logs' && result.lines.length).toBeGreaterThan(0);
  });

  it('stops training and marks the run stopped by us', async () => {
    const m = await crashedRun(undefined, {
      trainer: { startedAt: Date.UTC(2025, 11, 31), fromStep: 10_000, behaviour: 'train' },
    });
    const result = await healerProcessor(h.deps)(job('stop', { requestedBy: 'U0123ABCD' }));
    expect(result).toMatchObject({ action: 'stop', stopped: true });
    expect(m.trainer).toBeNull();
    expect((await h.store.getRunState(RUN))?.stoppedByUs).toBe(true);
    expect(await types()).toEqual(['stop']);
  });
});
