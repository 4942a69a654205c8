import { afterEach, describe, expect, it } from 'vitest';
import { opsProcessor } from '../../../agents/ops/processor.js';
import { ActionFailedError, PolicyViolation } from '../../../src/errors.js';
import type { OpsJob } from '../../../src/queues/jobs.js';
import { GB } from '../healer/fake-hosts.js';
import { createOpsHarness, type OpsHarness, opsFleet, RUN, runningRun } from './harness.js';

let h: OpsHarness;
afterEach(async () => {
  await h?.close();
});

const job = (action: OpsJob['action']): OpsJob => ({
  action,
  run: RUN,
  reason: 'reached its target',
  requestedBy: 'U0APPROVER',
  proposalId: `${action}-proposal-0001`,
});

/** A run that reached step 50,000 and wrote final.pt; the trainer has exited. */
async function finishedRun(h: OpsHarness) {
  const old = await runningRun(h, 50_000);
  old.machine.trainer = null;
  old.machine.leftover = { step: 50_000, ts: Math.floor(h.clock.now() / 1000) };
  old.machine.files.set('final.pt', { bytes: 4 * GB, step: 50_000 });
  return old;
}

const alive = (id: number) => h.sim.control.instances().some((i) => i.id === id);

describe('ops finish and destroy', () => {
  it('backs up final.pt, marks the run complete, announces it and releases the instance', async () => {
    h = await createOpsHarness();
    const old = await finishedRun(h);
    const result = await opsProcessor(h.ops)(job('finish'));
    expect(result).toMatchObject({ action: 'finish', step: 50_000, backedUp: true, destroyed: true });
    expect(h.hosts.backups.get('hf://team/mosaic_small_3090/final.pt')).toBe(50_000);
    expect(alive(old.id)).toBe(false);
    const state = await h.store.getRunState(RUN);
    expect(state).toMatchObject({ complete: true, instanceId: null, costPerHr: 0 });
    expect(state?.costAccrued).toBeGreaterThan(2);
    expect((await h.journal()).map((e) => e.type)).toEqual(['COMPLETE', 'destroy']);
    expect(h.progress.map(([step]) => step)).toContain('complete');
  });

  it('marks the run complete but keeps the instance when final.pt has nowhere to be backed up', async () => {
    h = await createOpsHarness(opsFleet({}, { [RUN]: {} }));
    const fleet = {
      ...h.ops.fleet,
      runs: h.ops.fleet.runs.map((r) => (r.name === RUN ? { ...r, backup_source: undefined } : r)),
    };
    const old = await finishedRun(h);
    const result = await opsProcessor({ ...h.ops, fleet })(job('finish'));
    expect(result).toMatchObject({ backedUp: false, destroyed: false });
    expect(alive(old.id)).toBe(true);
    expect((await h.store.getRunState(RUN))?.complete).toBe(true);
    // A later destroy is still refused by rule 7.
    const err = await opsProcessor({ ...h.ops, fleet })(job('destroy')).catch((e: unknown) => e);
    expect((err as PolicyViolation).rule).toBe('destroy_guard');
    expect(alive(old.id)).toBe(true);
  });

  it('refuses to finish a run that has not reached its target', async () => {
    h = await createOpsHarness();
    const old = await runningRun(h, 20_000);
    await expect(opsProcessor(h.ops)(job('finish'))).rejects.toBeInstanceOf(ActionFailedError);
    expect(alive(old.id)).toBe(true);
    expect((await h.store.getRunState(RUN))?.complete).toBe(false);
  });

  it('refuses to destroy the instance of a run that is not complete', async () => {
    h = await createOpsHarness();
    const old = await runningRun(h);
    const err = await opsProcessor(h.ops)(job('destroy')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyViolation);
    expect(alive(old.id)).toBe(true);
    expect((await h.journal()).map((e) => e.type)).toEqual(['POLICY_REFUSED']);
  });
});
