import { describe, expect, it } from 'vitest';
import { PolicyViolation, ValidationError } from '../../../src/errors.js';
import { findProfile, profileKey } from '../../../src/fleet/policy/index.js';
import { fixtureRun, thrownBy } from './fixtures.js';

describe('profileKey', () => {
  it.each([
    ['RTX 3090', 4, 'RTX_3090_4x'],
    ['A100 SXM4', 4, 'A100_SXM4_4x'],
    ['RTX 4090', 1, 'RTX_4090_1x'],
    ['rtx-3090', 8, 'RTX_3090_8x'],
    ['  RTX   3090  ', 4, 'RTX_3090_4x'],
    ['rtx_3090', 4, 'RTX_3090_4x'],
    ['NVIDIA GeForce RTX 3090', 4, 'RTX_3090_4x'],
    ['A100-SXM4-80GB', 4, 'A100_SXM4_80GB_4x'],
    ['H100 SXM', 16, 'H100_SXM_16x'],
  ])('%j x%i -> %s', (name, count, key) => {
    expect(profileKey(name, count)).toBe(key);
  });

  it.each([0, -1, 1.5, 100, Number.NaN])('rejects a GPU count of %s', (count) => {
    expect(() => profileKey('RTX 3090', count)).toThrow(ValidationError);
  });

  it.each(['', '   ', '---', 'NVIDIA'])('rejects %j as a GPU name', (name) => {
    expect(() => profileKey(name, 4)).toThrow(ValidationError);
  });

  it('never lets shell text through into the key', () => {
    const key = profileKey('RTX 3090; rm -rf /', 4);
    expect(key).toMatch(/^[A-Z0-9_]+_4x$/);
  });
});

describe('findProfile', () => {
  const moe = fixtureRun('mosaic_moe');

  it('finds the profile for the GPU model and count', () => {
    expect(findProfile(moe, 'RTX 3090', 8)).toEqual({ batch_size: 4, grad_accum: 8, nproc: 8 });
    expect(findProfile(moe, 'RTX 3090', 4)).toEqual({ batch_size: 4, grad_accum: 16, nproc: 4 });
    expect(findProfile(moe, 'A100 SXM4', 4)).toEqual({ batch_size: 8, grad_accum: 8, nproc: 4 });
  });

  it('matches however the GPU name is spelled', () => {
    expect(findProfile(moe, 'NVIDIA GeForce RTX 3090', 4).grad_accum).toBe(16);
    expect(findProfile(moe, 'rtx3090', 4).grad_accum).toBe(16);
  });

  it('falls back from a memory-specific name to the generic profile', () => {
    expect(findProfile(moe, 'A100-SXM4-80GB', 4)).toEqual({ batch_size: 8, grad_accum: 8, nproc: 4 });
  });

  it('prefers a memory-specific profile when the run has one', () => {
    const run = fixtureRun('mosaic_moe');
    run.profiles['A100_SXM4_80GB_4x'] = { batch_size: 16, grad_accum: 4, nproc: 4 };
    expect(findProfile(run, 'A100 SXM4 80GB', 4).batch_size).toBe(16);
    expect(findProfile(run, 'A100 SXM4', 4).batch_size).toBe(8);
  });

  it('matches configured keys written in other cases', () => {
    const run = fixtureRun('mosaic_moe');
    run.profiles = { rtx_4090_2X: { batch_size: 2, grad_accum: 2, nproc: 2 } };
    expect(findProfile(run, 'RTX 4090', 2).nproc).toBe(2);
  });

  it('throws no_profile for an unknown GPU, listing the profiles that exist', () => {
    const err = thrownBy(() => findProfile(moe, 'RTX 4090', 4));
    expect(err).toBeInstanceOf(PolicyViolation);
    expect((err as PolicyViolation).rule).toBe('no_profile');
    expect(err.message).toContain('RTX_4090_4x');
    for (const key of ['RTX_3090_8x', 'RTX_3090_4x', 'A100_SXM4_4x']) expect(err.message).toContain(key);
  });

  it('does not reuse a profile for another GPU count (1 vs many)', () => {
    expect(() => findProfile(moe, 'RTX 3090', 1)).toThrow(PolicyViolation);
    expect(() => findProfile(moe, 'RTX 3090', 2)).toThrow(/no profile RTX_3090_2x/);
    const gpt2 = fixtureRun('gpt2_reference');
    expect(findProfile(gpt2, 'RTX 4090', 1).nproc).toBe(1);
    expect(findProfile(gpt2, 'RTX 4090', 4).nproc).toBe(4);
  });

  it('does not confuse similar model numbers', () => {
    expect(() => findProfile(moe, 'RTX 30900', 4)).toThrow(PolicyViolation);
    expect(() => findProfile(moe, 'A100 PCIE', 4)).toThrow(PolicyViolation);
  });
});
