import type { RunHealth, Severity } from '../fleet/health/types.js';
import type { RunSpec } from '../fleet/schema.js';
import { type Block, context, divider, header, type SlackMessage, section } from './blocks.js';
import {
  formatDollars,
  formatFixed,
  formatHours,
  formatInt,
  formatPct,
  formatRelative,
  formatUtc,
  healthEmoji,
  humanize,
  oneLine,
  progressBar,
} from './format.js';
import { escapeAndTruncate, escapeMrkdwn, finalizeMessage, packLines, SLACK_LIMITS } from './limits.js';

export interface DigestInstance {
  id: number;
  gpuName: string;
  numGpus: number;
  dphTotal: number;
}

export interface DigestProgress {
  stepsPerHour: number | null;
  etaHours: number | null;
  pctComplete: number | null;
}

export interface DigestRun {
  spec: Pick<RunSpec, 'name' | 'target_steps'>;
  health: RunHealth | null;
  instance?: DigestInstance | null;
  progress: DigestProgress;
}

export interface StatusDigestInput {
  runs: readonly DigestRun[];
  openIncidents: number;
  totalCostHr: number;
  /** Epoch ms. */
  generatedAt: number;
}

export interface StatusDigestOptions {
  title?: string;
  /** Up to this many runs get a section each; more are condensed to one line each. */
  detailedMax?: number;
}

const DEFAULT_DETAILED_MAX = 20;
/** A health reading older than this is flagged in the digest: the monitor may be stuck. */
const STALE_OBSERVATION_MS = 15 * 60_000;
const REASON_MAX = 300;
/** A condensed digest stays readable on a phone: past this, runs are counted, not listed. */
const CONDENSED_BUDGET = 15_000;
const SEVERITY_RANK: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

function needsAttention(run: DigestRun): boolean {
  return run.health !== null && run.health.severity !== 'info';
}

function pctOf(run: DigestRun): number | null {
  if (run.progress.pctComplete !== null && Number.isFinite(run.progress.pctComplete)) {
    return run.progress.pctComplete;
  }
  const step = run.health?.step ?? null;
  if (step === null || !(run.spec.target_steps > 0)) return null;
  return (100 * step) / run.spec.target_steps;
}

function statusLabel(run: DigestRun): string {
  const h = run.health;
  if (h === null) return `:white_circle: *${escapeMrkdwn(run.spec.name)}* — no data yet`;
  return `${healthEmoji(h.status, h.severity)} *${escapeMrkdwn(run.spec.name)}* — ${humanize(h.status)}`;
}

function progressLine(run: DigestRun): string {
  const pct = pctOf(run);
  const bar = pct === null ? '' : `\`${progressBar(pct)}\` ${formatPct(pct)} · `;
  return `${bar}step ${formatInt(run.health?.step)} / ${formatInt(run.spec.target_steps)}`;
}

function lossText(health: RunHealth | null): string {
  if (health?.lossIsNaN === true) return 'loss NaN :warning:';
  return `loss ${formatFixed(health?.loss, 4)}`;
}

function metricsLine(run: DigestRun): string {
  return [
    `${formatInt(run.progress.stepsPerHour)} steps/h`,
    lossText(run.health),
    `ETA ${formatHours(run.progress.etaHours)}`,
    `${formatDollars(run.instance?.dphTotal, 3)}/h`,
    `disk ${formatPct(run.health?.diskPct)}`,
  ].join(' · ');
}

function instanceLine(instance: DigestInstance | null | undefined): string {
  if (instance === null || instance === undefined) return 'no instance';
  return `instance ${instance.id} · ${instance.numGpus}× ${escapeAndTruncate(oneLine(instance.gpuName), 100)}`;
}

function detailedRunText(run: DigestRun, now: number): string {
  const lines = [statusLabel(run), progressLine(run), metricsLine(run), instanceLine(run.instance)];
  const h = run.health;
  if (h !== null && h.status !== 'healthy' && h.reason.trim().length > 0) {
    lines.push(`_${escapeAndTruncate(oneLine(h.reason), REASON_MAX)}_`);
  }
  if (h !== null && now - h.observedAt > STALE_OBSERVATION_MS) {
    lines.push(`:warning: last observed ${formatRelative(h.observedAt, now)}`);
  }
  return lines.join('\n');
}

function condensedRunLine(run: DigestRun): string {
  const pct = pctOf(run);
  return [
    statusLabel(run),
    pct === null ? null : formatPct(pct),
    `step ${formatInt(run.health?.step)}/${formatInt(run.spec.target_steps)}`,
    `ETA ${formatHours(run.progress.etaHours)}`,
    `${formatDollars(run.instance?.dphTotal, 3)}/h`,
  ]
    .filter((part): part is string => part !== null)
    .join(' · ');
}

/** Problems first, so the runs that fall off a long list are the healthy ones. */
function byUrgency(a: DigestRun, b: DigestRun): number {
  const rank = (r: DigestRun) => (r.health === null ? 1.5 : SEVERITY_RANK[r.health.severity]);
  return rank(a) - rank(b);
}

function summary(input: StatusDigestInput): string {
  const n = input.runs.length;
  const healthy = input.runs.filter((r) => r.health?.status === 'healthy').length;
  const attention = input.runs.filter(needsAttention).length;
  const incidents = input.openIncidents;
  return (
    `${n} run${n === 1 ? '' : 's'} · ${healthy} healthy · ${attention} need attention · ` +
    `${incidents} open incident${incidents === 1 ? '' : 's'} · ${formatDollars(input.totalCostHr)}/h`
  );
}

function condensedBlocks(runs: readonly DigestRun[]): Block[] {
  // Header, summary, divider and the trailing notes take 5 blocks; the rest hold run lines.
  const maxChunks = SLACK_LIMITS.blocksPerMessage - 5;
  const lines = [...runs].sort(byUrgency).map(condensedRunLine);
  const { chunks, omitted } = packLines(lines, {
    maxChars: SLACK_LIMITS.sectionText,
    maxChunks,
    budget: CONDENSED_BUDGET,
  });
  const blocks: Block[] = chunks.map((chunk, i) => section(chunk, `runs-${i}`));
  if (omitted > 0) {
    blocks.push(
      context([`…and ${omitted} more run(s) not shown. \`/train status &lt;run&gt;\` shows one run.`]),
    );
  }
  blocks.push(context(['Condensed view: problems first. `/train status &lt;run&gt;` for details.']));
  return blocks;
}

/** The periodic (and `/train status`) digest of the whole fleet. */
export function renderStatusDigest(
  input: StatusDigestInput,
  options: StatusDigestOptions = {},
): SlackMessage {
  // Header, summary and divider take 3 blocks; a section per run must fit in the rest.
  const detailedMax = Math.min(
    options.detailedMax ?? DEFAULT_DETAILED_MAX,
    SLACK_LIMITS.blocksPerMessage - 3,
  );
  const title = options.title ?? 'Training fleet status';
  const blocks: Block[] = [
    header(title, 'digest-header'),
    context([`${summary(input)} · as of ${formatUtc(input.generatedAt)}`], 'digest-summary'),
    divider(),
  ];
  if (input.runs.length === 0) {
    blocks.push(section('No runs in the fleet yet. Add runs to the fleet file and restart.', 'runs-empty'));
  } else if (input.runs.length <= detailedMax) {
    input.runs.forEach((run, i) => {
      blocks.push(section(detailedRunText(run, input.generatedAt), `run-${i}`));
    });
  } else {
    blocks.push(...condensedBlocks(input.runs));
  }
  return finalizeMessage(`${escapeMrkdwn(title)}: ${summary(input)}`, blocks);
}
