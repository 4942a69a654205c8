import { connect as tcpConnect } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../../src/clock.js';
import {
  parseCheckpointList,
  parseDf,
  parseLines,
  parseProbeOutput,
  REMOTE_COMMANDS,
  renderSecretEnvFile,
  secretEnvFile,
} from '../../../src/fleet/remote/index.js';
import type { Paths } from '../../../src/fleet/schema.js';
import { silentLogger } from '../../../src/logger.js';
import { createSimHosts } from '../../../src/sim/hosts/index.js';
import type { SimHostSpec } from '../../../src/sim/types.js';
import { clientKeyPair, connect, type SshSession } from './ssh-exec.js';

/**
 * The simulated hosts, observed the way the conductor observes real ones: over SSH, with the
 * command templates. Tests set up state with the simulator's own API (seed a restored run,
 * inject a fault) and move a manual clock; nothing here sleeps for simulated time.
 */

const PATHS: Paths = { workspace: '/workspace/mosaic-gpt', log: '/workspace/training.log' };
const MOE_RUN = 'runs/mosaic_small_3090';
const MOE_CONFIG = 'configs/mosaic_small_resume.yaml';
const MOE_ARGV = [
  'torchrun',
  '--nproc_per_node=4',
  'experiments/train.py',
  '--config',
  MOE_CONFIG,
  '--run-dir',
  MOE_RUN,
  '--batch-size',
  '4',
  '--grad-accum',
  '16',
];
const DENSE_RUN = 'runs/gpt2_reference';
const DENSE_ARGV = [
  'python3',
  '-u',
  'experiments/train.py',
  '--config',
  'configs/gpt2_reference.yaml',
  '--run-dir',
  DENSE_RUN,
  '--batch-size',
  '8',
  '--grad-accum',
  '32',
];
const STOP = REMOTE_COMMANDS.stop('killall -9 torchrun');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const HEARTBEAT_RE =
  /^\{"step": \d+, "loss": (?:\d+\.\d+|NaN), "ppl": (?:\d+\.\d+|NaN), "tok_s": \d+\.\d+, "gpu_util": \d+, "disk_pct": \d+\.\d+, "ts": \d+, "pid": \d+, "max_steps": 50000, "model": "[a-z0-9_]+"\}$/;
const MOE_STEP_LINE_RE =
  /^step [ \d]{6}\/50000 \| loss \d+\.\d{4} \| ppl \d+\.\d \| lr \d\.\d{2}e-0\d \| grad_norm \d+\.\d{2} \| \d+ tok\/s \| aux \d\.\d{4}$/;
const DENSE_STEP_LINE_RE =
  /^step [ \d]{6}\/50000 \| loss \d+\.\d{4} \| ppl \d+\.\d \| lr \d\.\d{2}e-0\d \| grad_norm \d+\.\d{2} \| \d+ tok\/s$/;

describe('simulated training hosts over SSH', () => {
  const clock = manualClock(Date.UTC(2026, 0, 1));
  const key = clientKeyPair();
  const sim = createSimHosts({ clock, authorizedKey: key.publicKey, logger: silentLogger });
  const sessions: SshSession[] = [];
  let nextId = 1000;

  async function host(spec: Partial<SimHostSpec> = {}) {
    nextId += 1;
    const full: SimHostSpec = {
      instanceId: nextId,
      gpuName: 'RTX 3090',
      numGpus: 4,
      diskGb: 200,
      env: {},
      label: 'test',
      ...spec,
    };
    const endpoint = await sim.create(full);
    const ssh = await connect(endpoint.sshPort, key.privateKey, { hostKey: endpoint.hostKey });
    sessions.push(ssh);
    const run = async (command: string, options: { stdin?: string; env?: Record<string, string> } = {}) =>
      ssh.run(command, options);
    const probe = async (runDir = MOE_RUN) =>
      parseProbeOutput((await run(REMOTE_COMMANDS.probe(PATHS, runDir))).stdout);
    const log = async (n = 200) => parseLines((await run(REMOTE_COMMANDS.logTail(PATHS.log, n))).stdout);
    const heartbeat = async (runDir = MOE_RUN) =>
      (await run(REMOTE_COMMANDS.readFile(`${PATHS.workspace}/${runDir}/heartbeat.json`))).stdout;
    const checkpoints = async (runDir = MOE_RUN) =>
      parseCheckpointList((await run(REMOTE_COMMANDS.listCheckpoints(PATHS, runDir))).stdout);
    return {
      id: full.instanceId,
      endpoint,
      sim: sim.get(full.instanceId)!,
      run,
      probe,
      log,
      heartbeat,
      checkpoints,
    };
  }

  afterEach(() => {
    for (const s of sessions.splice(0)) s.close();
  });

  afterAll(async () => {
    await sim.closeAll();
  });

  it('starts with the mosaic-gpt checkout, both MoE configs, GPUs idle and no trainer', async () => {
    const h = await host();
    expect((await h.run(`ls ${PATHS.workspace}/configs`)).stdout).toBe(
      'gpt2_reference.yaml\nmosaic_dense.yaml\nmosaic_small.yaml\nmosaic_small_resume.yaml\n',
    );
    expect((await h.run(REMOTE_COMMANDS.configExperts(PATHS, MOE_CONFIG))).stdout).toBe('4\n');
    expect((await h.run(REMOTE_COMMANDS.configExperts(PATHS, 'configs/mosaic_small.yaml'))).stdout).toBe(
      '8\n',
    );
    const p = await h.probe();
    expect(p.processAlive).toBe(false);
    expect(p.gpus.map((g) => g.utilPct)).toEqual([0, 0, 0, 0]);
    expect(p.heartbeatError).toMatch(/No such file or directory/);
    expect(p.hostTime).toBe(Date.UTC(2026, 0, 1) / 1000);
  });

  it('writes heartbeat.json every 30 s and a log line every 10 steps, in the exact formats', async () => {
    const h = await host();
    const launch = await h.run(REMOTE_COMMANDS.launch(PATHS, MOE_ARGV));
    expect(launch).toEqual({ stdout: expect.stringMatching(/^\d+\n$/), stderr: '', code: 0 });
    await clock.advance(2 * HOUR);
    const text = await h.heartbeat();
    expect(text).toMatch(HEARTBEAT_RE);
    const hb = JSON.parse(text) as { ts: number; step: number; pid: number; model: string; tok_s: number };
    expect(hb.model).toBe('mosaic_moe');
    expect(Number.isInteger(hb.step)).toBe(true);
    // Rewritten on a 30 s cadence from the trainer's start, stamped with the host clock.
    const hostNow = Number((await h.run(REMOTE_COMMANDS.hostTime())).stdout);
    expect(hostNow - hb.ts).toBeLessThan(30);
    await clock.advance(29_000);
    const same = JSON.parse(await h.heartbeat()) as { ts: number };
    expect(same.ts).toBe(hb.ts);
    await clock.advance(2_000);
    const next = JSON.parse(await h.heartbeat()) as { ts: number; step: number };
    expect(next.ts - hb.ts).toBe(30);
    expect(next.step).toBeGreaterThan(hb.step);

    const lines = await h.log(50);
    const steps = lines.filter((l) => l.startsWith('step'));
    expect(steps.length).toBeGreaterThan(40);
    for (const line of steps) expect(line).toMatch(MOE_STEP_LINE_RE);
    const numbers = steps.map((l) => Number(/^step\s+(\d+)/.exec(l)![1]));
    for (let i = 1; i < numbers.length; i += 1) expect(numbers[i]! - numbers[i - 1]!).toBe(10);
    const pgrep = await h.run(REMOTE_COMMANDS.trainerAlive());
    expect(pgrep.stdout).toContain(`${hb.pid}\n`);
  });

  it('leaves out aux for a dense model and runs single-GPU with python3 -u', async () => {
    const h = await host({ gpuName: 'RTX 4090', numGpus: 1 });
    await h.run(REMOTE_COMMANDS.launch(PATHS, DENSE_ARGV));
    await clock.advance(HOUR);
    const steps = (await h.log(20)).filter((l) => l.startsWith('step'));
    expect(steps.length).toBeGreaterThan(0);
    for (const line of steps) expect(line).toMatch(DENSE_STEP_LINE_RE);
    const hb = JSON.parse(await h.heartbeat(DENSE_RUN)) as { model: string };
    expect(hb.model).toBe('gpt2_reference');
    const p = await h.probe(DENSE_RUN);
    expect(p.processAlive).toBe(true);
    expect(p.gpus).toHaveLength(1);
    expect(p.gpus[0]!.utilPct).toBeGreaterThan(90);
    // killall -9 torchrun alone cannot stop a python3 -u trainer: faithful to the real hosts.
    const killall = await h.run('killall -9 torchrun');
    expect(killall).toEqual({ stdout: '', stderr: 'torchrun: no process found\n', code: 1 });
    expect((await h.probe(DENSE_RUN)).processAlive).toBe(true);
    // The stop line's narrow kill does.
    expect(await h.run(STOP)).toEqual({ stdout: 'stopped\n', stderr: '', code: 0 });
    expect((await h.probe(DENSE_RUN)).processAlive).toBe(false);
    expect(h.sim.trainerStatus()).toMatchObject({ phase: 'exited', exitReason: 'killed by SIGKILL' });
  });

  it('saves step_<N>.pt every 2,500 steps, latest.pt every 500, best.pt on improvement, sized from the model', async () => {
    const h = await host({ gpuName: 'A100 SXM4' });
    await h.run(
      REMOTE_COMMANDS.launch(PATHS, [
        'torchrun',
        '--nproc_per_node=4',
        'experiments/train.py',
        '--config',
        'configs/gpt2_reference.yaml',
        '--run-dir',
        DENSE_RUN,
        '--batch-size',
        '16',
        '--grad-accum',
        '4',
      ]),
    );
    await clock.advance(2 * HOUR);
    const hb = JSON.parse(await h.heartbeat(DENSE_RUN)) as { step: number };
    const files = await h.checkpoints(DENSE_RUN);
    const numbered = files.filter((f) => f.step !== null).map((f) => f.step);
    expect(numbered).toEqual(Array.from({ length: Math.floor(hb.step / 2500) }, (_, i) => (i + 1) * 2500));
    expect(numbered.length).toBeGreaterThanOrEqual(2);
    expect(files.map((f) => f.name)).toEqual(expect.arrayContaining(['latest.pt', 'best.pt']));
    for (const f of files) expect(f.bytes).toBe(1.5e9);
    const evals = (await h.log(2000)).filter((l) => l.startsWith('  EVAL step'));
    expect(evals.at(-1)).toMatch(
      /^ {2}EVAL step \d+500: loss=\d+\.\d{4} ppl=\d+\.\d{2}$|^ {2}EVAL step \d+000: loss=\d+\.\d{4} ppl=\d+\.\d{2}$/,
    );
  });

  it('resumes from latest.pt when launched again and logs the RESUMED line', async () => {
    const h = await host();
    h.sim.seedRun({ runDir: MOE_RUN, config: MOE_CONFIG, step: 12_500 });
    await h.run(REMOTE_COMMANDS.launch(PATHS, MOE_ARGV));
    await clock.advance(MINUTE);
    const lines = await h.log();
    expect(lines[0]).toBe(`[HEARTBEAT] RESUMED step=12500 max=50000 checkpoint=${MOE_RUN}/latest.pt`);
    await clock.advance(HOUR);
    const hb = JSON.parse(await h.heartbeat()) as { step: number };
    expect(hb.step).toBeGreaterThan(12_500);
    expect(hb.step).toBeLessThan(13_500);
  });

  it('killall -9 torchrun kills without saving; a relaunch resumes from the last save, not the last step', async () => {
    const h = await host();
    h.sim.seedRun({ runDir: MOE_RUN, config: MOE_CONFIG, step: 5000 });
    await h.run(REMOTE_COMMANDS.launch(PATHS, MOE_ARGV));
    await clock.advance(HOUR);
    const before = JSON.parse(await h.heartbeat()) as { step: number };
    const latestMtime = (await h.run(`stat -c %Y ${PATHS.workspace}/${MOE_RUN}/latest.pt`)).stdout;
    expect((await h.run(STOP)).code).toBe(0);
    const after = await h.probe();
    expect(after.processAlive).toBe(false);
    expect(after.logTail.some((l) => l.includes('SIGTERM'))).toBe(false);
    await clock.advance(10 * MINUTE);
    expect((await h.run(`stat -c %Y ${PATHS.workspace}/${MOE_RUN}/latest.pt`)).stdout).toBe(latestMtime);
    // The heartbeat goes stale: no thread writes it any more.
    expect(JSON.parse(await h.heartbeat()) as { step: number }).toMatchObject({ step: before.step });

    await h.run(REMOTE_COMMANDS.launch(PATHS, MOE_ARGV));
    await clock.advance(MINUTE);
    const resumed = /RESUMED step=(\d+)/.exec((await h.log())[0] ?? '');
    expect(Number(resumed?.[1])).toBe(Math.floor(before.step / 500) * 500);
    expect(Number(resumed?.[1])).toBeLessThan(before.step + 1);
  });

  it('SIGTERM (killall without -9) saves latest.pt and exits gracefully', async () => {
    const h = await host();
    await h.run(REMOTE_COMMANDS.launch(PATHS, MOE_ARGV));
    await clock.advance(HOUR + 7 * MINUTE);
    expect((await h.run('killall torchrun')).code).toBe(0);
    const tail = await h.log(2);
    expect(tail.at(-1)).toBe('[SIGTERM] Checkpoint saved. Exiting gracefully.');
    const stepAtStop = Number(/^step\s+(\d+)/.exec(tail[0] ?? '')?.[1]);
    await h.run(REMOTE_COMMANDS.launch(PATHS, MOE_ARGV));
    await clock.advance(MINUTE);
    const resumed = Number(/RESUMED step=(\d+)/.exec((await h.log())[0] ?? '')?.[1]);
    expect(resumed).toBeGreaterThanOrEqual(stepAtStop);
    expect(resumed % 500).not.toBe(0);
  });

  it('fails like a size mismatch when the 8-expert config meets the 4-expert checkpoint', async () => {
    const h = await host();
    h.sim.seedRun({ runDir: MOE_RUN, config: MOE_CONFIG, step: 20_000 });
    const wrong = MOE_ARGV.map((a) => (a === MOE_CONFIG ? 'configs/mosaic_small.yaml' : a));
    expect((await h.run(REMOTE_COMMANDS.launch(PATHS, wrong))).code).toBe(0);
    expect((await h.probe()).processAlive).toBe(true);
    await clock.advance(MINUTE);
    const log = (await h.log()).join('\n');
    expect(log).toContain('RuntimeError: Error(s) in loading state_dict for MosaicGPT:');
    expect(log).toContain(
      'size mismatch for blocks.0.ffn.router.weight: copying a param with shape torch.Size([4, 768]) from checkpoint, the shape in current model is torch.Size([8, 768]).',
    );
    expect(log).toContain('ChildFailedError');
    expect((await h.probe()).processAlive).toBe(false);
  });

  it('fails with "no kernel image" on an RTX 5090', async () => {
    const h = await host({ gpuName: 'RTX 5090' });
    await h.run(REMOTE_COMMANDS.launch(PATHS, MOE_ARGV));
    await clock.advance(MINUTE);
    const p = await h.probe();
    expect(p.processAlive).toBe(false);
    expect(p.logTail).toContain(
      'RuntimeError: CUDA error: no kernel image is available for execution on the device',
    );
  });

  describe('faults', () => {
    async function training() {
      const h = await host();
      h.sim.seedRun({ runDir: MOE_RUN, config: MOE_CONFIG, step: 5000 });
      await h.run(REMOTE_COMMANDS.launch(PATHS, MOE_ARGV));
      await clock.advance(HOUR);
      return h;
    }

    it('stall: the process lives, the step freezes, the heartbeat stays fresh and the log goes quiet', async () => {
      const h = await training();
      sim.inject(h.id, { kind: 'stall' });
      const frozen = await h.probe();
      await clock.advance(15 * MINUTE);
      const later = await h.probe();
      expect(later.processAlive).toBe(true);
      expect(later.heartbeat!.step).toBe(frozen.heartbeat!.step);
      expect(later.hostTime! - later.heartbeat!.ts).toBeLessThan(30);
      expect(later.hostTime! - later.logMtime!).toBeGreaterThanOrEqual(15 * 60);
      expect(later.logTail).toEqual(frozen.logTail);
      expect(later.gpus[0]!.utilPct).toBe(100);
    });

    it.each([
      ['oom', 'torch.OutOfMemoryError: CUDA out of memory.', 'exitcode: 1'],
      ['nccl', 'Watchdog caught collective operation timeout', 'exitcode: -6'],
      ['killed', 'failed (exitcode: -9)', 'exitcode: -9'],
    ] as const)('crash %s: the trainer dies with its signature in the log', async (signature, text, exit) => {
      const h = await training();
      sim.inject(h.id, { kind: 'crash', signature });
      const p = await h.probe();
      expect(p.processAlive).toBe(false);
      const log = (await h.log(60)).join('\n');
      expect(log).toContain(text);
      expect(log).toContain(exit);
      expect(p.gpus.every((g) => g.utilPct === 0)).toBe(true);
    });

    it('crash after a delay: an NCCL hang looks like a stall until the watchdog fires', async () => {
      const h = await training();
      sim.inject(h.id, { kind: 'stall' });
      sim.inject(h.id, { kind: 'crash', signature: 'nccl', afterMs: 10 * MINUTE });
      await clock.advance(5 * MINUTE);
      expect((await h.probe()).processAlive).toBe(true);
      await clock.advance(6 * MINUTE);
      const p = await h.probe();
      expect(p.processAlive).toBe(false);
      expect(p.logTail.join('\n')).toContain('Watchdog caught collective operation timeout');
    });

    it('nan: heartbeat.json carries a bare NaN and the log prints loss nan, while the process runs on', async () => {
      const h = await training();
      sim.inject(h.id, { kind: 'nan' });
      await clock.advance(5 * MINUTE);
      const text = await h.heartbeat();
      expect(text).toMatch(HEARTBEAT_RE);
      expect(text).toContain('"loss": NaN, "ppl": NaN');
      const p = await h.probe();
      expect(p.heartbeat?.lossIsNaN).toBe(true);
      expect(p.processAlive).toBe(true);
      expect(p.logTail.at(-1)).toMatch(
        / \| loss nan \| ppl nan \| lr .* \| grad_norm nan \| \d+ tok\/s \| aux nan$/,
      );
    });

    it('disk filling: the next checkpoint fails with No space left on device; cleanup frees space', async () => {
      const h = await training();
      sim.inject(h.id, { kind: 'disk_fill', pct: 99 });
      const df = parseDf((await h.run(REMOTE_COMMANDS.diskUsage(PATHS.workspace))).stdout);
      expect(df!.usedPct).toBeGreaterThanOrEqual(98.9);
      // latest.pt and best.pt overwrite files of the same size; the next step_<N>.pt needs new space.
      await clock.advance(4 * HOUR);
      const p = await h.probe();
      expect(p.processAlive).toBe(false);
      expect(p.logTail.join('\n')).toContain('No space left on device');
      expect(p.disk!.availBytes).toBeLessThan(1024 * 1024);
      const rm = await h.run(REMOTE_COMMANDS.cleanupCheckpoints(PATHS, MOE_RUN, ['step_2500.pt']));
      expect(rm.code).toBe(0);
      expect((await h.probe()).disk!.availBytes).toBeGreaterThan(4e9);
    });

    it('disk fills naturally when checkpoints outgrow a small disk', async () => {
      const h = await host({ diskGb: 40 });
      await h.run(REMOTE_COMMANDS.launch(PATHS, MOE_ARGV));
      await clock.advance(30 * HOUR);
      const p = await h.probe();
      expect(p.processAlive).toBe(false);
      expect(p.logTail.join('\n')).toMatch(
        /OSError: \[Errno 28\] No space left on device: 'runs\/mosaic_small_3090\/\w+\.pt'/,
      );
      expect(p.disk!.usedPct).toBeGreaterThan(99);
    });

    it('slowdown: throughput drops to the factor', async () => {
      const h = await training();
      const a = (await h.probe()).heartbeat!.step;
      await clock.advance(HOUR);
      const b = (await h.probe()).heartbeat!.step;
      sim.inject(h.id, { kind: 'slowdown', factor: 0.25 });
      await clock.advance(HOUR);
      const c = (await h.probe()).heartbeat!.step;
      const ratio = (c - b) / (b - a);
      expect(ratio).toBeGreaterThan(0.2);
      expect(ratio).toBeLessThan(0.3);
      expect((await h.log(1))[0]).toMatch(/\| \d+ tok\/s \| aux/);
    });

    it('ssh_hang: TCP connects but SSH never answers; clearing the fault restores service', async () => {
      const h = await training();
      sim.inject(h.id, { kind: 'ssh_hang' });
      const connected = await new Promise<boolean>((resolve) => {
        const socket = tcpConnect(h.endpoint.sshPort, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      });
      expect(connected).toBe(true);
      await expect(connect(h.endpoint.sshPort, key.privateKey, { readyTimeoutMs: 500 })).rejects.toThrow(
        /Timed out/,
      );
      sim.inject(h.id, { kind: 'clear' });
      const ssh = await connect(h.endpoint.sshPort, key.privateKey, { hostKey: h.endpoint.hostKey });
      sessions.push(ssh);
      expect((await ssh.run('true')).code).toBe(0);
    });

    it('complete: final.pt and "Training complete. Best val loss: X", then the process exits', async () => {
      const h = await training();
      sim.inject(h.id, { kind: 'complete' });
      const p = await h.probe();
      expect(p.processAlive).toBe(false);
      expect(p.checkpoints.map((c) => c.name)).toContain('final.pt');
      expect(p.logTail.at(-1)).toMatch(/^Training complete\. Best val loss: \d+\.\d{4}$/);
      expect(p.logTail.at(-2)).toMatch(/^step {2}50000\/50000 \| /);
    });

    it('reaches max_steps on its own from a late checkpoint', async () => {
      const h = await host({ diskGb: 400 });
      h.sim.seedRun({ runDir: MOE_RUN, config: MOE_CONFIG, step: 49_500 });
      await h.run(REMOTE_COMMANDS.launch(PATHS, MOE_ARGV));
      await clock.advance(3 * HOUR);
      const p = await h.probe();
      expect(p.processAlive).toBe(false);
      expect(p.logTail.at(-1)).toMatch(/^Training complete\. Best val loss: /);
      expect(p.checkpoints.map((c) => c.name)).toEqual(expect.arrayContaining(['final.pt', 'step_50000.pt']));
    });
  });

  it('delivers secrets by channel env or the mode-600 file the launch sources, never the command line', async () => {
    const h = await host();
    const write = await h.run(REMOTE_COMMANDS.writeSecretFile(PATHS), {
      stdin: renderSecretEnvFile({ HF_TOKEN: 'hf_from_file' }),
    });
    expect(write.code).toBe(0);
    expect((await h.run(`stat -c %a ${secretEnvFile(PATHS)}`)).stdout).toBe('600\n');
    await h.run(REMOTE_COMMANDS.launch(PATHS, MOE_ARGV), { env: { WANDB_MODE: 'offline' } });
    expect(h.sim.trainerEnv()).toMatchObject({ HF_TOKEN: 'hf_from_file', WANDB_MODE: 'offline' });
    expect(h.sim.channelEnvs()).toEqual([{ WANDB_MODE: 'offline' }]);
    expect(REMOTE_COMMANDS.launch(PATHS, MOE_ARGV)).not.toContain('hf_from_file');
  });

  it('answers unknown programs with bash\'s "command not found" and exit 127', async () => {
    const h = await host();
    expect(await h.run('python3 -c "print(1)"')).toEqual({
      stdout: '',
      stderr: 'bash: line 1: python3: command not found\n',
      code: 127,
    });
    expect(await h.run('cat /nope')).toEqual({
      stdout: '',
      stderr: 'cat: /nope: No such file or directory\n',
      code: 1,
    });
  });

  it('a stopped host refuses SSH and keeps its files; powered on again it serves with no trainer running', async () => {
    const h = await host();
    await h.run(REMOTE_COMMANDS.launch(PATHS, MOE_ARGV));
    await clock.advance(HOUR);
    await sim.setPower(h.id, 'stopped');
    await expect(connect(h.endpoint.sshPort, key.privateKey)).rejects.toThrow(/ECONNREFUSED/);
    await sim.setPower(h.id, 'running');
    const ssh = await connect(h.endpoint.sshPort, key.privateKey, { hostKey: h.endpoint.hostKey });
    sessions.push(ssh);
    const p = parseProbeOutput((await ssh.run(REMOTE_COMMANDS.probe(PATHS, MOE_RUN))).stdout);
    expect(p.processAlive).toBe(false);
    expect(p.heartbeat?.model).toBe('mosaic_moe');
    expect(p.checkpoints.map((c) => c.name)).toContain('latest.pt');
    await sim.destroy(h.id);
    await expect(connect(h.endpoint.sshPort, key.privateKey)).rejects.toThrow(/ECONNREFUSED/);
    expect(sim.get(h.id)).toBeUndefined();
  });

  it('rejects a client key it was not given, and each host has its own host key', async () => {
    const h1 = await host();
    const h2 = await host();
    expect(h1.endpoint.hostKey).not.toBe(h2.endpoint.hostKey);
    expect(h1.endpoint.hostKey).toMatch(/^ssh-ed25519 AAAA[A-Za-z0-9+/=]+$/);
    const stranger = clientKeyPair();
    await expect(connect(h1.endpoint.sshPort, stranger.privateKey)).rejects.toThrow(/authentication/i);
    // The client pinning h1's key refuses h2.
    await expect(
      connect(h2.endpoint.sshPort, key.privateKey, { hostKey: h1.endpoint.hostKey }),
    ).rejects.toThrow();
  });

  it('computes a week of training lazily, with a bounded log', async () => {
    const h = await host({ diskGb: 2000 });
    await h.run(REMOTE_COMMANDS.launch(PATHS, MOE_ARGV));
    const started = performance.now();
    await clock.advance(7 * 24 * HOUR);
    const p = await h.probe();
    expect(performance.now() - started).toBeLessThan(2000);
    expect(p.logTail.at(-1)).toMatch(/^Training complete/);
    expect((await h.run(`cat ${PATHS.log}`)).stdout.split('\n').length).toBeLessThanOrEqual(501);
    const size = Number((await h.run(`stat -c %s ${PATHS.log}`)).stdout);
    expect(size).toBeGreaterThan(5000 * 90);
  });
});

describe('a thousand simulated hosts', () => {
  it('are created quickly in one process and each answers SSH', async () => {
    const clock = manualClock();
    const key = clientKeyPair();
    const sim = createSimHosts({ clock, authorizedKey: key.publicKey, logger: silentLogger });
    try {
      const started = performance.now();
      const endpoints = await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          sim.create({
            instanceId: i + 1,
            gpuName: 'RTX 3090',
            numGpus: 4,
            diskGb: 100,
            env: {},
            label: `h${i}`,
          }),
        ),
      );
      const elapsedMs = performance.now() - started;
      console.info(`created 1000 simulated hosts in ${Math.round(elapsedMs)} ms`);
      expect(elapsedMs).toBeLessThan(15_000);
      expect(new Set(endpoints.map((e) => e.sshPort)).size).toBe(1000);
      expect(new Set(endpoints.map((e) => e.hostKey)).size).toBe(1000);
      await clock.advance(24 * HOUR);
      for (const i of [0, 499, 999]) {
        const e = endpoints[i]!;
        const ssh = await connect(e.sshPort, key.privateKey, { hostKey: e.hostKey });
        const p = parseProbeOutput((await ssh.run(REMOTE_COMMANDS.probe(PATHS, MOE_RUN))).stdout);
        ssh.close();
        expect(p.hostTime).toBe(Math.floor(clock.now() / 1000));
        expect(p.processAlive).toBe(false);
      }
    } finally {
      await sim.closeAll();
    }
  });
});
