import path from 'node:path';
import ssh2 from 'ssh2';
import { afterEach, describe, expect, it } from 'vitest';
import { recordingEvents } from '../../../agents/monitor/events.js';
import { remoteProbe } from '../../../agents/monitor/probe.js';
import { type SweepDeps, sweep } from '../../../agents/monitor/sweep.js';
import { manualClock } from '../../../src/clock.js';
import { loadFleetFile } from '../../../src/config.js';
import { silentLogger } from '../../../src/logger.js';
import { generateHostKey } from '../../../src/sim/hosts/index.js';
import { DEFAULT_SCENARIO } from '../../../src/sim/scenario.js';
import { type SimWorld, startSimWorld } from '../../../src/sim/world.js';
import { recordHostCommands, type SecurityContext, securityContext } from './harness.js';

/**
 * A host that presents a key other than the pinned one (a re-imaged machine, or someone in the
 * middle): the service's SSH pool refuses it before any command is sent, the pin is kept, and the
 * sweep opens a critical host_key_changed incident. Over real SSH against the simulated hosts.
 */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function sweepDeps(ctx: SecurityContext, events = recordingEvents()): SweepDeps {
  return {
    fleet: ctx.config.fleet,
    store: ctx.store,
    vast: ctx.vast,
    ssh: ctx.ssh,
    probe: remoteProbe,
    clock: ctx.clock,
    logger: ctx.logger,
    events,
    stateDir: null,
    probeTimeoutMs: 3_000,
  };
}

async function setup() {
  const clock = manualClock(Date.UTC(2026, 10, 1));
  const keys = ssh2.utils.generateKeyPairSync('ed25519');
  const world: SimWorld = await startSimWorld({
    clock,
    fleet: loadFleetFile(path.resolve('fleet.example.yaml')),
    scenario: {
      ...DEFAULT_SCENARIO,
      runs: DEFAULT_SCENARIO.runs.map((r) => ({ ...r, step: 6000 })),
      faults: [],
    },
    authorizedKey: keys.public,
    logger: silentLogger,
  });
  const commands = recordHostCommands(world);
  const vast = { url: world.vast.url, apiKey: world.apiKey };
  // The service as it first ran: it pinned every host's key when it provisioned them.
  const first = securityContext({ label: 'hostkey', clock, vast, sshPrivateKey: keys.private });
  for (const [hostId, key] of world.hostKeys) await first.hostKeys.set(hostId, key);
  cleanups.push(async () => {
    await world.close();
    await first.cleanup();
  });
  /** The service after a restart (or a second worker): same Redis, new connections. */
  const restarted = () => {
    const ctx = securityContext({ prefix: first.prefix, clock, vast, sshPrivateKey: keys.private });
    cleanups.push(async () => {
      await ctx.queues.close();
      await ctx.ssh.close();
      ctx.redis.disconnect();
    });
    return ctx;
  };
  return { clock, world, first, restarted, commands };
}

describe('a changed SSH host key', () => {
  it('is refused by the pool, keeps the pin, opens a critical host_key_changed incident, and sends no command', async () => {
    const { clock, world, first, restarted, commands } = await setup();
    const before = await sweep(sweepDeps(first));
    expect(before.runs.map((r) => r.probe)).toEqual(['ok', 'ok', 'ok']);

    const instance = world.instances.get('mosaic_moe');
    const view = world.vast.control.instances().find((i) => i.id === instance);
    if (!view?.ssh_port) throw new Error('mosaic_moe has no SSH endpoint');
    const hostId = `[${view.ssh_host ?? '127.0.0.1'}]:${view.ssh_port}`;
    const genuine = world.hostKeys.get(hostId);
    expect(genuine).toBeDefined();
    // The pin says one key; the host presents another.
    const other = generateHostKey().publicKey;
    await first.hostKeys.set(hostId, other);
    const onMoeHost = () => commands.filter((c) => c.host === instance).length;
    const sentBefore = onMoeHost();

    const ctx = restarted();
    const events = recordingEvents();
    await clock.advance(60_000);
    const report = await sweep(sweepDeps(ctx, events));

    const moe = report.runs.find((r) => r.run === 'mosaic_moe');
    expect(moe?.probe).toBe('failed');
    expect(report.runs.filter((r) => r.run !== 'mosaic_moe').map((r) => r.probe)).toEqual(['ok', 'ok']);
    // Refused during the handshake: not one command reached the host.
    expect(onMoeHost()).toBe(sentBefore);
    expect(commands.length).toBeGreaterThan(sentBefore);

    const open = await ctx.store.incidents.listOpen({ run: 'mosaic_moe' });
    const incident = open.find((i) => i.kind === 'host_key_changed');
    expect(incident?.severity).toBe('critical');
    expect(
      events.events.filter((e) => e.change === 'opened' && e.incident.kind === 'host_key_changed'),
    ).toHaveLength(1);
    const journal = await ctx.store.journal.recent(20, { run: 'mosaic_moe' });
    expect(journal.map((r) => r.entry.type)).toContain('HOST_KEY_CHANGED');
    // The pin is not "learned" over by the key the host presented.
    expect(await ctx.hostKeys.get(hostId)).toBe(other);
    // The operator sees both keys in the log.
    const logged = ctx.logLines.find((l) => l.includes('SSH host key changed'));
    expect(logged).toBeDefined();

    // Sweeping on, it stays one incident, and still nothing reaches the host.
    await clock.advance(60_000);
    await sweep(sweepDeps(ctx, events));
    expect(onMoeHost()).toBe(sentBefore);
    expect(
      events.events.filter((e) => e.incident.kind === 'host_key_changed' && e.change === 'opened'),
    ).toHaveLength(1);
    // Re-pinned to the genuine key (an operator verified it), the same pool reconnects.
    await ctx.hostKeys.set(hostId, genuine as string);
    await clock.advance(60_000);
    await expect
      .poll(
        async () => (await sweep(sweepDeps(ctx, events))).runs.find((r) => r.run === 'mosaic_moe')?.probe,
        {
          timeout: 15_000,
        },
      )
      .toBe('ok');
    expect(onMoeHost()).toBeGreaterThan(sentBefore);
  }, 40_000);
});
