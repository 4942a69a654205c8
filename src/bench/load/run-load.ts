import { ConductorError } from '../../errors.js';
import { slackWebClient } from '../../service/slack-app.js';
import { VIEWER_USER_ID } from '../../sim/slack/index.js';
import { type BurstResult, fireBurst } from './burst.js';
import { type EffectsResult, waitForEffects } from './effects.js';
import { percentile, planRequests } from './plan.js';
import { postProposals } from './proposals.js';
import { type LoadStack, startLoadStack } from './stack.js';
import {
  type ProcessSweeps,
  readSweeps,
  type SweepSummary,
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
  log?: (text: string) => void;
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

/** Time allowed for sweeps and effects: connecting to 1,000 hosts on a small machine takes a while. */
function budgets(hosts: number, proposals: number) {
  return {
    firstSweepMs: 60_000 + hosts * 150,
    // Approvals update their messages through the notify queue at ~1 message/s per channel.
    effectsMs: 30_000 + proposals * 2_000,
  };
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
    const first = await firstFullSweep(stack, options.hosts, budget.firstSweepMs);
    log(`first full sweep: ${first.durationMs.toFixed(0)} ms, ${first.probesOk}/${first.runs} probes ok`);

    const client = slackWebClient({ botToken: 'xoxb-load-bench', apiUrl: stack.slack.url });
    const proposals = await postProposals(
      { store: stack.store, client, channel: stack.channel, now: () => Date.now() },
      stack.fleet.runs,
      plan.proposals,
    );
    log(`${proposals.length} proposals stored and posted with Approve buttons`);

    // Fire while a sweep holds the lock: the fleet is being swept as the requests land.
    const sweepLock = `${stack.prefix}:lock:sweep`;
    const sweepRunningAtBurst = await until('a sweep in progress', 60_000, async () =>
      (await stack.redis.exists(sweepLock)) === 1 ? true : null,
    ).catch(() => false);
    const burst = await fireBurst(
      { slack: stack.slack, channel: stack.channel, viewer: VIEWER_USER_ID, approver: stack.approver },
      plan.requests,
      proposals,
    );
    const ack = ackFigures(burst);
    log(
      `${plan.requests.length} requests in ${burst.end - burst.start} ms: ack p50 ${ack.p50Ms} ms, p99 ${ack.p99Ms} ms`,
    );

    const sources = { slack: stack.slack, store: stack.store, ops: stack.queues.queue('ops') };
    let effects = await waitForEffects(sources, burst, proposals, budget.effectsMs);
    // Look once more a little later: a second answer or job would arrive after the first.
    await sleep(2_000);
    const settledMs = effects.settledMs;
    effects = { ...(await waitForEffects(sources, burst, proposals, 0)), settledMs };
    log(
      `effects settled ${(settledMs / 1000).toFixed(1)} s after the burst: ${effects.outcome.dropped} dropped, ${effects.outcome.doneTwice} done twice`,
    );

    // A sweep that started before the burst ended must have finished for its time to count.
    await until('a sweep after the burst', budget.firstSweepMs, async () => {
      const last = Number(await stack.store.getMeta('last_sweep'));
      return last > burst.end ? last : null;
    }).catch(() => null);
    const sweep = summariseSweeps(await readSweeps(stack.queues.queue('monitor')), options.hosts, burst);
    const perProcess = await sweepsPerProcess(stack.processes);
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
    };
  } finally {
    await stack.close();
  }
}
