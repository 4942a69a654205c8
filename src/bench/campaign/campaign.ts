import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { adjustableClock, type Clock } from '../../clock.js';
import { type Config, loadConfig } from '../../config.js';
import type { Fleet } from '../../fleet/schema.js';
import { generateSshKeyPair } from '../../infra/ssh/keys.js';
import type { Logger } from '../../logger.js';
import { packageRoot } from '../../package-root.js';
import { ScenarioSchema } from '../../sim/scenario.js';
import { APPROVER_USER_ID } from '../../sim/slack/index.js';
import { type SimWorld, startSimWorld } from '../../sim/world.js';
import {
  accountStrategy,
  type IdealRun,
  type InstanceSample,
  idealTimeline,
  measureFirstInstance,
  type RunTarget,
  type StrategyAccount,
} from './accounting.js';
import { type ApprovalRecord, startApprover } from './approver.js';
import { type ConductorStack, startConductorStack } from './conductor-stack.js';
import { type HubBackups, hubBackups } from './hub-backup.js';
import { startLegacySupervisor } from './legacy.js';
import {
  createRecorder,
  currentInstance,
  type InjectOutcome,
  injectFault,
  type WorldRecorder,
} from './recorder.js';
import type { CampaignFault } from './schedule.js';
import type { MarketOffer } from './settings.js';

/**
 * A training campaign in the simulator, three ways at once on one clock: the same three runs,
 * the same market, the same faults at the same clock times, supervised by Train Conductor, by
 * the legacy loop, and by nobody. Each world is watched from the outside (recorder.ts) and
 * scored by the same pure accounting (accounting.ts).
 */

export const STRATEGIES = ['conductor', 'legacy', 'none'] as const;
export type StrategyName = (typeof STRATEGIES)[number];

export interface CampaignSeed {
  run: string;
  gpu_name: string;
  num_gpus: number;
}

export interface CampaignSettings {
  /** Clock ms per real ms. */
  speed: number;
  seeds: readonly CampaignSeed[];
  /** Every run starts here (checkpoints in place when above 0) and is complete at `targetStep`. */
  startStep: number;
  targetStep: number;
  faults: readonly CampaignFault[];
  /** Clock ms the human takes to approve a proposal or acknowledge a page. */
  approvalDelayMs: number;
  /** A run whose valid step has not risen for this long (clock ms) is given up on. */
  stuckAfterMs: number;
  /** The campaign ends at the latest this long (clock ms) after its start. */
  maxClockMs: number;
  /** Clock ms between samples of the worlds. */
  sampleEveryMs: number;
  /** Offers added to every world's market before the start. */
  market: readonly MarketOffer[];
}

export interface InjectedFault {
  fault: CampaignFault;
  outcomes: Record<StrategyName, InjectOutcome>;
}

export interface CampaignResult {
  settings: CampaignSettings;
  startAt: number;
  endAt: number;
  realSeconds: number;
  accounts: Record<StrategyName, StrategyAccount>;
  ideal: StrategyAccount;
  pages: Record<StrategyName, number>;
  injected: InjectedFault[];
  approvals: readonly ApprovalRecord[];
  acks: number;
  legacyRestarts: number;
  hubUploads: number;
  /** Train Conductor's sweeps: how many, and how long each took in real time. */
  sweeps: { count: number; meanRealMs: number };
  /** Train Conductor's journal, oldest first, timed in clock hours from the start. */
  journal: { hours: number; type: string; run: string; message: string }[];
  /** What Train Conductor believed of each run at the end (its store), next to the world's truth. */
  views: RunView[];
  /** Each strategy's timeline, as recorded. */
  samples: Record<StrategyName, readonly InstanceSample[]>;
}

export interface RunView {
  run: string;
  /** The instance the service has on record, and the run's current instance in the world. */
  recordedInstance: number | null;
  actualInstance: number | null;
  status: string | null;
  reason: string | null;
}

export interface CampaignDeps {
  redisUrl: string;
  logger: Logger;
  log: (text: string) => void;
}

const HF_TOKEN = 'hf_campaign_simulated_token';

/** fleet.example.yaml as it ships (its runs back up to the Hub, so a migration can restore). */
function campaignConfig(redisUrl: string, stateDir: string): Config {
  return loadConfig({
    FLEET_FILE: path.join(packageRoot(), 'fleet.example.yaml'),
    KEY_PREFIX: `tcc-${Date.now().toString(36)}-${process.pid}`,
    STATE_DIR: stateDir,
    REDIS_URL: redisUrl,
    // The hub CLI on the hosts needs a token; the simulated hub accepts any.
    HF_TOKEN,
    SLACK_APPROVERS: APPROVER_USER_ID,
    SLACK_ONCALL: 'SONCALL',
    LOG_LEVEL: 'silent',
  });
}

async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

function finished(
  recorders: readonly WorldRecorder[],
  targetStep: number,
  now: number,
  stuckAfterMs: number,
): boolean {
  return recorders.every((rec) =>
    [...rec.progress.values()].every((p) => p.highWater >= targetStep || now - p.lastGainAt >= stuckAfterMs),
  );
}

function progressLine(name: string, rec: WorldRecorder): string {
  const runs = [...rec.progress.entries()].map(([run, p]) => `${run} ${p.highWater}`);
  return `${name}: ${runs.join(', ')}`;
}

/** The ideal: each run on its first instance, at the speed it trained there before any fault. */
function idealAccount(
  samples: WorldRecorder['samples'],
  targets: readonly RunTarget[],
  faults: readonly CampaignFault[],
  startAt: number,
  endAt: number,
): StrategyAccount {
  const runs: IdealRun[] = [];
  for (const target of targets) {
    const first = faults.find((f) => f.run === target.run);
    const until = first ? startAt + first.atMs : endAt;
    const measured = measureFirstInstance(samples, target, startAt, until);
    if (measured) runs.push({ ...target, ...measured });
  }
  return accountStrategy(idealTimeline(runs, startAt), targets, {
    startAt,
    endAt: Number.POSITIVE_INFINITY,
  });
}

async function startWorlds(
  settings: CampaignSettings,
  fleet: Fleet,
  clock: Clock,
  authorizedKey: string,
  logger: Logger,
): Promise<Record<StrategyName, SimWorld>> {
  const scenario = ScenarioSchema.parse({
    name: 'campaign',
    speed: settings.speed,
    runs: settings.seeds.map((s) => ({ ...s, step: settings.startStep })),
    faults: [],
  });
  const worlds: Partial<Record<StrategyName, SimWorld>> = {};
  for (const name of STRATEGIES) {
    const world = await startSimWorld({
      clock,
      fleet,
      scenario,
      authorizedKey,
      logger: logger.child({ world: name }),
      hfToken: HF_TOKEN,
    });
    for (const offer of settings.market) world.vast.control.addOffer({ ...offer });
    worlds[name] = world;
  }
  return worlds as Record<StrategyName, SimWorld>;
}

interface Strategies {
  worlds: Record<StrategyName, SimWorld>;
  recorders: Record<StrategyName, WorldRecorder>;
}

/** Applies the faults whose time has come to every world alike. */
async function injectDue(
  pending: CampaignFault[],
  elapsedMs: number,
  { worlds, recorders }: Strategies,
): Promise<InjectedFault[]> {
  const done: InjectedFault[] = [];
  while (pending[0] && pending[0].atMs <= elapsedMs) {
    const fault = pending.shift()!;
    const outcomes = {} as Record<StrategyName, InjectOutcome>;
    for (const name of STRATEGIES) {
      outcomes[name] = await injectFault(worlds[name], recorders[name], fault.run, fault.fault, fault.pct);
    }
    done.push({ fault, outcomes });
  }
  return done;
}

const hoursSince = (from: number, to: number) => ((to - from) / 3_600_000).toFixed(1);

/** Samples and injects until every run is finished or stuck everywhere; returns the end time. */
async function drive(
  settings: CampaignSettings,
  strategies: Strategies,
  ctx: {
    clock: Clock;
    startAt: number;
    backups: HubBackups[];
    injected: InjectedFault[];
    log: (t: string) => void;
  },
): Promise<number> {
  const { clock, startAt, log } = ctx;
  const pending = [...settings.faults].sort((a, b) => a.atMs - b.atMs);
  let nextReport = startAt;
  for (;;) {
    const now = clock.now();
    for (const b of ctx.backups) b.sync();
    for (const name of STRATEGIES) strategies.recorders[name].sample();
    for (const done of await injectDue(pending, now - startAt, strategies)) {
      ctx.injected.push(done);
      log(`${hoursSince(startAt, now)} h: ${done.fault.fault} on ${done.fault.run}`);
    }
    if (now >= nextReport) {
      const lines = STRATEGIES.map((n) => progressLine(n, strategies.recorders[n]));
      log(`${hoursSince(startAt, now)} h: ${lines.join(' | ')}`);
      nextReport = now + 5 * 3_600_000;
    }
    const recorders = Object.values(strategies.recorders);
    const done = pending.length === 0 && finished(recorders, settings.targetStep, now, settings.stuckAfterMs);
    if (done || now - startAt >= settings.maxClockMs) return now;
    await clock.sleep(settings.sampleEveryMs);
  }
}

async function sweepStats(stack: ConductorStack): Promise<CampaignResult['sweeps']> {
  const values = (await stack.ctx.metrics.sweepDuration.get()).values;
  const count = values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
  const sum = values.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
  return { count, meanRealMs: (sum / Math.max(1, count)) * 1000 };
}

async function journalOf(stack: ConductorStack, startAt: number): Promise<CampaignResult['journal']> {
  return (await stack.ctx.store.journal.recent(5000)).map((r) => ({
    hours: (Date.parse(r.entry.timestamp) - startAt) / 3_600_000,
    type: r.entry.type,
    run: r.entry.model,
    message: r.entry.message,
  }));
}

async function viewsOf(stack: ConductorStack, world: SimWorld, runs: readonly string[]): Promise<RunView[]> {
  return Promise.all(
    runs.map(async (run) => {
      const health = await stack.ctx.store.getHealth(run);
      return {
        run,
        recordedInstance: (await stack.ctx.store.getRunState(run))?.instanceId ?? null,
        actualInstance: currentInstance(world, run) ?? null,
        status: health?.status ?? null,
        reason: health?.reason ?? null,
      };
    }),
  );
}

export async function runCampaign(settings: CampaignSettings, deps: CampaignDeps): Promise<CampaignResult> {
  const { log, logger } = deps;
  const realStart = performance.now();
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'tc-campaign-'));
  const config = campaignConfig(deps.redisUrl, stateDir);
  const fleet = config.fleet;
  const keys = generateSshKeyPair();
  const teardown: (() => Promise<unknown>)[] = [
    async () => rmSync(stateDir, { recursive: true, force: true }),
    () => deleteKeys(deps.redisUrl, config.keyPrefix),
  ];
  try {
    // Slow while the worlds are seeded, so every strategy's trainers start at the same clock time.
    const clock = adjustableClock(1);
    const worlds = await startWorlds(settings, fleet, clock, keys.public, logger);
    for (const name of STRATEGIES) teardown.push(() => worlds[name].close());
    clock.setSpeed(settings.speed);
    const startAt = clock.now();
    const runs = settings.seeds.map((s) => s.run);
    const recorders = Object.fromEntries(
      STRATEGIES.map((name) => [name, createRecorder(worlds[name], runs, clock, fleet.paths.log)]),
    ) as Record<StrategyName, WorldRecorder>;
    const backups = STRATEGIES.map((name) => hubBackups(worlds[name], fleet, clock));
    // The first look at the start line, before anything (the service's start-up included) takes time.
    for (const name of STRATEGIES) recorders[name].sample();

    const stack = await startConductorStack({
      config,
      world: worlds.conductor,
      clock,
      redisUrl: deps.redisUrl,
      privateKey: keys.private,
      logger,
    });
    teardown.push(() => stack.stop());
    const legacy = startLegacySupervisor({
      world: worlds.legacy,
      fleet,
      gpus: new Map(settings.seeds.map((s) => [s.run, { name: s.gpu_name, count: s.num_gpus }])),
      clock,
    });
    teardown.push(() => legacy.stop());
    const approver = startApprover({
      redis: stack.ctx.redis,
      prefix: config.keyPrefix,
      store: stack.ctx.store,
      queues: stack.ctx.queues,
      clock,
      logger,
      delayMs: settings.approvalDelayMs,
      user: APPROVER_USER_ID,
    });
    teardown.push(() => approver.stop());

    const injected: InjectedFault[] = [];
    const endAt = await drive(settings, { worlds, recorders }, { clock, startAt, backups, injected, log });
    const sweeps = await sweepStats(stack);
    const journal = await journalOf(stack, startAt);
    const views = await viewsOf(stack, worlds.conductor, runs);

    const targets: RunTarget[] = runs.map((run) => ({
      run,
      startStep: settings.startStep,
      targetStep: settings.targetStep,
    }));
    const accounts = Object.fromEntries(
      STRATEGIES.map((name) => [name, accountStrategy(recorders[name].samples, targets, { startAt, endAt })]),
    ) as Record<StrategyName, StrategyAccount>;
    return {
      settings,
      startAt,
      endAt,
      realSeconds: (performance.now() - realStart) / 1000,
      accounts,
      ideal: idealAccount(recorders.none.samples, targets, settings.faults, startAt, endAt),
      // The legacy setup's desktop notifications never reached a phone; nobody pages when nobody watches.
      pages: { conductor: stack.pages, legacy: 0, none: 0 },
      injected,
      approvals: approver.approvals,
      acks: approver.acks,
      legacyRestarts: legacy.restarts,
      hubUploads: backups.reduce((s, b) => s + b.uploads, 0),
      sweeps,
      journal,
      views,
      samples: {
        conductor: recorders.conductor.samples,
        legacy: recorders.legacy.samples,
        none: recorders.none.samples,
      },
    };
  } finally {
    // Newest first: the human and the loops, the service, the worlds, then Redis keys and files.
    for (const step of teardown.reverse()) await step().catch(() => {});
  }
}
