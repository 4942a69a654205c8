import { describe, expect, it } from 'vitest';
import type { CheckpointFile } from '../../../src/fleet/health/types.js';
import { planDiskCleanup } from '../../../src/fleet/policy/index.js';
import type { Policy } from '../../../src/fleet/schema.js';
import { defaultPolicy } from './fixtures.js';

const GB = 1024 ** 3;
const policy = defaultPolicy();

function file(name: string, bytes = GB): CheckpointFile {
  const step = /^step_(\d+)\.pt$/.exec(name)?.[1];
  return { name, bytes, step: step === undefined ? null : Number(step) };
}

function names(files: readonly CheckpointFile[]): string[] {
  return files.map((f) => f.name).sort();
}

function cleanup(overrides: Partial<Policy['disk_cleanup']>): Pick<Policy, 'disk_cleanup'> {
  return { disk_cleanup: { ...policy.disk_cleanup, ...overrides } };
}

describe('planDiskCleanup', () => {
  const files = [
    file('latest.pt'),
    file('best.pt'),
    file('step_2500.pt'),
    file('step_5000.pt'),
    file('step_7500.pt'),
    file('step_10000.pt'),
  ];

  it('does nothing at or below the threshold', () => {
    for (const pct of [10, 69.9, 70]) {
      const plan = planDiskCleanup(files, pct, policy);
      expect(plan.needed).toBe(false);
      expect(plan.delete).toEqual([]);
      expect(plan.keep).toHaveLength(files.length);
      expect(plan.freedBytes).toBe(0);
    }
  });

  it('does nothing when disk usage is unknown', () => {
    expect(planDiskCleanup(files, Number.NaN, policy)).toMatchObject({ needed: false, delete: [] });
  });

  it('above the threshold deletes old step checkpoints and keeps the newest 2', () => {
    const plan = planDiskCleanup(files, 70.1, policy);
    expect(plan.needed).toBe(true);
    expect(names(plan.delete)).toEqual(['step_2500.pt', 'step_5000.pt']);
    expect(names(plan.keep)).toEqual(['best.pt', 'latest.pt', 'step_10000.pt', 'step_7500.pt']);
    expect(plan.freedBytes).toBe(2 * GB);
    expect(plan.reason).toContain('70.1%');
  });

  it('picks the newest by step number, not by name order or list order', () => {
    const tricky = [
      file('step_10000.pt'),
      file('step_9000.pt'),
      file('step_100000.pt'),
      file('step_99999.pt'),
      file('step_2.pt'),
    ];
    const plan = planDiskCleanup(tricky, 95, policy);
    expect(names(plan.keep)).toEqual(['step_100000.pt', 'step_99999.pt']);
    expect(names(plan.delete)).toEqual(['step_10000.pt', 'step_2.pt', 'step_9000.pt']);
  });

  it('reads the step from the name, not from a wrong step field', () => {
    const lying = [
      { name: 'step_100.pt', bytes: GB, step: 999_999 },
      file('step_200.pt'),
      file('step_300.pt'),
    ];
    expect(names(planDiskCleanup(lying, 95, policy).delete)).toEqual(['step_100.pt']);
  });

  it('compares huge steps exactly', () => {
    const huge = [
      file('step_90071992547409930.pt'),
      file('step_90071992547409931.pt'),
      file('step_90071992547409932.pt'),
    ];
    expect(names(planDiskCleanup(huge, 95, policy).delete)).toEqual(['step_90071992547409930.pt']);
  });

  it('never deletes protected names, even when the policy list forgets them', () => {
    const all = [file('latest.pt'), file('best.pt'), file('final.pt'), file('step_1.pt'), file('step_2.pt')];
    for (const p of [policy, cleanup({ protected: [] })]) {
      const plan = planDiskCleanup(all, 99, p);
      expect(plan.delete).toEqual([]);
      expect(names(plan.keep)).toEqual(names(all));
    }
  });

  it('honours extra protected names from the policy', () => {
    const all = [file('step_1.pt'), file('step_2.pt'), file('step_3.pt'), file('step_4.pt')];
    const plan = planDiskCleanup(all, 99, cleanup({ protected: ['step_1.pt'] }));
    expect(names(plan.delete)).toEqual(['step_2.pt']);
  });

  it.each([
    'step_100.pt.tmp',
    '../step_1.pt',
    'runs/x/step_1.pt',
    'step_1.pt; rm -rf /',
    'step_1.pt\n',
    ' step_1.pt',
    'step_.pt',
    'step_-1.pt',
    'step_1e3.pt',
    'STEP_1.pt',
    'step_1.PT',
    'step_1.pth',
    'latest_step_1.pt',
    'step_1_pt',
  ])('never deletes %j, which is not exactly step_<N>.pt', (name) => {
    const all = [file(name), file('step_5.pt'), file('step_6.pt'), file('step_7.pt')];
    const plan = planDiskCleanup(all, 99, policy);
    expect(plan.delete.map((f) => f.name)).toEqual(['step_5.pt']);
    expect(plan.keep.map((f) => f.name)).toContain(name);
  });

  it('keeps at least 2 even when the policy asks for fewer', () => {
    const all = [file('step_1.pt'), file('step_2.pt'), file('step_3.pt')];
    for (const keep_newest of [0, 1, -5, Number.NaN]) {
      expect(names(planDiskCleanup(all, 99, cleanup({ keep_newest })).keep)).toEqual([
        'step_2.pt',
        'step_3.pt',
      ]);
    }
  });

  it('keeps more when the policy asks for more', () => {
    const all = [file('step_1.pt'), file('step_2.pt'), file('step_3.pt'), file('step_4.pt')];
    expect(names(planDiskCleanup(all, 99, cleanup({ keep_newest: 3 })).delete)).toEqual(['step_1.pt']);
  });

  it('says so when the disk is full but nothing may be deleted', () => {
    const plan = planDiskCleanup([file('latest.pt'), file('step_1.pt'), file('step_2.pt')], 99, policy);
    expect(plan).toMatchObject({ needed: true, delete: [], freedBytes: 0 });
    expect(plan.reason).toMatch(/only 2 step checkpoints/);
  });

  it('follows the policy threshold and counts only sane sizes as freed', () => {
    const all = [file('step_1.pt', Number.NaN), file('step_2.pt', 5), file('step_3.pt'), file('step_4.pt')];
    expect(planDiskCleanup(all, 80, cleanup({ threshold_pct: 85 })).needed).toBe(false);
    const plan = planDiskCleanup(all, 86, cleanup({ threshold_pct: 85 }));
    expect(plan.freedBytes).toBe(5);
  });

  it('does not modify its input', () => {
    const input = [file('step_3.pt'), file('step_1.pt'), file('step_2.pt')];
    planDiskCleanup(input, 99, policy);
    expect(input.map((f) => f.name)).toEqual(['step_3.pt', 'step_1.pt', 'step_2.pt']);
  });
});
