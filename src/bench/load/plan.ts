import { createRng } from '../../sim/vast/rng.js';

/**
 * What arrives at once during the load benchmark, decided up front (pure, seeded): slash commands
 * a team types (`/train status` for the fleet or one run, `/train journal`) and Approve clicks,
 * some of them double clicks on the same proposal, which must still start the work only once.
 */

export type LoadRequest =
  | { kind: 'status'; run: string | null }
  | { kind: 'journal' }
  /** `proposal` indexes the proposals created for the burst. */
  | { kind: 'approve'; proposal: number };

export interface LoadPlan {
  requests: LoadRequest[];
  /** How many proposals to create (each clicked once or twice). */
  proposals: number;
}

/** Share of the burst that is Approve clicks; of those, the share that are second clicks. */
const CLICK_SHARE = 0.35;
const DOUBLE_CLICK_SHARE = 0.3;
const FLEET_STATUS_SHARE = 0.2;
const RUN_STATUS_SHARE = 0.2;

export function planRequests(total: number, runs: readonly string[], seed = 8): LoadPlan {
  if (!Number.isInteger(total) || total < 1)
    throw new RangeError(`total must be a positive integer, got ${total}`);
  if (runs.length === 0) throw new RangeError('no runs to ask about');
  const rng = createRng(seed);
  const clicks = Math.max(1, Math.round(total * CLICK_SHARE));
  const doubles = Math.floor(clicks * DOUBLE_CLICK_SHARE);
  const proposals = clicks - doubles;
  const fleetStatus = Math.round(total * FLEET_STATUS_SHARE);
  const runStatus = Math.round(total * RUN_STATUS_SHARE);
  const journal = Math.max(0, total - clicks - fleetStatus - runStatus);

  const requests: LoadRequest[] = [];
  for (let i = 0; i < proposals; i++) requests.push({ kind: 'approve', proposal: i });
  for (let i = 0; i < doubles; i++) requests.push({ kind: 'approve', proposal: i });
  for (let i = 0; i < fleetStatus; i++) requests.push({ kind: 'status', run: null });
  for (let i = 0; i < runStatus; i++) requests.push({ kind: 'status', run: rng.pick(runs) });
  for (let i = 0; i < journal; i++) requests.push({ kind: 'journal' });
  // Fisher-Yates: the kinds arrive interleaved, as they would from a team.
  for (let i = requests.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    const a = requests[i];
    const b = requests[j];
    if (a && b) {
      requests[i] = b;
      requests[j] = a;
    }
  }
  return { requests, proposals };
}

/** The slash command line for a command request. */
export function commandLine(request: Exclude<LoadRequest, { kind: 'approve' }>): string {
  if (request.kind === 'journal') return '/train journal';
  return request.run === null ? '/train status' : `/train status ${request.run}`;
}

/** Nearest-rank percentile of an ascending list; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}
