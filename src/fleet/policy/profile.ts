import { PolicyViolation, ValidationError } from '../../errors.js';
import type { GpuProfile, RunSpec } from '../schema.js';
import { gpuNameWords, withoutMemoryWords } from './gpu-name.js';

/**
 * Profile keys name a GPU model and count, like the training project's `RTX_3090_4x`.
 *
 * Normalisation (decided here, used everywhere): the name is upper-cased, split at every run of
 * characters that are not letters or digits (spaces, dashes, underscores...), vendor words
 * (NVIDIA, GeForce) are dropped, and the words are joined with `_`. So "RTX 3090", "rtx-3090" and
 * "NVIDIA GeForce RTX 3090" all give `RTX_3090_4x` for 4 GPUs. Memory sizes are kept by
 * profileKey ("A100-SXM4-80GB" -> `A100_SXM4_80GB_4x`) because a team may tune a profile per
 * memory size; findProfile falls back to the key without them (`A100_SXM4_4x`) when no
 * memory-specific profile exists.
 */

const MAX_GPUS = 99;
const KEY_SUFFIX = /^(.*)_([1-9][0-9]?)x$/i;

function checkGpuCount(numGpus: number): void {
  if (!Number.isInteger(numGpus) || numGpus < 1 || numGpus > MAX_GPUS) {
    throw new ValidationError(`GPU count must be an integer from 1 to ${MAX_GPUS}, got ${numGpus}`);
  }
}

function keyFromWords(words: readonly string[], numGpus: number): string {
  return `${words.join('_')}_${numGpus}x`;
}

export function profileKey(gpuName: string, numGpus: number): string {
  checkGpuCount(numGpus);
  const words = gpuNameWords(gpuName);
  if (words.length === 0) throw new ValidationError(`not a GPU model name: ${JSON.stringify(gpuName)}`);
  return keyFromWords(words, numGpus);
}

/** A configured key reduced to the same comparable form ("rtx3090_4X" equals "RTX_3090_4x"). */
function comparableKey(key: string): string | null {
  const match = KEY_SUFFIX.exec(key);
  if (!match?.[1] || !match[2]) return null;
  return `${gpuNameWords(match[1]).join('')}#${Number(match[2])}`;
}

function lookup(run: RunSpec, words: readonly string[], numGpus: number): GpuProfile | undefined {
  const wanted = `${words.join('')}#${numGpus}`;
  const exact = run.profiles[keyFromWords(words, numGpus)];
  if (exact) return exact;
  const entry = Object.entries(run.profiles).find(([key]) => comparableKey(key) === wanted);
  return entry?.[1];
}

/** The run's launch profile for this GPU model and count; PolicyViolation('no_profile') if none. */
export function findProfile(run: RunSpec, gpuName: string, numGpus: number): GpuProfile {
  const key = profileKey(gpuName, numGpus);
  const words = gpuNameWords(gpuName);
  const generic = withoutMemoryWords(words);
  const found =
    lookup(run, words, numGpus) ??
    (generic.length > 0 && generic.length < words.length ? lookup(run, generic, numGpus) : undefined);
  if (found) return found;
  const known = Object.keys(run.profiles);
  throw new PolicyViolation(
    'no_profile',
    `run ${run.name} has no profile ${key} for ${numGpus}x ${gpuName}; ` +
      (known.length > 0 ? `its profiles are ${known.join(', ')}` : 'it has no GPU profiles'),
  );
}
