import { describe, expect, it } from 'vitest';
import { checkDestroyAllowed, type DestroyGuardInput } from '../../../src/fleet/policy/index.js';

const base: DestroyGuardInput = {
  run: 'mosaic_moe',
  instanceId: 1001,
  runComplete: false,
  finalCheckpointBackedUp: false,
};
const verified = { instanceId: 2002, verifiedTraining: true, resumedStep: 12_500, currentStep: 12_510 };

describe('checkDestroyAllowed', () => {
  it('allows destroying once the replacement trains past its resumed step', () => {
    const check = checkDestroyAllowed({ ...base, replacement: verified });
    expect(check.ok).toBe(true);
    expect(check.reason).toContain('2002');
  });

  it('allows destroying a complete run whose final checkpoint is backed up', () => {
    const check = checkDestroyAllowed({ ...base, runComplete: true, finalCheckpointBackedUp: true });
    expect(check).toEqual({
      ok: true,
      reason: 'mosaic_moe is complete and its final checkpoint is backed up',
    });
  });

  it('refuses with no replacement and an incomplete run', () => {
    const check = checkDestroyAllowed(base);
    expect(check.ok).toBe(false);
    expect(check.reason).toMatch(/instance 1001 of mosaic_moe.*not complete.*no replacement/);
  });

  it('refuses a complete run whose final checkpoint is not backed up', () => {
    const check = checkDestroyAllowed({ ...base, runComplete: true });
    expect(check.ok).toBe(false);
    expect(check.reason).toContain('not backed up');
  });

  it('ignores a backup flag when the run is not complete', () => {
    expect(checkDestroyAllowed({ ...base, finalCheckpointBackedUp: true }).ok).toBe(false);
  });

  it.each([
    ['the same instance', { instanceId: 1001 }, /same instance/],
    ['not verified', { verifiedTraining: false }, /not verified/],
    ['still at the resumed step', { currentStep: 12_500 }, /not past its resumed step 12500/],
    ['behind the resumed step', { currentStep: 0 }, /not past/],
    ['a NaN step', { currentStep: Number.NaN }, /no valid steps/],
    ['a negative resumed step', { resumedStep: -1, currentStep: 5 }, /no valid steps/],
    ['a bogus instance id', { instanceId: 0 }, /not an instance id/],
  ])('refuses a replacement that is %s', (_what, change, reason) => {
    const check = checkDestroyAllowed({ ...base, replacement: { ...verified, ...change } });
    expect(check.ok).toBe(false);
    expect(check.reason).toMatch(reason);
  });

  it('refuses a verified flag that is truthy but not true', () => {
    const replacement = { ...verified, verifiedTraining: 'yes' as unknown as boolean };
    expect(checkDestroyAllowed({ ...base, replacement }).ok).toBe(false);
  });

  it('refuses a target that is not an instance id, even for a finished run', () => {
    const check = checkDestroyAllowed({
      ...base,
      instanceId: -3,
      runComplete: true,
      finalCheckpointBackedUp: true,
    });
    expect(check.ok).toBe(false);
  });

  it('allows a complete, backed-up run even if its replacement is not verified', () => {
    const check = checkDestroyAllowed({
      ...base,
      runComplete: true,
      finalCheckpointBackedUp: true,
      replacement: { ...verified, verifiedTraining: false },
    });
    expect(check.ok).toBe(true);
  });
});
