import os from 'node:os';
import { ConductorError } from '../../errors.js';
import { slackWebClient } from '../../service/slack-app.js';
import { VIEWER_USER_ID } from '../../sim/slack/index.js';
import { type BurstResult, type BurstTarget, fireBurst } from './burst.js';
import { type EffectSources, type EffectsResult, waitForEffects } from './effects.js';
import { type LoadRequest, percentile, planRequests } from './plan.js';
import { type PostedProposal, postProposals } from './proposals.js';
import { type LoadStack, startLoadStack } from './stack.js';
import {
  type ProcessSweeps,
  readSweeps,
  type SweepSummary,
  serverAcks,
  summariseSweeps,
  sweepsPerProcess,
} from './sweeps.js';

/**
 * The load benchmark end to end: bring the deployment up, let it sweep the whole fleet, then,
 * while a sweep is running, send every request at once and account for each one.
 */

export interface LoadOptions {
  hosts: number;
  requests: number;
  workers: number;
  redisUrl: string;
  prefix?: string;
  sweepIntervalS?: number;
  /** Full sweeps to wait for before reporting (default 3). */
  minSweeps?: number;
  /** How long to wait for every process to have swept once before the burst. */
  warmTimeoutMs?: number;
  log?: (text: string) => void;
}

export interface SweepAttribution {
  /** The process whose sweep was running as the burst arrived; null when none finished in time. */
  process: string | null;
  /** Whether that was its first sweep, i.e. it was opening its SSH connections. */
  firstForProcess: boolean;
}

export interface AckFigures {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** p50 per request kind. */
  byKind: Record<'status' | 'journal' | 'approve', number>;
}

export interface LoadReport {
  hosts: number;
  requests: number;
  proposals: number;
  processes: number;
  ack: AckFigures;
  burstWallMs: number;
  effects: EffectsResult;
  sweep: SweepSummary;
  perProcess: ProcessSweeps[];
  /** Whether a sweep held the sweep lock when the burst started. */
  sweepRunningAtBurst: boolean;
  sweepAtBurst: SweepAttribution;
  /** The machine's 1-minute load average as the burst started (other work skews latencies). */
  loadAverage: number;
  /** Acks the bot made during the burst by its own clock, and those within 100 ms. */
  botAcks: { total: number; within100Ms: number } | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() >= deadline)
      throw new ConductorError(`load: ${what} did not happen within ${timeoutMs} ms`);
    await sleep(200);
  }
}

async function firstFullSweep(stack: LoadStack, hosts: number, timeoutMs: number) {
  const monitor = stack.queues.queue('monitor');
  return until('a full sweep of the fleet', timeoutMs, async () => {
    const { sweeps } = await readSweeps(monitor);
    return sweeps.find((s) => s.runs === hosts) ?? null;
  });
}

function ackFigures(burst: BurstResult): AckFigures {
  const sorted = (kind?: string) =>
    burst.fired
      .filter((f) => kind === undefined || f.request.kind === kind)
      .map((f) => f.result.latencyMs)
      .sort((a, b) => a - b);
  const all = sorted();
  return {
    p50Ms: percentile(all, 50),
    p99Ms: percentile(all, 99),
    maxMs: all.at(-1) ?? Number.NaN,
    byKind: {
      status: percentile(sorted('status'), 50),
      journal: percentile(sorted('journal'), 50),
      approve: percentile(sorted('approve'), 50),
    },
  };
}

/**
 * One of each request, answered before the burst: a service that has been up a while has its
 * code paths compiled and its connections open, and the burst should measure that service.
 */
async function warmUp(target: BurstTarget, sources: EffectSources, proposals: readonly PostedProposal[]) {
  const requests: LoadRequest[] = [
    { kind: 'status', run: null },
    { kind: 'journal' },
    { kind: 'approve', proposal: 0 },
  ];
  const burst = await fireBurst(target, requests, proposals);
  const { outcome } = await waitForEffects(sources, burst, proposals, 30_000);
  if (outcome.dropped > 0) throw new ConductorError('load: the warm-up requests were not all answered');
}

/** Time allowed for sweeps and effects: connecting to 1,000 hosts on a small machine takes a while. */
function budgets(hosts: number, proposals: number) {
  return {
    sweepMs: 60_000 + hosts * 150,
    // Answers, message updates and ops jobs all pass through the queues after the acks.
    effectsMs: 30_000 + proposals * 2_000,
  };
}

/** Which process ran the sweep in progress at `since`: the one whose sweep count grew first after it. */
async function sweeperAfter(
  stack: LoadStack,
  before: readonly ProcessSweeps[],
  since: number,
  timeoutMs: number,
): Promise<SweepAttribution> {
  const last = await until('a sweep finishing after the burst', timeoutMs, async () => {
    const value = Number(await stack.store.getMeta('last_sweep'));
    return value > since ? value : null;
  }).catch(() => null);
  if (last === null) return { process: null, firstForProcess: false };
  const after = await sweepsPerProcess(stack.processes);
  const grown = after.find((p, i) => p.sweeps > (before[i]?.sweeps ?? 0));
  const earlier = before.find((p) => p.name === grown?.name)?.sweeps ?? 0;
  return { process: grown?.name ?? null, firstForProcess: grown !== undefined && earlier === 0 };
}

async function settleEffects(
  sources: EffectSources,
  burst: BurstResult,
  proposals: readonly PostedProposal[],
  timeoutMs: number,
): Promise<EffectsResult> {
  const first = await waitForEffects(sources, burst, proposals, timeoutMs);
  // Look once more a little later: a second answer or job would arrive after the first.
  await sleep(2_000);
  return { ...(await waitForEffects(sources, burst, proposals, 0)), settledMs: first.settledMs };
}

/**
 * Waits until every sweeping process has swept once: a process's first sweep opens its SSH connections,
 * which is start-up cost, not the steady state the burst should meet.
 */
async function allProcessesSwept(stack: LoadStack, timeoutMs: number): Promise<boolean> {
  // The bot role only schedules sweeps; it never runs one.
  const sweepers = stack.processes.filter((p) => p.role !== 'bot');
  return until('a sweep by every process', timeoutMs, async () => {
    const counts = await sweepsPerProcess(sweepers);
    return counts.every((p) => p.sweeps > 0) ? true : null;
  }).catch(() => false);
}

/** Lets the fleet be swept a few more times, so the figures cover more than one process. */
async function awaitSweeps(stack: LoadStack, hosts: number, count: number, timeoutMs: number) {
  const monitor = stack.queues.queue('monitor');
  await until(`${count} full sweeps`, timeoutMs, async () => {
    const { sweeps } = await readSweeps(monitor);
    return sweeps.filter((s) => s.runs === hosts).length >= count ? true : null;
  }).catch(() => null);
}

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const log = options.log ?? (() => {});
  const stack = await startLoadStack({
    hosts: options.hosts,
    workers: options.workers,
    redisUrl: options.redisUrl,
    ...(options.prefix && { prefix: options.prefix }),
    ...(options.sweepIntervalS !== undefined && { sweepIntervalS: options.sweepIntervalS }),
    log,
  });
  try {
    const plan = planRequests(
      options.requests,
      stack.fleet.runs.map((r) => r.name),
    );
    const budget = budgets(options.hosts, plan.proposals);
    const first = await firstFullSweep(stack, options.hosts, budget.sweepMs);
    log(`first full sweep: ${first.durationMs.toFixed(0)} ms, ${first.probesOk}/${first.runs} probes ok`);

    const client = slackWebClient({ botToken: 'xoxb-load-bench', apiUrl: stack.slack.url });
    const deps = { store: stack.store, client, channel: stack.channel, now: () => Date.now() };
    const proposals = await postProposals(deps, stack.fleet.runs, plan.proposals);
    log(`${proposals.length} proposals stored and posted with Approve buttons`);
    const target: BurstTarget = {
      slack: stack.slack,
      channel: stack.channel,
      viewer: VIEWER_USER_ID,
      approver: stack.approver,
    };
    const sources = { slack: stack.slack, store: stack.store, ops: stack.queues.queue('ops') };
    await warmUp(target, sources, await postProposals(deps, stack.fleet.runs, 1));
    const warm = await allProcessesSwept(stack, options.warmTimeoutMs ?? budget.sweepMs * 3);
    log(warm ? 'every process has swept once: SSH pools warm' : 'not every process has swept yet');

    // Fire while a sweep holds the lock: the fleet is being swept as the requests land.
    const sweepLock = `${stack.prefix}:lock:sweep`;
    const sweepRunningAtBurst = await until('a sweep in progress', 60_000, async () =>
      (await stack.redis.exists(sweepLock)) === 1 ? true : null,
    ).catch(() => false);
    const before = await sweepsPerProcess(stack.processes);
    const bot = stack.processes.find((p) => p.role !== 'worker');
    const acksBefore = bot ? await serverAcks(bot.port, 0.1) : null;
    const loadAverage = os.loadavg()[0] ?? Number.NaN;
    const burst = await fireBurst(target, plan.requests, proposals);
    const acksAfter = bot ? await serverAcks(bot.port, 0.1) : null;
    // What the bot itself measured, from the request's arrival to its 200: apart from the time
    // the request spent being sent and delivered on a busy machine.
    const botAcks =
      acksBefore && acksAfter
        ? { total: acksAfter.total - acksBefore.total, within100Ms: acksAfter.within - acksBefore.within }
        : null;
    const ack = ackFigures(burst);
    log(
      `${plan.requests.length} requests in ${burst.end - burst.start} ms: ack p50 ${ack.p50Ms} ms, p99 ${ack.p99Ms} ms`,
    );

    const [sweepAtBurst, effects] = await Promise.all([
      sweeperAfter(stack, before, burst.start, budget.sweepMs),
      settleEffects(sources, burst, proposals, budget.effectsMs),
    ]);
    log(
      `the sweep running at the burst was ${sweepAtBurst.process ?? 'unknown'}'s${sweepAtBurst.firstForProcess ? ' first' : ''}`,
    );
    log(
      `effects settled ${(effects.settledMs / 1000).toFixed(1)} s after the burst: ${effects.outcome.dropped} dropped, ${effects.outcome.doneTwice} done twice`,
    );
    await awaitSweeps(stack, options.hosts, options.minSweeps ?? 3, budget.sweepMs);
    const sweep = summariseSweeps(await readSweeps(stack.queues.queue('monitor')), options.hosts, burst);
    const perProcess = await sweepsPerProcess(stack.processes);
    log(
      `${sweep.count} full sweeps: first ${(sweep.firstMs / 1000).toFixed(1)} s, p50 ${(sweep.p50Ms / 1000).toFixed(1)} s; by ${perProcess.map((p) => `${p.name} ${p.sweeps}`).join(', ')}`,
    );
    return {
      hosts: options.hosts,
      requests: plan.requests.length,
      proposals: proposals.length,
      processes: stack.processes.length,
      ack,
      burstWallMs: burst.end - burst.start,
      effects,
      sweep,
      perProcess,
      sweepRunningAtBurst,
      sweepAtBurst,
      loadAverage,
      botAcks,
    };
  } finally {
    await stack.close();
  }
}
