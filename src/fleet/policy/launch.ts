import { PolicyViolation } from '../../errors.js';
import {
  type Fleet,
  type GpuProfile,
  type Policy,
  type RunSpec,
  SAFE_NAME,
  SAFE_REL_PATH,
} from '../schema.js';
import { checkGpuAllowed } from './gpu-blocklist.js';
import { findProfile } from './profile.js';
import type { PolicyCheck } from './types.js';

/**
 * The trainer's argv (rules 1-3). It is shell-quoted later by the command templates, but every
 * value is checked here as well: a run built without the schema (tests, the LLM's tool input, a
 * chat override) must not be able to smuggle options or shell text into a launch.
 */

const TRAIN_SCRIPT = 'experiments/train.py';
const MAX_NPROC = 16;
/** The schema's pattern for extra arguments (schema.ts keeps it inline). */
const PLAIN_ARG = /^[A-Za-z0-9._=:/,+-]+$/;
const CONFIG_FILE = /\.ya?ml$/;
/**
 * Options the launch sets itself. An extra argument may not set them again (argparse keeps the
 * last value) nor abbreviate them (argparse accepts unambiguous prefixes such as `--conf`).
 */
const RESERVED_OPTIONS = ['--config', '--run-dir', '--batch-size', '--grad-accum'] as const;

function unsafe(what: string, value: unknown, why: string): PolicyViolation {
  return new PolicyViolation('unsafe_argument', `${what} ${JSON.stringify(value)} ${why}`);
}

/** `./configs//x.yaml` and `configs/x.yaml` name the same file: compare them as one. */
function normaliseRelPath(p: string): string {
  return p
    .split('/')
    .filter((seg) => seg !== '' && seg !== '.')
    .join('/');
}

function checkRelPath(what: string, value: unknown): string {
  if (typeof value !== 'string' || !SAFE_REL_PATH.test(value)) {
    throw unsafe(what, value, 'is not a relative path of letters, digits, . _ - /');
  }
  if (value.startsWith('-')) throw unsafe(what, value, 'would be read as an option');
  return value;
}

export function checkConfigAllowed(
  runName: string,
  config: string,
  policy: Pick<Policy, 'forbidden_configs'>,
): PolicyCheck {
  const wanted = normaliseRelPath(config);
  const rule = policy.forbidden_configs.find(
    (f) => f.run === runName && normaliseRelPath(f.config) === wanted,
  );
  if (!rule) return { ok: true };
  return { ok: false, reason: `${rule.config} is forbidden for ${runName}: ${rule.reason}` };
}

function requireConfigAllowed(runName: string, config: string, policy: Policy): void {
  const check = checkConfigAllowed(runName, config, policy);
  if (!check.ok) throw new PolicyViolation('forbidden_config', check.reason);
}

function optionName(arg: string): string {
  return (arg.split('=')[0] ?? arg).replace(/_/g, '-');
}

function checkExtraArg(run: RunSpec, arg: unknown, policy: Policy): string {
  if (typeof arg !== 'string' || !PLAIN_ARG.test(arg)) {
    throw unsafe(`extra argument of ${run.name}`, arg, 'is not a plain argument without shell characters');
  }
  if (arg.startsWith('--') && arg.length > 2) {
    const name = optionName(arg);
    const clash = RESERVED_OPTIONS.find((opt) => opt.startsWith(name));
    if (clash) {
      throw new PolicyViolation(
        'reserved_argument',
        `extra argument ${JSON.stringify(arg)} of ${run.name} would override ${clash}, which the launch sets itself`,
      );
    }
  }
  // A forbidden config must not come back in through an extra argument (`-c x.yaml`, `--cfg=x.yaml`).
  for (const value of [arg, ...arg.split('=').slice(1)]) {
    requireConfigAllowed(run.name, value, policy);
  }
  return arg;
}

function checkCount(what: string, value: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw unsafe(what, value, `is not an integer from 1 to ${max}`);
  }
  return value;
}

function checkProfile(run: RunSpec, profile: GpuProfile, gpuCount: number): void {
  checkCount(`batch_size of ${run.name}`, profile.batch_size);
  checkCount(`grad_accum of ${run.name}`, profile.grad_accum);
  checkCount(`nproc of ${run.name}`, profile.nproc, MAX_NPROC);
  if (profile.nproc > gpuCount) {
    throw new PolicyViolation(
      'invalid_profile',
      `profile of ${run.name} wants ${profile.nproc} processes but the machine has ${gpuCount} GPUs`,
    );
  }
}

function launcher(nproc: number): string[] {
  return nproc > 1
    ? ['torchrun', `--nproc_per_node=${nproc}`, TRAIN_SCRIPT]
    : ['python3', '-u', TRAIN_SCRIPT];
}

/**
 * `torchrun --nproc_per_node=N experiments/train.py` (N > 1) or `python3 -u experiments/train.py`,
 * then always `--config C --run-dir D --batch-size B --grad-accum G` and the run's extra arguments.
 * `opts.config` overrides the run's config (still subject to forbidden_configs).
 */
export function buildTrainerArgv(
  run: RunSpec,
  fleet: Pick<Fleet, 'policy'>,
  gpu: { name: string; count: number },
  opts: { config?: string } = {},
): string[] {
  const { policy } = fleet;
  if (typeof run.name !== 'string' || !SAFE_NAME.test(run.name)) {
    throw unsafe('run name', run.name, 'is not letters, digits, . _ - (max 64)');
  }
  const config = checkRelPath(`config of ${run.name}`, opts.config ?? run.config);
  if (!CONFIG_FILE.test(config)) throw unsafe(`config of ${run.name}`, config, 'is not a .yaml file');
  const runDir = checkRelPath(`run_dir of ${run.name}`, run.run_dir);
  requireConfigAllowed(run.name, config, policy);
  const gpuCheck = checkGpuAllowed(gpu.name, policy);
  if (!gpuCheck.ok) throw new PolicyViolation('gpu_blocked', gpuCheck.reason);
  const profile = findProfile(run, gpu.name, gpu.count);
  checkProfile(run, profile, gpu.count);
  const extraArgs: unknown = run.extra_args ?? [];
  if (!Array.isArray(extraArgs)) throw unsafe(`extra_args of ${run.name}`, extraArgs, 'is not a list');
  const extra = extraArgs.map((arg: unknown) => checkExtraArg(run, arg, policy));
  return [
    ...launcher(profile.nproc),
    '--config',
    config,
    '--run-dir',
    runDir,
    '--batch-size',
    String(profile.batch_size),
    '--grad-accum',
    String(profile.grad_accum),
    ...extra,
  ];
}
