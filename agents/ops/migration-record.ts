import type { Redis } from 'ioredis';
import { z } from 'zod';
import { parseStored } from '../../src/state/schemas.js';

/**
 * A migration's progress, persisted in Redis after every step, so the job can be killed at any
 * point and the next attempt resumes where it stopped. `phase` names the last step COMPLETED:
 *
 *   planned          candidates chosen, the old instance recorded     next: get an instance
 *   rented           an instance exists (rented, or found by label)   next: wait until running
 *   running          it runs and we know its SSH endpoint              next: pin its host key
 *   host_ready       host key pinned                                   next: bring the checkpoint
 *   checkpoint_ready latest.pt is on the new host (or a fresh start)   next: disk + config check
 *   disk_checked     disk cleaned per policy, config checked           next: launch
 *   launched         trainer started                                   next: verify progress
 *   verified         step advancing past the resumed checkpoint        next: destroy the old one
 *   old_destroyed    old instance destroyed (rule 7 checked)           next: record the new state
 *   done | failed    terminal
 */

export const MIGRATION_PHASES = [
  'planned',
  'rented',
  'running',
  'host_ready',
  'checkpoint_ready',
  'disk_checked',
  'launched',
  'verified',
  'old_destroyed',
  'done',
  'failed',
] as const;
export type MigrationPhase = (typeof MIGRATION_PHASES)[number];

const CandidateSchema = z.object({
  offerId: z.number().int(),
  gpuName: z.string(),
  numGpus: z.number().int(),
  /** What we pay per hour: the bid, or the on-demand price. */
  dph: z.number(),
  bid: z.number().nullable(),
  profileKey: z.string(),
});
export type MigrationCandidate = z.infer<typeof CandidateSchema>;

const OldInstanceSchema = z.object({
  instanceId: z.number().int().nullable(),
  sshHost: z.string().nullable(),
  sshPort: z.number().int().nullable(),
  gpuName: z.string().nullable(),
  costPerHr: z.number(),
  startedAt: z.number().nullable(),
  costAccrued: z.number(),
  step: z.number().nullable(),
  /** When it went down (our clock), if it was preempted: it stopped billing then. */
  downSince: z.number().nullable(),
});

const NewInstanceSchema = z.object({
  id: z.number().int(),
  offerId: z.number().int(),
  gpuName: z.string(),
  numGpus: z.number().int(),
  dph: z.number(),
  rentedAt: z.number(),
  adopted: z.boolean(),
  sshHost: z.string().nullable(),
  sshPort: z.number().int().nullable(),
});

export const MigrationRecordSchema = z.object({
  version: z.literal(1),
  key: z.string(),
  run: z.string(),
  proposalId: z.string().nullable(),
  label: z.string(),
  reason: z.string(),
  phase: z.enum(MIGRATION_PHASES),
  old: OldInstanceSchema,
  candidates: z.array(CandidateSchema),
  /** Index of the candidate being tried. */
  attempt: z.number().int().nonnegative(),
  /** Instances given up on (never reached running): never adopted again by label. */
  abandoned: z.array(z.number().int()),
  tried: z.array(z.object({ offerId: z.number().int(), outcome: z.string() })),
  instance: NewInstanceSchema.nullable(),
  checkpointSource: z.string().nullable(),
  /** The trainer on the old host was stopped (and the run marked stoppedByUs) to copy latest.pt. */
  oldStopped: z.boolean().default(false),
  launch: z.object({ at: z.number(), hostTime: z.number().nullable() }).nullable(),
  verified: z.object({ resumedStep: z.number(), step: z.number(), at: z.number() }).nullable(),
  oldDestroyedAt: z.number().nullable(),
  failure: z.string().nullable(),
  createdAt: z.number(),
  updatedAt: z.number(),
});
export type MigrationRecord = z.infer<typeof MigrationRecordSchema>;

/** Kept a week (real time) after the last step: long enough to answer "what happened?". */
const RECORD_TTL_MS = 7 * 86_400_000;

export function migrationRecordKey(prefix: string, key: string): string {
  return `${prefix}:ops:migration:${key}`;
}

export async function loadMigrationRecord(
  redis: Redis,
  prefix: string,
  key: string,
): Promise<MigrationRecord | null> {
  const redisKey = migrationRecordKey(prefix, key);
  const raw = await redis.get(redisKey);
  return raw === null ? null : parseStored(MigrationRecordSchema, raw, redisKey);
}

export async function saveMigrationRecord(
  redis: Redis,
  prefix: string,
  record: MigrationRecord,
): Promise<void> {
  const valid = MigrationRecordSchema.parse(record);
  await redis.set(migrationRecordKey(prefix, record.key), JSON.stringify(valid), 'PX', RECORD_TTL_MS);
}
