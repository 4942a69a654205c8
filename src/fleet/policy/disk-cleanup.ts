import type { CheckpointFile } from '../health/types.js';
import type { Policy } from '../schema.js';

/**
 * Rule 5: above the disk threshold, delete old `step_<N>.pt` checkpoints. The newest ones are
 * chosen by step number (step_10000 is newer than step_9000 though it sorts first by name), the
 * protected names are never touched, and only names that are exactly `step_<digits>.pt` are
 * candidates: anything else (`step_100.pt.tmp`, `../x`, names with spaces or shell text) is kept.
 */

export interface DiskCleanupPlan {
  needed: boolean;
  delete: CheckpointFile[];
  keep: CheckpointFile[];
  freedBytes: number;
  reason: string;
}

const STEP_CHECKPOINT = /^step_(\d+)\.pt$/;
/** Kept whatever the policy says: losing these loses the run's resume point or its result. */
const ALWAYS_PROTECTED = ['latest.pt', 'best.pt', 'final.pt'];
const MIN_KEEP = 2;

interface Candidate {
  file: CheckpointFile;
  /** The step as written in the name, without leading zeros, compared as a decimal string. */
  digits: string;
}

/** Exact comparison of decimal strings of any length (no float rounding for huge steps). */
function compareSteps(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

function stepDigits(name: string): string | null {
  const digits = STEP_CHECKPOINT.exec(name)?.[1];
  return digits === undefined ? null : digits.replace(/^0+(?=\d)/, '');
}

function sizeOf(file: CheckpointFile): number {
  return Number.isFinite(file.bytes) && file.bytes > 0 ? file.bytes : 0;
}

export function planDiskCleanup(
  files: readonly CheckpointFile[],
  diskPct: number,
  policy: Pick<Policy, 'disk_cleanup'>,
): DiskCleanupPlan {
  const { threshold_pct: threshold } = policy.disk_cleanup;
  const keepNewest = Math.max(MIN_KEEP, Math.floor(policy.disk_cleanup.keep_newest) || MIN_KEEP);
  const all = [...files];
  if (!Number.isFinite(diskPct)) {
    return { needed: false, delete: [], keep: all, freedBytes: 0, reason: 'disk usage is unknown' };
  }
  if (diskPct <= threshold) {
    const reason = `disk at ${diskPct}% is not above ${threshold}%`;
    return { needed: false, delete: [], keep: all, freedBytes: 0, reason };
  }
  const protectedNames = new Set([...ALWAYS_PROTECTED, ...policy.disk_cleanup.protected]);
  const candidates: Candidate[] = [];
  for (const file of all) {
    const digits = protectedNames.has(file.name) ? null : stepDigits(file.name);
    if (digits !== null) candidates.push({ file, digits });
  }
  candidates.sort((a, b) => compareSteps(b.digits, a.digits));
  const doomed = new Set(candidates.slice(keepNewest).map((c) => c.file));
  const toDelete = all.filter((f) => doomed.has(f));
  const keep = all.filter((f) => !doomed.has(f));
  const freedBytes = toDelete.reduce((sum, f) => sum + sizeOf(f), 0);
  const reason =
    toDelete.length > 0
      ? `disk at ${diskPct}% is above ${threshold}%: deleting ${toDelete.length} old step checkpoints, keeping the newest ${Math.min(keepNewest, candidates.length)}`
      : `disk at ${diskPct}% is above ${threshold}% but there are only ${candidates.length} step checkpoints and the newest ${keepNewest} are always kept`;
  return { needed: true, delete: toDelete, keep, freedBytes, reason };
}
