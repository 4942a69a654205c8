import { describe, expect, it } from 'vitest';
import type { DecisionInput } from '../../../agents/decisions/index.js';
import { decide } from '../../../agents/decisions/index.js';
import type { HealthStatus, RunHealth } from '../../../src/fleet/health/types.js';
import type { Incident, JournalEntry, RunState } from '../../../src/state/types.js';
import { runOf, testFleet } from '../ops/fixtures.js';

const fleet = testFleet();
const moe = runOf(fleet, 'mosaic_moe');

function health(status: HealthStatus, patch: Partial<RunHealth> = {}): RunHealth {
  return {
    run: 'mosaic_moe',
    status,
    severity: 'critical',
    reason: `${status} for the test`,
    since: 0,
    observedAt: 0,
    step: 12_340,
    stepChangedAt: 0,
    loss: 3.1,
    ppl: 22,
    tokS: 48_000,
    gpuUtil: 97,
    diskPct: 41,
    processAlive: false,
    heartbeatAgeS: 10,
    tokSHistory: [],
    stepHistory: [],
    ...patch,
  };
}

const state: RunState = {
  run: 'mosaic_moe',
  instanceId: 7,
  sshHost: 'h',
  sshPort: 22,
  gpuName: 'RTX 3090',
  numGpus: 4,
  costPerHr: 1,
  startedAt: 0,
  costAccrued: 0,
  paused: false,
  stoppedByUs: false,
  complete: false,
};

function input(status: HealthStatus, patch: Partial<DecisionInput> = {}): DecisionInput {
  return {
    run: moe,
    health: health(status),
    recurring: { escalate: false, count: 1 },
    runState: state,
    policy: fleet.policy,
    ...patch,
  };
}

describe('decide: one rule per status', () => {
  it.each(['healthy', 'slow', 'provisioning', 'paused', 'unknown', 'unreachable'] as const)(
    '%s: nothing to do',
    (status) => {
      const d = decide(input(status));
      expect(d).toMatchObject({ action: 'none', mode: 'none', job: null, page: false });
    },
  );

  it.each(['stalled', 'crashed', 'oom', 'nccl_hang', 'nan'] as const)(
    '%s: automatic healer restart',
    (status) => {
      const d = decide(input(status));
      expect(d).toMatchObject({
        action: 'restart',
        mode: 'automatic',
        job: { queue: 'healer', action: 'restart' },
        proposalAction: null,
        page: false,
      });
    },
  );

  it('nan: restarts from the latest checkpoint, as the team did, and says so', () => {
    expect(decide(input('nan')).reason).toMatch(/NaN.*latest checkpoint/);
  });

  it('asks first when automatic restarts are off', () => {
    const off = testFleet({ policy: { auto_actions: { restart: false } } });
    const d = decide(input('crashed', { policy: off.policy }));
    expect(d).toMatchObject({ action: 'restart', mode: 'proposal', proposalAction: 'restart' });
  });

  it('a crash on "no kernel image" is moved, not restarted on the same GPU', () => {
    const d = decide(input('crashed', { health: health('crashed', { errorSignature: 'no_kernel_image' }) }));
    expect(d).toMatchObject({ action: 'migrate', mode: 'proposal', job: { queue: 'ops', action: 'offers' } });
  });

  it('preempted: an ops proposal to migrate, with offers ranked by the offers job', () => {
    const d = decide(input('preempted'));
    expect(d).toMatchObject({
      action: 'migrate',
      mode: 'proposal',
      proposalAction: 'migrate',
      job: { queue: 'ops', action: 'offers' },
    });
  });

  it('preempted on a static host: escalate, there is nothing to rent', () => {
    const staticFleet = testFleet({}, { mosaic_moe: { host: { host: '10.0.0.5', user: 'ubuntu' } } });
    const d = decide(input('preempted', { run: runOf(staticFleet, 'mosaic_moe') }));
    expect(d).toMatchObject({ action: 'escalate', mode: 'escalate', job: null, page: true });
  });

  it.each(['disk_warning', 'disk_critical'] as const)('%s: automatic disk clean-up', (status) => {
    const d = decide(input(status));
    expect(d).toMatchObject({
      action: 'clean_disk',
      mode: 'automatic',
      job: { queue: 'healer', action: 'clean_disk' },
    });
    const off = testFleet({ policy: { auto_actions: { clean_disk: false } } });
    expect(decide(input(status, { policy: off.policy })).mode).toBe('proposal');
  });

  it('complete: finish, always after approval', () => {
    const d = decide(input('complete'));
    expect(d).toMatchObject({
      action: 'finish',
      mode: 'proposal',
      proposalAction: 'finish',
      job: { queue: 'ops', action: 'finish' },
    });
  });

  it('leaves alone a run stopped on purpose or already complete', () => {
    expect(decide(input('crashed', { runState: { ...state, stoppedByUs: true } })).action).toBe('none');
    expect(decide(input('crashed', { runState: { ...state, complete: true } })).action).toBe('none');
  });
});

describe('decide: recurring issues (rule 6)', () => {
  const journal: JournalEntry[] = [
    { timestamp: '2026-01-01T03:00:00Z', type: 'AUTO_RESTART', model: 'mosaic_moe', message: 'restart 2' },
    { timestamp: '2026-01-01T01:00:00Z', type: 'AUTO_RESTART', model: 'mosaic_moe', message: 'restart 1' },
    {
      timestamp: '2026-01-01T02:00:00Z',
      type: 'AUTO_RESTART',
      model: 'gpt2_reference',
      message: 'other run',
    },
    { timestamp: '2026-01-01T02:30:00Z', type: 'STALL', model: 'mosaic_moe', message: 'not a fix' },
  ];

  it('escalates instead of restarting a third time, with the history of past fixes', () => {
    const d = decide(input('stalled', { recurring: { escalate: true, count: 3 }, journal }));
    expect(d).toMatchObject({ action: 'escalate', mode: 'escalate', job: null, page: true });
    expect(d.reason).toMatch(/3 times/);
    expect(d.history.map((h) => h.message)).toEqual(['restart 1', 'restart 2']);
    expect(d.journal.details['history']).toEqual(d.history);
  });

  it('does not page again for an incident that is already escalated, and still does not act', () => {
    const incident = { id: 'inc_1', escalated: true, count: 4 } as Incident;
    const d = decide(input('crashed', { incident, recurring: { escalate: true, count: 3 } }));
    expect(d).toMatchObject({ mode: 'escalate', page: false });
  });

  it('keeps a migration proposal (a human decides anyway) but pages with the history', () => {
    const d = decide(input('preempted', { recurring: { escalate: true, count: 3 }, journal }));
    expect(d).toMatchObject({ action: 'migrate', mode: 'proposal', page: true });
    expect(d.history).toHaveLength(2);
  });

  it('under the threshold it acts and carries no history', () => {
    const d = decide(input('stalled', { recurring: { escalate: false, count: 2 }, journal }));
    expect(d).toMatchObject({ mode: 'automatic', page: false, history: [] });
  });
});

describe('decide: the journal entry', () => {
  it('is a DECISION for the run with the reason in the details', () => {
    const incident = { id: 'inc_9', escalated: false, count: 1 } as Incident;
    const d = decide(input('oom', { incident }));
    expect(d.journal).toMatchObject({ type: 'DECISION', model: 'mosaic_moe' });
    expect(d.journal.message).toMatch(/^restart: /);
    expect(d.journal.details).toMatchObject({
      reason: d.reason,
      status: 'oom',
      incident: 'inc_9',
      step: 12_340,
    });
  });
});
