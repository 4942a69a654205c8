import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMigrationRecord } from '../../../agents/ops/migration-record.js';
import { type Approver, startApprover } from '../../../src/bench/campaign/approver.js';
import { hubBackups } from '../../../src/bench/campaign/hub-backup.js';
import { currentInstance } from '../../../src/bench/campaign/recorder.js';
import { marketDepth } from '../../../src/bench/campaign/settings.js';
import { scaledClock } from '../../../src/clock.js';
import { loadFleetFile } from '../../../src/config.js';
import { type RedisHandle, startPrivateRedis } from '../../../src/infra/redis/bootstrap.js';
import { generateSshKeyPair } from '../../../src/infra/ssh/keys.js';
import { redisHostKeyStore } from '../../../src/infra/ssh/redis-host-keys.js';
import { silentLogger } from '../../../src/logger.js';
import { Queues } from '../../../src/queues/queues.js';
import { type LocalSlack, startLocalSlack } from '../../../src/sim/slack/index.js';
import { createRng } from '../../../src/sim/vast/rng.js';
import { type SimWorld, startSimWorld } from '../../../src/sim/world.js';
import { JOURNAL_FILE } from '../../../src/state/journal-export.js';
import { Store } from '../../../src/state/store.js';
import type { JournalType } from '../../../src/state/types.js';
import { uniquePrefix } from '../../helpers/redis.js';
import { spawnWorker, type WorkerProcess, waitUntil, watchInstances } from './harness.js';
import type { WorkerSettings } from './worker-settings.js';

/**
 * Chaos during a short campaign: two worker processes killed with SIGKILL and restarted, Redis
 * (with persistence) restarted on its port, every SSH connection dropped, the Vast API failing
 * and losing a rent's answer, while an outbid, a crash and a stall need fixing. Afterwards no job
 * is lost, no instance was rented twice, journal.jsonl holds the Redis journal exactly once, and
 * every run is training again. Takes 80-150 s: a job of a killed worker resumes once BullMQ finds
 * it stalled (30-60 s), and a worker killed in the middle of a sweep leaves the sweep lock to
 * expire (120 s) before the next sweep.
 */

const SPEED = 60;
const FLEET_FILE = path.resolve('fleet.example.yaml');
const HF_TOKEN = 'hf_chaos_simulated_token';
const BOT_TOKEN = 'xoxb-chaos-token';
const CHANNEL = 'CTRAINOPS';
const RUNS = [
  { run: 'gpt2_reference', gpu_name: 'RTX 3090', num_gpus: 4, step: 40_000 },
  { run: 'mosaic_dense', gpu_name: 'A100 SXM4', num_gpus: 4, step: 40_000 },
  { run: 'mosaic_moe', gpu_name: 'RTX 3090', num_gpus: 8, step: 40_000 },
];
const MIN = 60_000;

interface Rig {
  prefix: string;
  redis: RedisHandle;
  redisPort: number;
  persistDir: string;
  stateDir: string;
  world: SimWorld;
  slack: LocalSlack;
  conn: Redis;
  store: Store;
  queues: Queues;
  workers: Map<string, WorkerProcess>;
  approver?: Approver;
  settingsFor(name: string): WorkerSettings;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

interface Log {
  push(what: string): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startRig(): Promise<Rig> {
  const persistDir = mkdtempSync(path.join(os.tmpdir(), 'tc-chaos-redis-'));
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'tc-chaos-state-'));
  cleanups.push(async () => rmSync(persistDir, { recursive: true, force: true }));
  cleanups.push(async () => rmSync(stateDir, { recursive: true, force: true }));
  const redis = await startPrivateRedis({ persistDir });
  const redisPort = Number(new URL(redis.url).port);
  const clock = scaledClock(SPEED);
  const keys = generateSshKeyPair();
  const keyFile = path.join(stateDir, 'id_ed25519');
  writeFileSync(keyFile, keys.private);
  chmodSync(keyFile, 0o600);
  const fleet = loadFleetFile(FLEET_FILE);
  const world = await startSimWorld({
    clock,
    fleet,
    scenario: { name: 'chaos', speed: SPEED, runs: RUNS, faults: [] },
    authorizedKey: keys.public,
    logger: silentLogger,
    hfToken: HF_TOKEN,
  });
  cleanups.push(() => world.close());
  for (const offer of marketDepth(7)) world.vast.control.addOffer({ ...offer });
  const slack = await startLocalSlack({ signingSecret: 'chaos-secret', botToken: BOT_TOKEN, clock });
  cleanups.push(() => slack.close());

  const prefix = uniquePrefix('chaos');
  const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
  conn.on('error', () => {});
  const store = new Store({ redis: conn, prefix, clock, logger: silentLogger });
  const queues = new Queues({ redisUrl: redis.url, prefix, logger: silentLogger });
  const hostKeys = redisHostKeyStore(conn, prefix);
  for (const [id, key] of world.hostKeys) await hostKeys.set(id, key);
  const origin = { clockMs: clock.now(), realMs: Date.now(), speed: SPEED };
  const rig: Rig = {
    prefix,
    redis,
    redisPort,
    persistDir,
    stateDir,
    world,
    slack,
    conn,
    store,
    queues,
    workers: new Map(),
    settingsFor: (name) => ({
      name,
      redisUrl: redis.url,
      keyPrefix: prefix,
      stateDir,
      fleetFile: FLEET_FILE,
      hfToken: HF_TOKEN,
      privateKeyFile: keyFile,
      vastUrl: world.vast.url,
      vastApiKey: world.apiKey,
      slackApiUrl: slack.url,
      botToken: BOT_TOKEN,
      channelId: CHANNEL,
      oncall: ['SONCALL'],
      clock: origin,
      sweepEveryRealMs: (fleet.thresholds.sweep_interval_s * 1000) / SPEED,
    }),
  };
  cleanups.push(async () => {
    for (const w of rig.workers.values()) await w.kill();
    await rig.approver?.stop();
    await queues.close();
    conn.disconnect();
    await rig.redis.stop();
  });
  return rig;
}

async function startWorker(rig: Rig, name: string): Promise<void> {
  const worker = spawnWorker(rig.settingsFor(name));
  rig.workers.set(name, worker);
  await worker.ready;
}

async function killAndRestart(rig: Rig, name: string, downMs: number, log: Log): Promise<void> {
  await rig.workers.get(name)?.kill();
  log.push(`${name} killed`);
  await sleep(downMs);
  await startWorker(rig, name);
  log.push(`${name} restarted`);
}

async function restartRedis(rig: Rig, log: Log): Promise<void> {
  await rig.redis.stop();
  log.push('redis stopped');
  await sleep(500);
  rig.redis = await startPrivateRedis({ persistDir: rig.persistDir, port: rig.redisPort });
  log.push('redis restarted');
}

function dropSsh(rig: Rig, log: Log): void {
  for (const host of rig.world.hosts.list()) host.onSshHang(false);
  log.push('ssh connections dropped');
}

/** Each run's current instance trains, advancing, and the service has it on record. */
async function everyRunSupervised(rig: Rig): Promise<string | null> {
  for (const { run } of RUNS) {
    const id = currentInstance(rig.world, run);
    const host = id === undefined ? undefined : rig.world.hosts.get(id);
    const status = host?.trainerStatus();
    if (status?.phase !== 'training' || status.stalled || status.nan) return `${run} not training`;
    if ((await rig.store.getRunState(run))?.instanceId !== id) return `${run} not on record`;
  }
  return null;
}

async function journalHas(rig: Rig, type: JournalType, run: string): Promise<boolean> {
  return (await rig.store.journal.recent(1, { run, type })).length > 0;
}

/** Incident kinds the rules act on (the others are watched, not acted on). */
const ACTIONABLE = new Set([
  'preempted',
  'crashed',
  'oom',
  'nccl_hang',
  'stalled',
  'nan',
  'disk_warning',
  'disk_critical',
]);

async function incidentIds(rig: Rig): Promise<string[]> {
  const ids: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await rig.conn.scan(cursor, 'MATCH', `${rig.prefix}:incident:*`, 'COUNT', 500);
    cursor = next;
    ids.push(...keys.map((k) => k.slice(`${rig.prefix}:incident:`.length)));
  } while (cursor !== '0');
  return ids;
}

/** Jobs still to run. Delayed notify jobs are the digest's next turn and pending re-pages: not owed work. */
async function unfinishedJobs(rig: Rig): Promise<number> {
  let n = 0;
  for (const name of ['healer', 'ops'] as const) {
    const counts = await rig.queues.queue(name).getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    n += Object.values(counts).reduce((s, c) => s + c, 0);
  }
  const notify = await rig.queues.queue('notify').getJobCounts('waiting', 'active', 'prioritized');
  return n + Object.values(notify).reduce((s, c) => s + c, 0);
}

describe('chaos during a short campaign', () => {
  it('loses no job, rents nothing twice, keeps the journal exact and leaves every run training', async () => {
    const rig = await startRig();
    const began = Date.now();
    const entries: string[] = [];
    const log = {
      push: (what: string) => entries.push(`${((Date.now() - began) / 1000).toFixed(1)}s ${what}`),
      join: (sep: string) => entries.join(sep),
    };
    const rng = createRng(20_261_129);
    const instances = watchInstances(rig.world);
    cleanups.push(async () => instances.stop());
    const backups = hubBackups(rig.world, loadFleetFile(FLEET_FILE), scaledClock(SPEED));
    const backupTimer = setInterval(() => backups.sync(), 100);
    cleanups.push(async () => clearInterval(backupTimer));
    await Promise.all([startWorker(rig, 'worker-a'), startWorker(rig, 'worker-b')]);
    rig.approver = startApprover({
      redis: rig.conn,
      prefix: rig.prefix,
      store: rig.store,
      queues: rig.queues,
      clock: scaledClock(SPEED),
      logger: silentLogger,
      delayMs: 2 * MIN,
      user: 'UAPPROVER',
    });
    const { control } = rig.world.vast;

    try {
      // The work: a migration (with its rent's answer lost), a crash to restart, a stall to notice.
      await control.fault({ kind: 'loseRentResponse', count: 1 });
      await rig.world.inject('gpt2_reference', 'outbid');
      log.push('outbid gpt2_reference');
      await control.fault({ kind: 'serverError', status: 502, count: 6 });
      await control.fault({ kind: 'rateLimit', count: 4 });
      // Both workers die at a random moment of the approved migration, then come back.
      const approval = await waitUntil(
        'the migration approved',
        async () => rig.approver?.approvals[0],
        30_000,
        50,
      );
      await sleep(rng.between(0, 1_500));
      const phase =
        (await loadMigrationRecord(rig.conn, rig.prefix, approval.proposalId))?.phase ?? 'not begun';
      await Promise.all(['worker-a', 'worker-b'].map((w) => rig.workers.get(w)?.kill()));
      log.push(`both workers killed (migration ${phase})`);
      await sleep(rng.between(500, 2_000));
      await Promise.all([startWorker(rig, 'worker-a'), startWorker(rig, 'worker-b')]);
      log.push('both workers restarted');
      await rig.world.inject('mosaic_moe', 'crash_oom');
      log.push('crash mosaic_moe');
      await control.fault({ kind: 'serverError', fraction: 0.3, pathPrefix: '/api/v0/instances/' });
      await sleep(rng.between(1_000, 3_000));
      dropSsh(rig, log);
      await restartRedis(rig, log);
      await rig.world.inject('mosaic_dense', 'stall');
      log.push('stall mosaic_dense');
      await sleep(rng.between(2_000, 8_000));
      control.clearFaults();
      await killAndRestart(rig, rng.pick(['worker-a', 'worker-b']), rng.between(500, 2_000), log);
      dropSsh(rig, log);
      await control.fault({ kind: 'rateLimit', count: 3 });

      // Recovery: every fix done, every run training, nothing left in the queues.
      const milestones: [string, () => Promise<boolean>][] = [
        ['gpt2_reference replaced', () => journalHas(rig, 'REPLACE', 'gpt2_reference')],
        ['mosaic_moe restarted', () => journalHas(rig, 'AUTO_RESTART', 'mosaic_moe')],
        ['mosaic_dense restarted', () => journalHas(rig, 'AUTO_RESTART', 'mosaic_dense')],
        ['every run supervised', async () => (await everyRunSupervised(rig)) === null],
        ['queues drained', async () => (await unfinishedJobs(rig)) === 0],
      ];
      const reached = new Set<string>();
      await waitUntil(
        'every fault fixed and every run supervised',
        async () => {
          for (const [name, check] of milestones) {
            if (reached.has(name) || !(await check())) continue;
            reached.add(name);
            log.push(name);
          }
          return milestones.every(([name]) => reached.has(name)) && (await everyRunSupervised(rig)) === null;
        },
        150_000,
        250,
      );
    } catch (err) {
      const journal = (await rig.store.journal.recent(200)).map(
        (r) => `${r.entry.type} ${r.entry.model}: ${r.entry.message}`,
      );
      const stderr = [...rig.workers.values()].flatMap((w) =>
        w.stderr.slice(-20).map((l) => `${w.name}: ${l}`),
      );
      throw new Error(
        `${(err as Error).message}\nchaos: ${log.join(', ')}\nsupervision: ${await everyRunSupervised(rig)}\njobs left: ${await unfinishedJobs(rig)}\njournal:\n${journal.join('\n')}\nworkers:\n${stderr.join('\n')}`,
      );
    }
    instances.stop();

    // No job lost: every approved proposal's job and every fix ran to completion, none failed.
    expect(rig.approver.approvals.length).toBeGreaterThan(0);
    for (const approval of rig.approver.approvals) {
      expect(approval.ok).toBe(true);
      const job = await rig.queues.queue('ops').getJob(`proposal-${approval.proposalId}`);
      expect(await job?.getState()).toBe('completed');
    }
    for (const name of ['healer', 'ops', 'notify'] as const) {
      expect((await rig.queues.queue(name).getJobCounts('failed')).failed, `${name} failed jobs`).toBe(0);
    }
    // Every incident that calls for action got its decision, whichever process opened it.
    const decided = new Set(
      (await rig.store.journal.recent(1000, { type: 'DECISION' })).map((r) => r.entry.details?.['incident']),
    );
    const incidents = await incidentIds(rig);
    expect(incidents.length).toBeGreaterThanOrEqual(3);
    for (const id of incidents) {
      const incident = await rig.store.incidents.get(id);
      if (incident && ACTIONABLE.has(incident.kind))
        expect(decided, `decision for ${incident.kind}`).toContain(id);
    }

    // No instance rented twice: one instance per migration label, and only the runs' own are left.
    const rented = [...instances.labels.entries()].filter(([, label]) => !label?.endsWith('-seed'));
    const byLabel = new Map<string, number[]>();
    for (const [id, label] of rented) byLabel.set(label ?? '', [...(byLabel.get(label ?? '') ?? []), id]);
    expect(rented.length).toBeGreaterThan(0);
    for (const [label, ids] of byLabel) expect(ids, `instances labelled ${label}`).toHaveLength(1);
    const rents = control
      .requests()
      .filter((r) => r.method === 'PUT' && r.path.startsWith('/api/v0/asks/') && [0, 200].includes(r.status));
    // Every rent the API carried out (answered or not) is one instance seen, the seeds' included.
    expect(rents).toHaveLength(instances.labels.size);
    expect(
      control
        .instances()
        .map((i) => i.id)
        .sort(),
    ).toEqual(RUNS.map((r) => currentInstance(rig.world, r.run)).sort());

    // The journal: journal.jsonl is the Redis stream, every line once, in order.
    await waitUntil(
      'the final journal export',
      () =>
        rig.store.journal.exportJournal(rig.stateDir, { lockWaitMs: 2_000 }).then(
          () => true,
          () => false,
        ),
      90_000,
      1_000,
    );
    const stream = (await rig.conn.xrange(`${rig.prefix}:journal`, '-', '+')).map(([, fields]) => fields[1]);
    const file = readFileSync(path.join(rig.stateDir, JOURNAL_FILE), 'utf8').split('\n').filter(Boolean);
    expect(stream.length).toBeGreaterThan(20);
    expect(file).toEqual(stream);

    // Every run is training (checked again, a moment later: still advancing).
    const steps = RUNS.map(
      (r) => rig.world.hosts.get(currentInstance(rig.world, r.run)!)!.trainerStatus()!.step,
    );
    await sleep(2_000);
    expect(await everyRunSupervised(rig)).toBeNull();
    RUNS.forEach((r, i) => {
      expect(rig.world.hosts.get(currentInstance(rig.world, r.run)!)!.trainerStatus()!.step).toBeGreaterThan(
        steps[i]!,
      );
    });
    console.info(
      `chaos: ${log.join(', ')}; ${incidents.length} incidents, ${rented.length} rented, ${stream.length} journal lines`,
    );
  }, 240_000);
});
