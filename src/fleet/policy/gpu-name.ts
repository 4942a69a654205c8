/**
 * GPU model names arrive spelled many ways: Vast.ai says "RTX 3090" and "A100 SXM4", nvidia-smi
 * says "NVIDIA GeForce RTX 3090", people type "rtx_3090" or "A100-SXM4-80GB". These helpers reduce
 * a name to comparable tokens so the profile lookup and the blocklist cannot be dodged by spelling.
 */

/** Vendor words that say nothing about the model ("GeForce RTX 5090" is an "RTX 5090"). */
const VENDOR_WORDS = new Set(['NVIDIA', 'GEFORCE']);

/** A memory-size word such as `80GB`: offers report memory separately, profiles rarely name it. */
const MEMORY_WORD = /^[0-9]+GB$/;

/** Upper-cased words of a GPU name, split at anything that is not a letter or digit. */
export function gpuNameWords(name: string): string[] {
  return name
    .toUpperCase()
    .split(/[^A-Z0-9]+/)
    .filter((w) => w !== '' && !VENDOR_WORDS.has(w));
}

/** The words without memory sizes: "A100-SXM4-80GB" and "A100 SXM4" describe the same profile. */
export function withoutMemoryWords(words: readonly string[]): string[] {
  return words.filter((w) => !MEMORY_WORD.test(w));
}

/**
 * Finer tokens for containment tests: words are also split where letters meet digits, so that
 * "RTX5090" and "RTX 5090" agree while "A1000" is still not an "A100".
 */
export function gpuNameTokens(name: string): string[] {
  return gpuNameWords(name).flatMap((w) => w.match(/[A-Z]+|[0-9]+/g) ?? []);
}

/** True when `needle` occurs as a contiguous run of whole tokens inside `haystack`. */
export function containsTokens(haystack: readonly string[], needle: readonly string[]): boolean {
  if (needle.length === 0 || needle.length > haystack.length) return false;
  for (let start = 0; start + needle.length <= haystack.length; start++) {
    if (needle.every((token, i) => haystack[start + i] === token)) return true;
  }
  return false;
}
