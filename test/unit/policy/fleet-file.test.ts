import { describe, expect, it } from 'vitest';
import { parseFleet } from '../../../src/config.js';
import { ConfigError } from '../../../src/errors.js';
import { PROFILES_FILE, readProfilesDoc, thrownBy } from './fixtures.js';

describe('the training project instance_profiles.yaml', () => {
  it('loads unchanged through parseFleet with the default policy', () => {
    const fleet = parseFleet(readProfilesDoc(), PROFILES_FILE);
    expect(fleet.runs.map((r) => r.name)).toEqual(['gpt2_reference', 'mosaic_dense', 'mosaic_moe']);
    const moe = fleet.runs.find((r) => r.name === 'mosaic_moe');
    expect(moe?.config).toBe('configs/mosaic_small_resume.yaml');
    expect(moe?.n_experts).toBe(4);
    expect(moe?.profiles['RTX_3090_8x']).toEqual({ batch_size: 4, grad_accum: 8, nproc: 8 });
    expect(moe?.target_steps).toBe(50_000);
    expect(fleet.policy.stop_command).toBe('killall -9 torchrun');
  });

  it('refuses mosaic_moe with the 8-expert config, naming the file, the YAML path and the reason', () => {
    const doc = readProfilesDoc();
    const moe = doc['mosaic_moe'] as Record<string, unknown>;
    const bad = { ...doc, mosaic_moe: { ...moe, config: 'configs/mosaic_small.yaml' } };
    const err = thrownBy(() => parseFleet(bad, PROFILES_FILE));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain(PROFILES_FILE);
    expect(err.message).toContain('mosaic_moe.config');
    expect(err.message).toContain('8 experts');
    expect(err.message).not.toContain('\n');
  });

  it('lets another run use configs/mosaic_small.yaml (the rule is per run)', () => {
    const doc = readProfilesDoc();
    const dense = doc['mosaic_dense'] as Record<string, unknown>;
    const fleet = parseFleet(
      { ...doc, mosaic_dense: { ...dense, config: 'configs/mosaic_small.yaml' } },
      'x',
    );
    expect(fleet.runs.find((r) => r.name === 'mosaic_dense')?.config).toBe('configs/mosaic_small.yaml');
  });
});
