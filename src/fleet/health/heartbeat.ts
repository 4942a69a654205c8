import { z } from 'zod';
import type { Heartbeat } from './types.js';

/**
 * Parsing `heartbeat.json` as the trainer writes it. Python's json.dumps emits bare `NaN`,
 * `Infinity` and `-Infinity` tokens, which JSON.parse rejects; a NaN loss is exactly the thing we
 * must notice, so those tokens are accepted (outside strings only). Each numeric field that held
 * one becomes null, and `lossIsNaN` records that the loss was non-finite. Never throws: a file
 * caught mid-write, an empty file or binary junk yields `{ ok: false, error }`.
 */

export type HeartbeatParse = { ok: true; heartbeat: Heartbeat } | { ok: false; error: string };

/** Far above the ~250-byte real file; a bigger one is not a heartbeat and not worth scanning. */
const MAX_HEARTBEAT_CHARS = 64 * 1024;

const NON_FINITE_TOKENS = ['-Infinity', 'Infinity', 'NaN'] as const;
type NonFiniteToken = (typeof NON_FINITE_TOKENS)[number];
const NON_FINITE_VALUES: Record<NonFiniteToken, number> = {
  '-Infinity': Number.NEGATIVE_INFINITY,
  Infinity: Number.POSITIVE_INFINITY,
  NaN: Number.NaN,
};

/** Optional numeric field: absent, null or non-finite all read as null. */
const optionalNumber = z
  .number()
  .nullish()
  .transform((v) => v ?? null);

const optionalString = z
  .string()
  .nullish()
  .transform((v) => v ?? null);

/**
 * `step` and `ts` are required: reading the step under a wrong name once made every run look
 * stalled, so a heartbeat without them is an error, not a zero.
 */
const HeartbeatSchema = z.object({
  step: z.number().int().nonnegative(),
  loss: optionalNumber,
  ppl: optionalNumber,
  tok_s: optionalNumber,
  gpu_util: optionalNumber,
  disk_pct: optionalNumber,
  ts: z.number().positive(),
  pid: z
    .number()
    .int()
    .nullish()
    .transform((v) => v ?? null),
  max_steps: z
    .number()
    .int()
    .nullish()
    .transform((v) => v ?? null),
  model: optionalString,
});

export function parseHeartbeat(text: string): HeartbeatParse {
  if (typeof text !== 'string') return { ok: false, error: 'heartbeat is not text' };
  if (text.trim() === '') return { ok: false, error: 'heartbeat file is empty' };
  if (text.length > MAX_HEARTBEAT_CHARS) {
    return { ok: false, error: `heartbeat is ${text.length} characters, over ${MAX_HEARTBEAT_CHARS}` };
  }
  if (looksBinary(text)) return { ok: false, error: 'heartbeat contains binary bytes, not JSON text' };

  const raw = parseJsonAllowingNonFinite(text);
  if (!raw.ok) return raw;
  if (raw.value === null || typeof raw.value !== 'object' || Array.isArray(raw.value)) {
    return { ok: false, error: 'heartbeat is not a JSON object' };
  }

  const record = raw.value as Record<string, unknown>;
  const lossIsNaN = typeof record['loss'] === 'number' && !Number.isFinite(record['loss']);
  const parsed = HeartbeatSchema.safeParse(nullNonFiniteFields(record));
  if (!parsed.success) return { ok: false, error: `heartbeat is invalid: ${describeIssues(parsed.error)}` };
  return { ok: true, heartbeat: { ...parsed.data, lossIsNaN } };
}

/** NUL, other C0 controls JSON never contains raw, or U+FFFD left by decoding non-UTF-8 bytes. */
function looksBinary(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    const allowedWhitespace = code === 0x09 || code === 0x0a || code === 0x0d;
    if ((code < 0x20 && !allowedWhitespace) || code === 0xfffd) return true;
  }
  return false;
}

type JsonParse = { ok: true; value: unknown } | { ok: false; error: string };

/**
 * Rewrites bare non-finite tokens found outside strings into sentinel strings, parses, and turns
 * the sentinels back into numbers. The sentinel is chosen so that it occurs nowhere in the input,
 * so a string value such as "NaN" or one that mimics a sentinel is never altered.
 */
function parseJsonAllowingNonFinite(text: string): JsonParse {
  // The usual heartbeat holds no such token: parse it as it is, without a rewritten copy.
  const plain = !NON_FINITE_TOKENS.some((t) => text.includes(t));
  const sentinel = plain ? '' : uniqueSentinel(text);
  try {
    const value: unknown = plain
      ? JSON.parse(text)
      : JSON.parse(rewriteNonFiniteTokens(text, sentinel), (_key, v: unknown) => reviveSentinel(v, sentinel));
    return { ok: true, value };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { ok: false, error: `heartbeat is not valid JSON (truncated or corrupt?): ${detail}` };
  }
}

function uniqueSentinel(text: string): string {
  let sentinel = '\u2063nonfinite';
  while (text.includes(sentinel)) sentinel += '\u2063';
  return sentinel;
}

function reviveSentinel(value: unknown, sentinel: string): unknown {
  if (typeof value !== 'string' || !value.startsWith(sentinel)) return value;
  const token = value.slice(sentinel.length);
  return isNonFiniteToken(token) ? NON_FINITE_VALUES[token] : value;
}

function isNonFiniteToken(token: string): token is NonFiniteToken {
  return (NON_FINITE_TOKENS as readonly string[]).includes(token);
}

/** One pass over the text, tracking whether we are inside a string (with escapes). */
function rewriteNonFiniteTokens(text: string, sentinel: string): string {
  let out = '';
  let inString = false;
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (inString) {
      if (ch === '\\') {
        out += text.slice(i, i + 2);
        i += 2;
        continue;
      }
      if (ch === '"') inString = false;
      out += ch;
      i += 1;
      continue;
    }
    if (ch === '"') {
      inString = true;
      out += ch;
      i += 1;
      continue;
    }
    const token = NON_FINITE_TOKENS.find((t) => text.startsWith(t, i) && !isWordChar(text[i + t.length]));
    if (token !== undefined) {
      out += JSON.stringify(sentinel + token);
      i += token.length;
      continue;
    }
    out += ch;
    i += 1;
  }
  return out;
}

function isWordChar(ch: string | undefined): boolean {
  return ch !== undefined && /[A-Za-z0-9_]/.test(ch);
}

function nullNonFiniteFields(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    out[key] = typeof value === 'number' && !Number.isFinite(value) ? null : value;
  }
  return out;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}
