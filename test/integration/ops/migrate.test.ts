import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { migrationLabel } from '../../../agents/ops/migrate.js';
import {
  loadMigrationRecord,
  MIGRATION_PHASES,
  type MigrationPhase,
} from '../../../agents/ops/migration-record.js';
import { opsProcessor } from '../../../agents/ops/processor.js';
import { ActionFailedError, PolicyViolation } from '../../../src/errors.js';
import { hostKeyId } from '../../../src/infra/ssh/host-keys.js';
import type { OpsJob } from '../../../src/queues/jobs.js';
import {
  createOpsHarness,
  labelled,
  migrateJob,
  type OldInstance,
  type OpsHarness,
  opsFleet,
  outbid,
  RUN,
  rentRequests,
  runningRun,
} from './harness.js';

let h: OpsHarness;
afterEach(async () => {
  await h?.close();
});

const offersJob: OpsJob = { action: 'offers', run: RUN, reason: 'outbid', requestedBy: 'conductor' };

/** Outbid run, offers job, approval: returns the consumed proposal's id and the chosen offer. */
async function approvedMigration(): Promise<{ old: OldInstance; proposalId: string; offerId: number }> {
  const old = await runningRun(h);
  await outbid(h, old);
  const offers = await opsProcessor(h.ops)(offersJob);
  if (offers.action !== 'offers' || !offers.proposal) throw new Error('no proposal');
  const proposal = await h.store.proposals.consume(offers.proposal.id);
  const first = (proposal.params['offers'] as { offer: { id: number } }[])[0];
  if (!first) throw new Error('proposal without offers');
  return { old, proposalId: proposal.id, offerId: first.offer.id };
}

async function expectMigrated(old: OldInstance, proposalId: string, rentsBefore: number) {
  const label = migrationLabel(RUN, proposalId);
  const mine = labelled(h, label);
  expect(mine).toHaveLength(1);
  expect(rentRequests(h) - rentsBefore).toBe(1);
  const state = await h.store.getRunState(RUN);
  expect(state?.instanceId).toBe(mine[0]);
  expect(h.sim.control.instances().some((i) => i.id === old.id)).toBe(false);
  const machine = h.hosts.byInstance.get(mine[0]!);
  expect(machine?.launches).toHaveLength(1);
  expect(h.hosts.stepOf(machine!)).toBeGreaterThan(10_000);
}

describe('ops offers -> proposal', () => {
  it('ranks replacements and stores a single-use proposal with the best offers, never a 5090', async () => {
    const cheap5090 = {
      gpu_name: 'RTX 5090',
      num_gpus: 4,
      dph_total: 0.05,
      min_bid: 0.01,
      reliability: 0.99,
      inet_down: 1000,
      disk_space: 900,
    };
    h = await createOpsHarness();
    h.sim.control.addOffer(cheap5090);
    const old = await runningRun(h);
    await outbid(h, old);
    const result = await opsProcessor(h.ops)(offersJob);
    if (result.action !== 'offers' || !result.proposal) throw new Error('no proposal');
    const offers = result.proposal.params['offers'] as {
      offer: { id: number; gpu_name: string };
      bid: number;
      profileKey: string;
    }[];
    expect(offers.length).toBeGreaterThan(0);
    expect(offers.every((o) => o.offer.gpu_name !== 'RTX 5090')).toBe(true);
    expect(offers[0]?.bid).toBeCloseTo(0.2 * 1.1, 6);
    expect(result.proposal).toMatchObject({ run: RUN, action: 'migrate', createdBy: 'conductor' });
    const [decision] = await h.journal();
    expect(decision).toMatchObject({ type: 'DECISION', details: { proposal: result.proposal.id } });
  });
});

describe('ops migrate', () => {
  it('rents, brings the checkpoint, launches, verifies, then destroys the old instance and records it', async () => {
    h = await createOpsHarness();
    const { old, proposalId, offerId } = await approvedMigration();
    const rentsBefore = rentRequests(h);
    const oldState = await h.store.getRunState(RUN);

    const result = await opsProcessor(h.ops)(migrateJob(proposalId, { offerId }));

    expect(result).toMatchObject({ action: 'migrate', offerId, oldInstanceId: old.id, resumedStep: 10_000 });
    await expectMigrated(old, proposalId, rentsBefore);
    const state = await h.store.getRunState(RUN);
    expect(state).toMatchObject({ gpuName: 'RTX 3090', numGpus: 4, stoppedByUs: false });
    expect(state?.costPerHr).toBeCloseTo(0.22, 6);
    expect(state?.costAccrued).toBeGreaterThan(oldState?.costAccrued ?? 0);
    expect(h.forgotten).toEqual([hostKeyId(old.machine.target.host, old.machine.target.port)]);
    expect(h.hosts.calls).toContain(`restore hf://team/mosaic_small_3090 -> 127.0.0.1:${state?.sshPort}`);
    const types = (await h.journal()).map((e) => e.type);
    expect(types.slice(-4)).toEqual(['provision', 'start', 'destroy', 'REPLACE']);
    expect(h.progress.map(([step]) => step)).toEqual(
      expect.arrayContaining([
        'rent',
        'running',
        'checkpoint',
        'launch',
        'verify',
        'verified',
        'destroy',
        'done',
      ]),
    );
    const context = await readFile(path.join(h.stateDir, 'CONTINUATION_CONTEXT.md'), 'utf8');
    expect(context).toContain(String(state?.instanceId));
  });

  it('copies latest.pt from the old host when it is still reachable', async () => {
    h = await createOpsHarness();
    const old = await runningRun(h);
    const { proposal } = (await opsProcessor(h.ops)({ ...offersJob, reason: 'move off a slow host' })) as {
      proposal: { id: string };
    };
    await h.store.proposals.consume(proposal.id);
    await opsProcessor(h.ops)(migrateJob(proposal.id, { reason: 'move off a slow host' }));
    const oldHost = `127.0.0.1:${old.machine.target.port}`;
    const copied = h.hosts.calls.findIndex((c) => c.startsWith(`copy ${oldHost} -> `));
    expect(copied).toBeGreaterThan(-1);
    // The old trainer is stopped first: no save can tear latest.pt mid-upload, and it does not
    // go on training beside the new one.
    const stopped = h.hosts.calls.indexOf(`stop ${oldHost}`);
    expect(stopped).toBeGreaterThan(-1);
    expect(stopped).toBeLessThan(copied);
    const journal = await h.journal();
    const stopEntry = journal.findIndex((e) => e.type === 'stop');
    expect(journal[stopEntry]?.message).toContain(`old instance ${old.id}`);
    expect(stopEntry).toBeLessThan(journal.findIndex((e) => e.type === 'start'));
    expect(h.sim.control.instances().some((i) => i.id === old.id)).toBe(false);
    expect((await h.store.getRunState(RUN))?.stoppedByUs).toBe(false);
  });

  it('lets the rules restart the old trainer it stopped when the migration then fails', async () => {
    h = await createOpsHarness();
    const old = await runningRun(h);
    const { proposal } = (await opsProcessor(h.ops)({ ...offersJob, reason: 'move off a slow host' })) as {
      proposal: { id: string };
    };
    await h.store.proposals.consume(proposal.id);
    const marks: boolean[] = [];
    const stuck = {
      ...h.ops,
      afterPersist: async (p: MigrationPhase) => {
        if (p === 'checkpoint_ready') marks.push((await h.store.getRunState(RUN))?.stoppedByUs ?? false);
        if (p === 'running') {
          for (const m of h.hosts.byInstance.values()) if (m !== old.machine) m.nextBehaviour = 'stuck';
        }
      },
    };
    await expect(
      opsProcessor(stuck)(migrateJob(proposal.id, { reason: 'move off a slow host' })),
    ).rejects.toBeInstanceOf(ActionFailedError);
    expect(h.hosts.calls).toContain(`stop 127.0.0.1:${old.machine.target.port}`);
    // Marked while the migration ran, cleared when it failed: the run is still on the old host.
    expect(marks).toEqual([true]);
    const state = await h.store.getRunState(RUN);
    expect(state).toMatchObject({ instanceId: old.id, stoppedByUs: false });
    expect(h.sim.control.instances().some((i) => i.id === old.id)).toBe(true);
  });

  describe('killed after each persisted step, then run again', () => {
    const crashPoints = MIGRATION_PHASES.filter((p) => p !== 'failed');

    it.each(crashPoints)(
      'killed after %s: one instance rented, run moved, old destroyed only at the end',
      async (phase) => {
        h = await createOpsHarness();
        const { old, proposalId, offerId } = await approvedMigration();
        const rentsBefore = rentRequests(h);
        const oldAlive = () => h.sim.control.instances().some((i) => i.id === old.id);
        let crashed = false;
        const dying = {
          ...h.ops,
          afterPersist: (p: MigrationPhase) => {
            if (p === phase && !crashed) {
              crashed = true;
              throw new Error(`worker killed after ${p}`);
            }
          },
        };
        await expect(opsProcessor(dying)(migrateJob(proposalId, { offerId }))).rejects.toThrow(
          'worker killed',
        );
        const record = await loadMigrationRecord(h.redis, h.prefix, proposalId);
        expect(record?.phase).toBe(phase);
        // Rule 7: the old instance survives every step before its replacement is verified.
        const destroyedYet = ['old_destroyed', 'done'].includes(phase);
        expect(oldAlive()).toBe(!destroyedYet);
        if (!destroyedYet) expect((await h.store.getRunState(RUN))?.instanceId).toBe(old.id);

        await opsProcessor(h.ops)(migrateJob(proposalId, { offerId }));
        await expectMigrated(old, proposalId, rentsBefore);
        expect((await loadMigrationRecord(h.redis, h.prefix, proposalId))?.phase).toBe('done');
      },
    );
  });

  it('finds the instance by its label when the rent response is lost', async () => {
    h = await createOpsHarness();
    const { old, proposalId, offerId } = await approvedMigration();
    const rentsBefore = rentRequests(h);
    await h.sim.control.fault({ kind: 'loseRentResponse' });
    await opsProcessor(h.ops)(migrateJob(proposalId, { offerId }));
    await expectMigrated(old, proposalId, rentsBefore);
    const provision = (await h.journal()).find((e) => e.type === 'provision');
    expect(provision?.message).toMatch(/^found instance/);
  });

  it('adopts the instance by label when the worker died between renting and recording it', async () => {
    h = await createOpsHarness();
    const { old, proposalId, offerId } = await approvedMigration();
    const rentsBefore = rentRequests(h);
    const dying = {
      ...h.ops,
      vast: {
        ...h.vast,
        async rent(...args: Parameters<typeof h.vast.rent>) {
          await h.vast.rent(...args);
          throw new Error('worker killed right after the rent');
        },
      },
    };
    await expect(opsProcessor(dying)(migrateJob(proposalId, { offerId }))).rejects.toThrow('worker killed');
    expect((await loadMigrationRecord(h.redis, h.prefix, proposalId))?.phase).toBe('planned');
    await opsProcessor(h.ops)(migrateJob(proposalId, { offerId }));
    await expectMigrated(old, proposalId, rentsBefore);
  });

  it('moves on to the next offer when the chosen one is rented away before we rent it', async () => {
    h = await createOpsHarness();
    const { old, proposalId, offerId } = await approvedMigration();
    const rentsBefore = rentRequests(h);
    const racing = {
      ...h.ops,
      afterPersist: async (p: MigrationPhase) => {
        if (p === 'planned' && h.sim.control.offers().some((o) => o.id === offerId)) {
          await h.vast.rent(offerId, { image: 'x', disk: 100, label: 'someone-else' });
        }
      },
    };
    const result = await opsProcessor(racing)(migrateJob(proposalId, { offerId }));
    expect(result.action === 'migrate' && result.offerId).not.toBe(offerId);
    expect(labelled(h, migrationLabel(RUN, proposalId))).toHaveLength(1);
    expect(rentRequests(h) - rentsBefore).toBe(3); // someone else's, our refused one, our good one
    const record = await loadMigrationRecord(h.redis, h.prefix, proposalId);
    expect(record?.tried).toEqual([{ offerId, outcome: 'rent refused: no_such_ask' }]);
    expect(h.sim.control.instances().some((i) => i.id === old.id)).toBe(false);
  });

  it('uses the next best offer when the approved one vanished before the job started', async () => {
    h = await createOpsHarness();
    const { proposalId, offerId } = await approvedMigration();
    await h.vast.rent(offerId, { image: 'x', disk: 100, label: 'someone-else' });
    const result = await opsProcessor(h.ops)(migrateJob(proposalId, { offerId }));
    expect(result.action === 'migrate' && result.offerId).not.toBe(offerId);
    const journal = await h.journal();
    expect(journal.some((e) => e.type === 'DECISION' && /no longer available/.test(e.message))).toBe(true);
  });

  it('destroys an instance that never reaches running and tries the next offer', async () => {
    h = await createOpsHarness();
    const { old, proposalId, offerId } = await approvedMigration();
    h.sim.control.setLoadingMs(10 * 3_600_000);
    const slowThenFast = {
      ...h.ops,
      afterPersist: (p: MigrationPhase) => {
        if (p === 'rented') h.sim.control.setLoadingMs(90_000);
      },
    };
    const result = await opsProcessor(slowThenFast)(migrateJob(proposalId, { offerId }));
    if (result.action !== 'migrate') throw new Error('wrong result');
    const record = await loadMigrationRecord(h.redis, h.prefix, proposalId);
    expect(record?.abandoned).toHaveLength(1);
    expect(h.sim.control.instances().some((i) => i.id === record?.abandoned[0])).toBe(false);
    expect(labelled(h, migrationLabel(RUN, proposalId))).toEqual([result.instanceId]);
    expect(h.sim.control.instances().some((i) => i.id === old.id)).toBe(false);
    const destroyed = (await h.journal()).filter((e) => e.type === 'destroy').map((e) => e.message);
    expect(destroyed[0]).toMatch(/did not reach running within 20 min/);
  });

  it('gives up, escalates and keeps the old instance when no offer ever runs', async () => {
    h = await createOpsHarness();
    const { old, proposalId, offerId } = await approvedMigration();
    h.sim.control.setLoadingMs(10 * 3_600_000);
    const err = await opsProcessor(h.ops)(migrateJob(proposalId, { offerId })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActionFailedError);
    expect(labelled(h, migrationLabel(RUN, proposalId))).toEqual([]);
    expect(h.sim.control.instances().some((i) => i.id === old.id)).toBe(true);
    expect((await h.store.getRunState(RUN))?.instanceId).toBe(old.id);
    expect((await h.journal()).at(-1)?.type).toBe('ESCALATION');
    expect((await loadMigrationRecord(h.redis, h.prefix, proposalId))?.phase).toBe('failed');
  });

  it('keeps the old instance and escalates when the new one does not train', async () => {
    h = await createOpsHarness();
    const { old, proposalId, offerId } = await approvedMigration();
    const stuck = {
      ...h.ops,
      afterPersist: (p: MigrationPhase) => {
        if (p === 'running') {
          for (const m of h.hosts.byInstance.values()) m.nextBehaviour = 'stuck';
        }
      },
    };
    await expect(opsProcessor(stuck)(migrateJob(proposalId, { offerId }))).rejects.toBeInstanceOf(
      ActionFailedError,
    );
    expect(h.sim.control.instances().some((i) => i.id === old.id)).toBe(true);
    expect((await h.store.getRunState(RUN))?.instanceId).toBe(old.id);
    const journal = await h.journal();
    expect(journal.some((e) => e.type === 'destroy')).toBe(false);
    expect(journal.at(-1)).toMatchObject({ type: 'ESCALATION' });
    expect(journal.at(-1)?.message).toMatch(/not training/);
  });
});

describe('ops migrate: policy refusals are journaled and never executed', () => {
  it('refuses an RTX 5090 offer forced through approval', async () => {
    h = await createOpsHarness();
    const trap = h.sim.control.addOffer({
      gpu_name: 'RTX 5090',
      num_gpus: 4,
      dph_total: 0.05,
      min_bid: 0.01,
      reliability: 0.99,
      inet_down: 1000,
      disk_space: 900,
    });
    const old = await runningRun(h);
    await outbid(h, old);
    const rentsBefore = rentRequests(h);
    const err = await opsProcessor(h.ops)(migrateJob('forced-5090-proposal', { offerId: trap.id })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PolicyViolation);
    expect((err as PolicyViolation).rule).toBe('gpu_blocked');
    expect(rentRequests(h)).toBe(rentsBefore);
    const [refusal] = await h.journal();
    expect(refusal).toMatchObject({ type: 'POLICY_REFUSED', details: { rule: 'gpu_blocked' } });
  });

  it('refuses to launch when the new host has the 8-expert config, and keeps the old instance', async () => {
    h = await createOpsHarness();
    const { old, proposalId, offerId } = await approvedMigration();
    const eightExperts = {
      ...h.ops,
      afterPersist: (p: MigrationPhase) => {
        if (p === 'running') {
          for (const m of h.hosts.byInstance.values()) m.experts.set('configs/mosaic_small_resume.yaml', 8);
        }
      },
    };
    const err = await opsProcessor(eightExperts)(migrateJob(proposalId, { offerId })).catch(
      (e: unknown) => e,
    );
    expect((err as PolicyViolation).rule).toBe('n_experts_mismatch');
    const newIds = labelled(h, migrationLabel(RUN, proposalId));
    expect(h.hosts.byInstance.get(newIds[0]!)?.launches).toEqual([]);
    expect(h.sim.control.instances().some((i) => i.id === old.id)).toBe(true);
    const types = (await h.journal()).map((e) => e.type);
    expect(types.slice(-2)).toEqual(['POLICY_REFUSED', 'ESCALATION']);
  });

  it('refuses to rent beyond the fleet budget', async () => {
    h = await createOpsHarness(opsFleet({ policy: { budget: { max_dph: 0.1 } } }));
    const old = await runningRun(h);
    await outbid(h, old);
    const rentsBefore = rentRequests(h);
    const err = await opsProcessor(h.ops)(migrateJob('over-budget-proposal')).catch((e: unknown) => e);
    expect((err as PolicyViolation).rule).toBe('budget');
    expect((err as Error).message).toMatch(/above the budget of \$0\.10\/h/);
    expect(rentRequests(h)).toBe(rentsBefore);
    expect((await h.journal()).at(-1)).toMatchObject({ type: 'POLICY_REFUSED' });
  });

  it('refuses a migration nobody approved', async () => {
    h = await createOpsHarness();
    const { proposalId: _unused, ...unapproved } = migrateJob('x');
    const err = await opsProcessor(h.ops)({ ...unapproved, requestedBy: 'conductor' }).catch(
      (e: unknown) => e,
    );
    expect((err as PolicyViolation).rule).toBe('approval_required');
  });
});
