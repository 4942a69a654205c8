import { createRng } from '../../sim/vast/rng.js';

/**
 * The campaign's fault schedule: seeded, in clock time from the campaign's start, so every
 * strategy meets the same faults at the same moments. Pure.
 */

export type CampaignFaultKind =
  | 'outbid'
  | 'host_gone'
  | 'stall'
  | 'crash_oom'
  | 'crash_nccl'
  | 'crash_killed'
  | 'nan'
  | 'disk_fill';

export interface CampaignFault {
  /** Clock ms after the campaign's start. */
  atMs: number;
  run: string;
  fault: CampaignFaultKind;
  /** disk_fill: how full the disk gets, percent. */
  pct?: number;
}

export interface ScheduleOptions {
  seed: number;
  runs: readonly string[];
  /** Faults fall in [fromMs, toMs) after the start. */
  fromMs: number;
  toMs: number;
  /** How many of each kind. */
  mix: Partial<Record<CampaignFaultKind, number>>;
  /** Two faults of one run are at least this far apart, so each recovery can finish first. */
  minGapPerRunMs: number;
  /** disk_fill level (default 85%: above the 70% warning, below the 90% critical). */
  diskFillPct?: number;
}

const MAX_TRIES = 10_000;

/** The same options always give the same schedule, sorted by time. */
export function faultSchedule(options: ScheduleOptions): CampaignFault[] {
  const { runs, fromMs, toMs, minGapPerRunMs } = options;
  if (runs.length === 0) throw new RangeError('a fault schedule needs at least one run');
  if (!(toMs > fromMs)) throw new RangeError('the fault window must not be empty');
  const rng = createRng(options.seed);
  const kinds = (Object.entries(options.mix) as [CampaignFaultKind, number][]).flatMap(([kind, n]) =>
    Array.from({ length: n }, () => kind),
  );
  const placed: CampaignFault[] = [];
  for (const kind of kinds) {
    let tries = 0;
    for (;;) {
      if (++tries > MAX_TRIES) {
        throw new RangeError(`cannot place ${kinds.length} faults ${minGapPerRunMs} ms apart per run`);
      }
      const run = rng.pick(runs);
      const atMs = Math.round(rng.between(fromMs, toMs));
      const clash = placed.some((f) => f.run === run && Math.abs(f.atMs - atMs) < minGapPerRunMs);
      if (clash) continue;
      placed.push({
        atMs,
        run,
        fault: kind,
        ...(kind === 'disk_fill' && { pct: options.diskFillPct ?? 85 }),
      });
      break;
    }
  }
  return placed.sort((a, b) => a.atMs - b.atMs);
}
