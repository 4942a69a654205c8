import { z } from 'zod';
import { ValidationError } from '../errors.js';
import { ERROR_SIGNATURES, HEALTH_STATUSES, type RunHealth } from '../fleet/health/types.js';
import { JOURNAL_TYPES, type JournalEntry, type Proposal, type RunState } from './types.js';

/**
 * Everything read back from Redis or from the export sidecars is parsed here, so a corrupt value
 * becomes one clear ValidationError naming its key instead of a TypeError somewhere downstream.
 */

// Not `.int()`: a scaled clock with a fractional speed yields fractional milliseconds.
const epochMs = z.number().nonnegative();

export const RunStateSchema = z
  .object({
    run: z.string().min(1),
    instanceId: z.number().int().nullable(),
    sshHost: z.string().nullable(),
    sshPort: z.number().int().nullable(),
    gpuName: z.string().nullable(),
    numGpus: z.number().int().nullable(),
    costPerHr: z.number().nonnegative(),
    startedAt: epochMs.nullable(),
    costAccrued: z.number().nonnegative(),
    paused: z.boolean(),
    stoppedByUs: z.boolean(),
    complete: z.boolean(),
  })
  .strict() satisfies z.ZodType<RunState>;

export const RunHealthSchema = z
  .object({
    run: z.string().min(1),
    status: z.enum(HEALTH_STATUSES),
    severity: z.enum(['info', 'warning', 'critical']),
    reason: z.string(),
    since: epochMs,
    observedAt: epochMs,
    step: z.number().int().nullable(),
    stepChangedAt: epochMs.nullable(),
    // NaN and Infinity do not survive JSON (they become null), so these are nullable numbers.
    loss: z.number().nullable(),
    ppl: z.number().nullable(),
    tokS: z.number().nullable(),
    gpuUtil: z.number().nullable(),
    diskPct: z.number().nullable(),
    processAlive: z.boolean().nullable(),
    heartbeatAgeS: z.number().nullable(),
    tokSHistory: z.array(z.number()),
    stepHistory: z.array(z.tuple([z.number(), z.number()])),
    lossIsNaN: z.boolean().optional(),
    errorSignature: z.enum(ERROR_SIGNATURES).nullable().optional(),
    instanceId: z.number().int().nullable().optional(),
  })
  .strict() satisfies z.ZodType<RunHealth>;

export const ACTION_KINDS = [
  'restart',
  'clean_disk',
  'collect_logs',
  'stop',
  'migrate',
  'destroy',
  'finish',
] as const;

export const ProposalSchema = z
  .object({
    id: z.string().min(16),
    run: z.string().min(1),
    action: z.enum(ACTION_KINDS),
    reason: z.string(),
    params: z.record(z.string(), z.unknown()),
    createdAt: epochMs,
    expiresAt: epochMs,
    createdBy: z.string(),
    incidentId: z.string().exactOptional(),
  })
  .strict() satisfies z.ZodType<Proposal>;

export const JournalEntrySchema = z
  .object({
    timestamp: z.iso.datetime({ offset: false }),
    type: z.enum(JOURNAL_TYPES),
    model: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).exactOptional(),
  })
  .strict() satisfies z.ZodType<JournalEntry>;

/** Parses a JSON string read from `where` (a Redis key or a file) with `schema`. */
export function parseStored<T>(schema: z.ZodType<T>, raw: string, where: string): T {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new ValidationError(`${where}: stored value is not valid JSON`, { cause: err });
  }
  return parseValue(schema, value, where);
}

export function parseValue<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue?.path.length ? issue.path.map(String).join('.') : '(root)';
    throw new ValidationError(
      `${where}: stored value is invalid at ${path}: ${issue?.message ?? 'invalid'}`,
      {
        cause: result.error,
      },
    );
  }
  return result.data;
}
