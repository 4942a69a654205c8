import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../../src/clock.js';
import { parsePids, parseProbeOutput, REMOTE_COMMANDS } from '../../../src/fleet/remote/index.js';
import type { Paths } from '../../../src/fleet/schema.js';
import { silentLogger } from '../../../src/logger.js';
import { createSimHosts } from '../../../src/sim/hosts/index.js';
import { clientKeyPair, connect, type SshSession } from './ssh-exec.js';

/**
 * The stop line on a simulated host, over SSH: it kills a torchrun trainer and a single-process
 * `python3 -u` trainer, leaves every other process alone (other Python programs included), and
 * exits 1 when a trainer survives SIGKILL. The parity test holds the same cases to real bash.
 */

const PATHS: Paths = { workspace: '/workspace/mosaic-gpt', log: '/workspace/training.log' };
const TAIL = ['--batch-size', '8', '--grad-accum', '8'];
const TORCHRUN_ARGV = [
  'torchrun',
  '--nproc_per_node=4',
  'experiments/train.py',
  '--config',
  'configs/mosaic_dense.yaml',
  '--run-dir',
  'runs/mosaic_dense_3090',
  ...TAIL,
];
const SINGLE_ARGV = [
  'python3',
  '-u',
  'experiments/train.py',
  '--config',
  'configs/gpt2_reference.yaml',
  '--run-dir',
  'runs/gpt2_reference',
  ...TAIL,
];
const STOP = REMOTE_COMMANDS.stop('killall -9 torchrun');
/** Processes a training box also runs, some of them naming the trainer script. */
const BYSTANDERS = [
  { comm: 'python3', cmdline: '/usr/bin/python3 -m jupyter lab --allow-root' },
  { comm: 'python3', cmdline: 'python3 /workspace/monitor.py' },
  { comm: 'vim', cmdline: 'vim experiments/train.py' },
  { comm: 'tail', cmdline: 'tail -f experiments/train.py' },
];

describe('the stop line on simulated hosts', () => {
  const clock = manualClock(Date.UTC(2026, 0, 1));
  const key = clientKeyPair();
  const sim = createSimHosts({ clock, authorizedKey: key.publicKey, logger: silentLogger });
  const sessions: SshSession[] = [];
  let nextId = 7000;

  async function host(numGpus: number) {
    nextId += 1;
    const endpoint = await sim.create({
      instanceId: nextId,
      gpuName: numGpus === 1 ? 'RTX 4090' : 'RTX 3090',
      numGpus,
      diskGb: 200,
      env: {},
      label: 'stop',
    });
    const open = async () => {
      const session = await connect(endpoint.sshPort, key.privateKey, { hostKey: endpoint.hostKey });
      sessions.push(session);
      return session;
    };
    let ssh = await open();
    const simHost = sim.get(nextId)!;
    const bystanders = BYSTANDERS.map((p) => simHost.startProcess(p.comm, p.cmdline));
    return {
      sim: simHost,
      bystanders,
      run: (command: string) => ssh.run(command),
      /** Clearing faults drops the host's connections (see SimFault 'clear'). */
      reconnect: async () => {
        ssh = await open();
      },
      alive: async () =>
        parseProbeOutput((await ssh.run(REMOTE_COMMANDS.probe(PATHS, 'runs/x'))).stdout).processAlive,
      pids: () => simHost.processes().map((p) => p.pid),
    };
  }

  afterEach(() => {
    for (const s of sessions.splice(0)) s.close();
  });

  afterAll(async () => {
    await sim.closeAll();
  });

  it('stops a torchrun trainer with all its workers; the bystanders keep running', async () => {
    const h = await host(4);
    expect((await h.run(REMOTE_COMMANDS.launch(PATHS, TORCHRUN_ARGV))).code).toBe(0);
    await clock.advance(10 * 60_000);
    expect(h.sim.processes()).toHaveLength(1 + 4 + BYSTANDERS.length);
    expect(await h.alive()).toBe(true);

    expect(await h.run(STOP)).toEqual({ stdout: 'stopped\n', stderr: '', code: 0 });
    expect(await h.alive()).toBe(false);
    expect(h.pids()).toEqual(h.bystanders);
  });

  it('stops a single-process python3 -u trainer, which killall -9 torchrun cannot', async () => {
    const h = await host(1);
    expect((await h.run(REMOTE_COMMANDS.launch(PATHS, SINGLE_ARGV))).code).toBe(0);
    await clock.advance(10 * 60_000);
    expect(h.sim.trainerStatus()).toMatchObject({ launcher: 'python3', phase: 'training' });

    expect(await h.run(STOP)).toEqual({ stdout: 'stopped\n', stderr: '', code: 0 });
    expect(h.sim.trainerStatus()).toMatchObject({ phase: 'exited', exitReason: 'killed by SIGKILL' });
    expect(await h.alive()).toBe(false);
    expect(h.pids()).toEqual(h.bystanders);
    // What rule 4 forbids would have taken the notebook and the monitor with it.
    expect(parsePids((await h.run('pgrep -f python3')).stdout)).toEqual(h.bystanders.slice(0, 2));
  });

  it('reports "not running" when there is no trainer, touching nothing', async () => {
    const h = await host(4);
    expect(await h.run(STOP)).toEqual({ stdout: 'not running\n', stderr: '', code: 0 });
    expect(h.pids()).toEqual(h.bystanders);
    // A second stop after a real one is "not running" too.
    await h.run(REMOTE_COMMANDS.launch(PATHS, SINGLE_ARGV));
    expect((await h.run(STOP)).stdout).toBe('stopped\n');
    expect((await h.run(STOP)).stdout).toBe('not running\n');
  });

  it('exits 1 naming the pid when the trainer survives SIGKILL (stuck in the kernel)', async () => {
    const h = await host(1);
    await h.run(REMOTE_COMMANDS.launch(PATHS, SINGLE_ARGV));
    await clock.advance(10 * 60_000);
    h.sim.inject({ kind: 'unkillable' });
    const pid = h.sim.trainerStatus()!.pid;

    expect(await h.run(STOP)).toEqual({
      stdout: '',
      stderr: `trainer still running after kill -9: ${pid}\n`,
      code: 1,
    });
    expect(await h.alive()).toBe(true);
    expect(h.sim.trainerStatus()).toMatchObject({ phase: 'training', stalled: true });

    h.sim.inject({ kind: 'clear' });
    await h.reconnect();
    expect((await h.run(STOP)).stdout).toBe('stopped\n');
    expect(await h.alive()).toBe(false);
  });

  it('runs pkill and pgrep as procps does', async () => {
    const h = await host(4);
    await h.run(REMOTE_COMMANDS.launch(PATHS, TORCHRUN_ARGV));
    const trainer = h.sim.processes().filter((p) => !h.bystanders.includes(p.pid));
    expect(await h.run("pgrep -d ' ' -f tail")).toEqual({
      stdout: `${h.bystanders[3]}\n`,
      stderr: '',
      code: 0,
    });
    const namingTheScript = [...trainer.map((p) => p.pid), ...h.bystanders.slice(2)].sort((a, b) => a - b);
    expect((await h.run("pgrep -d ' ' -f experiments/train")).stdout).toBe(`${namingTheScript.join(' ')}\n`);
    expect(await h.run('pkill -9 -f nothing-like-this')).toEqual({ stdout: '', stderr: '', code: 1 });
    expect(await h.run('pkill -9 -f vim')).toEqual({ stdout: '', stderr: '', code: 0 });
    expect(h.pids()).not.toContain(h.bystanders[2]);
    expect(await h.alive()).toBe(true);
    expect((await h.run('pkill')).code).toBe(2);
  });
});
