import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { proposeFinish } from '../../../agents/decisions/dispatch.js';
import { recordingEvents } from '../../../agents/monitor/events.js';
import { remoteProbe } from '../../../agents/monitor/probe.js';
import { type SweepDeps, sweep } from '../../../agents/monitor/sweep.js';
import { manualClock } from '../../../src/clock.js';
import { loadFleetFile } from '../../../src/config.js';
import type { HealthStatus } from '../../../src/fleet/health/types.js';
import { createMetrics } from '../../../src/http/metrics.js';
import { memoryHostKeyStore } from '../../../src/infra/ssh/host-keys.js';
import { generateSshKeyPair } from '../../../src/infra/ssh/keys.js';
import { createSshPool } from '../../../src/infra/ssh/pool.js';
import { createVastClient } from '../../../src/infra/vast/client.js';
import { silentLogger } from '../../../src/logger.js';
import { DEFAULT_SCENARIO, type ScenarioFaultKind } from '../../../src/sim/scenario.js';
import { type SimWorld, startSimWorld } from '../../../src/sim/world.js';
import { Store } from '../../../src/state/store.js';
import type { Proposal } from '../../../src/state/types.js';
import { deleteKeys, newRedis, uniquePrefix } from '../../helpers/redis.js';

const fleet = loadFleetFile(path.resolve('fleet.example.yaml'));
const MIN = 60_000;
const redis = newRedis();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup() {
  const clock = manualClock(Date.UTC(2026, 10, 1));
  const keys = generateSshKeyPair();
  const world: SimWorld = await startSimWorld({
    clock,
    fleet,
    // Early in training, so the disks are far from the clean-up threshold.
    scenario: {
      ...DEFAULT_SCENARIO,
      runs: DEFAULT_SCENARIO.runs.map((r) => ({ ...r, step: 6000 })),
      faults: [],
    },
    authorizedKey: keys.public,
    logger: silentLogger,
  });
  const prefix = uniquePrefix('sweep');
  const store = new Store({ redis, prefix, clock, logger: silentLogger });
  const ssh = createSshPool({
    privateKey: keys.private,
    hostKeys: memoryHostKeyStore(Object.fromEntries(world.hostKeys)),
    logger: silentLogger,
    commandTimeoutMs: 1500,
    connectTimeoutMs: 1500,
    backoffBaseMs: 10,
    backoffMaxMs: 20,
  });
  // Retry back-offs sleep for real (briefly): the manual clock only moves when the test says so.
  const vastClock = {
    now: () => clock.now(),
    sleep: () => new Promise<void>((r) => setTimeout(r, 5)),
    speed: 1,
  };
  const vast = createVastClient({
    baseUrl: world.vast.url,
    apiKey: world.apiKey,
    clock: vastClock,
    logger: silentLogger,
    timeoutMs: 3000,
    retries: 1,
  });
  const events = recordingEvents();
  const deps: SweepDeps = {
    fleet,
    store,
    vast,
    ssh,
    probe: remoteProbe,
    clock,
    logger: silentLogger,
    events,
    stateDir: null,
    probeTimeoutMs: 1500,
  };
  cleanups.push(async () => {
    await ssh.close();
    await world.close();
    await deleteKeys(redis, prefix);
  });
  /** Advance the clock by one sweep interval and sweep. */
  const tick = async (minutes = 1) => {
    await clock.advance(minutes * MIN);
    return sweep(deps);
  };
  return { clock, world, store, deps, events, tick };
}

const statusOf = (report: Awaited<ReturnType<typeof sweep>>, run: string) =>
  report.runs.find((r) => r.run === run)?.status;

describe('monitor sweep against the simulated cloud', () => {
  it('sees a healthy fleet as healthy and opens nothing', async () => {
    const { tick, events } = await setup();
    let report = await tick();
    for (let i = 0; i < 5; i++) report = await tick();
    expect(report.runs.map((r) => r.status)).toEqual(['healthy', 'healthy', 'healthy']);
    expect(report.runs.every((r) => r.probe === 'ok')).toBe(true);
    expect(events.events).toEqual([]);
  });

  it('exports the fleet spend rate and open incidents as metrics', async () => {
    const { tick, deps, world } = await setup();
    const metrics = createMetrics();
    deps.metrics = metrics;
    await tick();
    const dph = world.vast.control.instances().reduce((sum, i) => sum + i.dph_total, 0);
    expect(dph).toBeGreaterThan(0);
    expect((await metrics.fleetDollarsPerHour.get()).values[0]?.value).toBeCloseTo(dph, 6);
    expect((await metrics.incidentsOpen.get()).values[0]?.value).toBe(0);
  });

  const cases: [ScenarioFaultKind, HealthStatus, number][] = [
    ['stall', 'stalled', 12],
    ['crash_oom', 'oom', 2],
    ['crash_nccl', 'nccl_hang', 2],
    ['crash_killed', 'crashed', 2],
    ['nan', 'nan', 2],
    ['outbid', 'preempted', 1],
    ['host_gone', 'preempted', 1],
    ['ssh_hang', 'unreachable', 1],
  ];
  it.each(cases)('%s -> %s, one incident (not one per sweep)', async (fault, status, minutes) => {
    const { tick, world, store, events } = await setup();
    for (let i = 0; i < 6; i++) await tick();
    await world.inject('mosaic_moe', fault);
    let report = await tick(minutes);
    for (let i = 0; i < 3 && statusOf(report, 'mosaic_moe') !== status; i++) report = await tick();
    expect(statusOf(report, 'mosaic_moe')).toBe(status);
    await tick();
    await tick();
    const open = await store.incidents.listOpen({ run: 'mosaic_moe' });
    expect(open.map((i) => i.kind)).toEqual([status]);
    expect(open[0]?.count).toBeGreaterThanOrEqual(3);
    expect(
      events.events.filter((e) => e.change === 'opened' && e.incident.run === 'mosaic_moe'),
    ).toHaveLength(1);
    // The other runs are untouched.
    expect((await store.incidents.listOpen()).filter((i) => i.run !== 'mosaic_moe')).toEqual([]);
  });

  it('detects a stall while the heartbeat stays fresh, and resolves it when training moves again', async () => {
    const { tick, world, store, events } = await setup();
    for (let i = 0; i < 6; i++) await tick();
    await world.inject('gpt2_reference', 'stall');
    let report = await tick(5);
    expect(statusOf(report, 'gpt2_reference')).toBe('healthy');
    report = await tick(6);
    expect(statusOf(report, 'gpt2_reference')).toBe('stalled');
    const health = await store.getHealth('gpt2_reference');
    expect(health?.processAlive).toBe(true);
    expect(health?.heartbeatAgeS).toBeLessThan(60);
    const id = world.instances.get('gpt2_reference')!;
    world.hosts.get(id)!.inject({ kind: 'clear' });
    report = await tick();
    report = await tick();
    expect(statusOf(report, 'gpt2_reference')).not.toBe('stalled');
    expect((await store.incidents.listOpen({ run: 'gpt2_reference' })).map((i) => i.kind)).not.toContain(
      'stalled',
    );
    expect(events.events.slice(0, 2).map((e) => `${e.incident.kind}:${e.change}`)).toEqual([
      'stalled:opened',
      'stalled:resolved',
    ]);
    const journal = (await store.journal.recent(10)).map((r) => r.entry.type);
    expect(journal.slice(0, 2)).toEqual(['STALL', 'RESOLVED']);
  });

  it('disk filling up warns, then goes critical', async () => {
    const { tick, world } = await setup();
    for (let i = 0; i < 3; i++) await tick();
    await world.inject('mosaic_dense', 'disk_fill', 80);
    expect(statusOf(await tick(), 'mosaic_dense')).toBe('disk_warning');
    await world.inject('mosaic_dense', 'disk_fill', 95);
    expect(statusOf(await tick(), 'mosaic_dense')).toBe('disk_critical');
  });

  it('a Vast API failure during a sweep: completes with what it has, says so, no false incident', async () => {
    const { tick, world, events } = await setup();
    for (let i = 0; i < 4; i++) await tick();
    await world.vast.control.fault({ kind: 'serverError', status: 503, count: 10 });
    const report = await tick();
    expect(report.vastError).toMatch(/503/);
    expect(report.runs.map((r) => r.status)).toEqual(['healthy', 'healthy', 'healthy']);
    expect(events.events).toEqual([]);
  });

  it('completion is not an incident', async () => {
    const { tick, world, events } = await setup();
    for (let i = 0; i < 3; i++) await tick();
    await world.inject('mosaic_dense', 'complete');
    const report = await tick(2);
    expect(statusOf(report, 'mosaic_dense')).toBe('complete');
    expect(events.events).toEqual([]);
  });
});

describe('a finished run that still holds its instance', () => {
  async function finishing(proposalTtlMinutes = fleet.policy.proposal_ttl_minutes) {
    const s = await setup();
    const posted: Proposal[] = [];
    // proposeFinish never enqueues: a proposal waits for a human.
    const dispatch = {
      store: s.store,
      queues: null as never,
      fleet: { ...fleet, policy: { ...fleet.policy, proposal_ttl_minutes: proposalTtlMinutes } },
      clock: s.clock,
      postProposal: async (p: Proposal) => {
        posted.push(p);
      },
    };
    s.deps.onComplete = (health, state) => proposeFinish(dispatch, health, state);
    return { ...s, posted };
  }

  it('is proposed for release once, not once per sweep, with the instance and its cost', async () => {
    const { tick, world, store, posted } = await finishing();
    for (let i = 0; i < 2; i++) await tick();
    await world.inject('mosaic_dense', 'complete');
    for (let i = 0; i < 5; i++) await tick(2);
    expect(posted).toHaveLength(1);
    const state = await store.getRunState('mosaic_dense');
    expect(posted[0]).toMatchObject({ run: 'mosaic_dense', action: 'finish', createdBy: 'conductor' });
    expect(posted[0]?.reason).toContain(`release instance ${state?.instanceId}`);
    expect(posted[0]?.reason).toMatch(/bills \$\d+\.\d\d\/h while idle/);
    expect(await store.proposals.get(posted[0]?.id ?? '')).not.toBeNull();
    const decisions = (await store.journal.recent(20, { run: 'mosaic_dense' })).filter(
      (r) => r.entry.type === 'DECISION',
    );
    expect(decisions).toHaveLength(1);
  });

  it('asks again once the first proposal expired unanswered, since the instance still bills', async () => {
    // Proposals that live 150 ms: the dedupe mark lives as long (real time, manual clock).
    const { tick, world, posted } = await finishing(0.0025);
    await tick();
    await world.inject('mosaic_dense', 'complete');
    await tick(2);
    await tick();
    expect(posted).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 250));
    await tick();
    expect(posted).toHaveLength(2);
    expect(posted[1]?.id).not.toBe(posted[0]?.id);
  });

  it('is not proposed once the run is marked complete, nor for a run still training', async () => {
    const { tick, world, store, posted } = await finishing();
    await tick();
    const state = await store.getRunState('mosaic_dense');
    if (!state) throw new Error('no run state after a sweep');
    await store.putRunState({ ...state, complete: true });
    await world.inject('mosaic_dense', 'complete');
    for (let i = 0; i < 3; i++) await tick(2);
    expect(posted).toEqual([]);
  });
});
