import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../../src/clock.js';
import type { ProbeResult } from '../../../src/fleet/health/types.js';
import {
  type HubRepo,
  NVIDIA_SMI_FIELDS,
  parseCheckpointList,
  parseProbeOutput,
  parseRestoreOutput,
  probeOutputComplete,
  REMOTE_COMMANDS,
  REMOTE_TEMPLATES,
  type RemoteCommandName,
  renderSecretEnvFile,
  secretEnvFile,
  splitProbeOutput,
} from '../../../src/fleet/remote/index.js';
import type { Paths } from '../../../src/fleet/schema.js';
import { silentLogger } from '../../../src/logger.js';
import { createSimHosts, type SimHost, type SimHosts } from '../../../src/sim/hosts/index.js';
import { clientKeyPair, connect, type RunResult, type SshSession } from '../sim-hosts/ssh-exec.js';
import { type RealSshd, requireSshd, startRealSshd } from './real-sshd.js';

/**
 * Every command template, run through SSH against a real OpenSSH server running bash and
 * coreutils, and against the simulator, over the same file tree: same exit codes, same stderr,
 * same stdout once the things that legitimately differ (clocks, pids, the real disk) are
 * normalised, and the same parsed ProbeResult.
 */

const RUN_DIR = 'runs/mosaic_small_3090';
const MOE_CONFIG = 'configs/mosaic_small_resume.yaml';
const ARGV = [
  'torchrun',
  '--nproc_per_node=4',
  'experiments/train.py',
  '--config',
  MOE_CONFIG,
  '--run-dir',
  RUN_DIR,
  '--batch-size',
  '4',
  '--grad-accum',
  '16',
];
const STOP = 'killall -9 torchrun';
const STOP_LINE = REMOTE_COMMANDS.stop(STOP);
/** The single-GPU launch (nproc 1: gpt2_reference on RTX_4090_1x): no torchrun. */
const SINGLE_ARGV = [
  'python3',
  '-u',
  'experiments/train.py',
  '--config',
  'configs/gpt2_reference.yaml',
  '--run-dir',
  'runs/gpt2_reference',
  '--batch-size',
  '8',
  '--grad-accum',
  '32',
];
/** Processes a training box also runs: another Python program, and one that names the script. */
const BYSTANDERS = [
  { comm: 'python3', argv: ['python3', '-c', 'import time; time.sleep(600)', 'notebook-kernel'] },
  { comm: 'tail', argv: ['tail', '-f', 'experiments/train.py'] },
] as const;
const HF_PATH = 'mosaic_small_3090';
const HF_TOKEN = 'hf_parityToken0123456789';
/** The stand-in hub CLI for the real host; `@HUB@` becomes the directory playing the Hub. */
const FAKE_HUB_CLI = join(dirname(fileURLToPath(import.meta.url)), 'fake-huggingface-cli.sh');

interface Pair {
  sim: RunResult;
  real: RunResult;
}

const digits = (s: string) => s.replace(/\d+/g, 'N');

function expectSame(pair: Pair, normalise: (s: string) => string = (s) => s): void {
  expect({ code: pair.sim.code, stderr: pair.sim.stderr, stdout: normalise(pair.sim.stdout) }).toEqual({
    code: pair.real.code,
    stderr: pair.real.stderr,
    stdout: normalise(pair.real.stdout),
  });
}

/** Probe output with clock, pids and the real disk's numbers blanked, checkpoints in one order. */
function normaliseProbe(stdout: string): Record<string, { output: string; code: number }> {
  const out: Record<string, { output: string; code: number }> = {};
  for (const [part, s] of splitProbeOutput(stdout)) {
    let output = s.output;
    if (part === 'time' || part === 'alive' || part === 'log_mtime') output = digits(output);
    // Column widths follow the numbers, which differ between the real disk and the simulated one.
    if (part === 'disk' && s.code === 0) output = output.replace(/ +/g, ' ').replace(/\n.*\n?$/, '\nROW');
    if (part === 'checkpoints') output = output.split('\n').sort().join('\n');
    out[part] = { output, code: s.code };
  }
  return out;
}

function comparableProbe(p: ProbeResult, options: { logMtime: boolean }) {
  return {
    ...p,
    hostTime: p.hostTime === null ? null : 'a time',
    disk: p.disk === null ? null : 'a disk',
    logMtime: options.logMtime || p.logMtime === null ? p.logMtime : 'a time',
  };
}

describe('remote command parity: simulator vs OpenSSH + bash', () => {
  const clock = manualClock(Math.floor(Date.now() / 1000) * 1000 - 6 * 3600_000);
  const clientKey = clientKeyPair();
  let tmp = '';
  let paths: Paths;
  let sshd: RealSshd | null = null;
  let sim: SimHosts;
  let simHost: SimHost;
  let simId = 0;
  let simSession: SshSession | null = null;
  let realSession: SshSession;
  const realTrainerPids: number[] = [];

  async function both(command: string, options: { stdin?: string } = {}): Promise<Pair> {
    if (!simSession) throw new Error('no sim session');
    const [simOut, realOut] = await Promise.all([
      simSession.run(command, options),
      realSession.run(command, options),
    ]);
    return { sim: simOut, real: realOut };
  }

  async function killRealTrainers(): Promise<void> {
    for (const pid of realTrainerPids.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await waitUntilRealTrainerGone();
  }

  async function waitUntilRealTrainerGone(): Promise<void> {
    for (let i = 0; i < 50; i += 1) {
      const alive = await realSession.run(REMOTE_COMMANDS.trainerAlive());
      if (alive.code === 1) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the real trainer did not go away');
  }

  /** Whether `pid` is a live process (a killed one nobody reaps lingers as a zombie: that is gone too). */
  function realProcessExists(pid: number): boolean {
    try {
      return !readFileSync(`/proc/${pid}/stat`, 'utf8')
        .replace(/^.*\) /s, '')
        .startsWith('Z');
    } catch {
      return false;
    }
  }

  /** The real trainer has exec'd python (its command line is the trainer's, not the launching shell's). */
  async function waitUntilRealTrainerRuns(pid: number): Promise<void> {
    for (let i = 0; i < 100; i += 1) {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmdline.includes('experiments/train.py')) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`the real trainer ${pid} did not start`);
  }

  /** The same bystanders on both hosts, in the workspace; their pids on each. */
  async function startBystanders(): Promise<{ real: number[]; sim: number[] }> {
    const real = BYSTANDERS.map(({ argv }) => {
      const child = spawn(argv[0], argv.slice(1), { cwd: paths.workspace, detached: true, stdio: 'ignore' });
      child.unref();
      if (child.pid === undefined) throw new Error(`could not start ${argv.join(' ')}`);
      return child.pid;
    });
    const sim = BYSTANDERS.map(({ comm, argv }) => simHost.startProcess(comm, argv.join(' ')));
    return { real, sim };
  }

  async function stopBystanders(pids: readonly number[]): Promise<void> {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /** Copies the sim host's workspace (and log) onto the real host: same bytes, sizes, modes, mtimes. */
  async function mirror(): Promise<void> {
    const root = dirname(paths.workspace);
    await rm(root, { recursive: true, force: true });
    for (const dir of simHost.directories(root)) await mkdir(dir, { recursive: true });
    for (const file of simHost.files(root)) {
      await writeFile(file.path, file.text ?? '');
      if (file.text === null) await truncate(file.path, file.size);
      await chmod(file.path, file.mode);
      await utimes(file.path, file.mtimeMs / 1000, file.mtimeMs / 1000);
    }
    const gpus = await simSession!.run(REMOTE_COMMANDS.nvidiaSmi());
    await writeFile(join(tmp, 'gpu.csv'), gpus.stdout);
  }

  /** A new sim host that trained the MoE run for 90 minutes from step 5000 and was stopped; mirrored. */
  async function freshPair(options: { nan?: boolean } = {}): Promise<void> {
    await killRealTrainers();
    simSession?.close();
    if (simId) await sim.destroy(simId);
    simId += 1;
    const endpoint = await sim.create({
      instanceId: simId,
      gpuName: 'RTX 3090',
      numGpus: 4,
      diskGb: 100,
      env: {},
      label: 'parity',
    });
    simHost = sim.get(simId)!;
    simHost.seedRun({ runDir: RUN_DIR, config: MOE_CONFIG, step: 5000 });
    simSession = await connect(endpoint.sshPort, clientKey.privateKey, { hostKey: endpoint.hostKey });
    const launched = await simSession.run(REMOTE_COMMANDS.launch(paths, ARGV));
    expect(launched.code).toBe(0);
    await clock.advance(90 * 60_000);
    if (options.nan) {
      sim.inject(simId, { kind: 'nan' });
      await clock.advance(10 * 60_000);
    }
    expect((await simSession.run(REMOTE_COMMANDS.stop(STOP))).code).toBe(0);
    await mirror();
  }

  beforeAll(async () => {
    requireSshd();
    tmp = await mkdtemp(join(tmpdir(), 'tc-parity-'));
    paths = { workspace: join(tmp, 'workspace/mosaic-gpt'), log: join(tmp, 'workspace/training.log') };
    const bin = join(tmp, 'bin');
    await mkdir(bin, { recursive: true });
    // Fakes for what a CPU-only machine lacks. torchrun keeps its name (comm) and its command
    // line holds experiments/train.py, as the real one does; nvidia-smi answers only the query
    // the templates send, with the simulated host's rows.
    await writeFile(join(bin, 'torchrun'), '#!/bin/bash\nwhile :; do sleep 1; done\n', { mode: 0o755 });
    // A pkill whose signals achieve nothing, for the stop line's "trainer survived" branch.
    await mkdir(join(tmp, 'stuck-bin'));
    await writeFile(join(tmp, 'stuck-bin', 'pkill'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    await writeFile(
      join(bin, 'nvidia-smi'),
      `#!/bin/sh\nif [ "$*" = "--query-gpu=${NVIDIA_SMI_FIELDS} --format=csv,noheader,nounits" ]; then cat ${join(tmp, 'gpu.csv')}; exit 0; fi\necho "fake nvidia-smi: unexpected arguments: $*"; exit 2\n`,
      { mode: 0o755 },
    );
    // huggingface-cli, with a local directory as the Hub: same output and exit codes as the
    // simulator's hub CLI, so the templates' shell around it (sourcing, mkdir, mv, rm, stat,
    // timeout, exit statuses through &&) is what gets compared.
    const hubCli = (await readFile(FAKE_HUB_CLI, 'utf8')).replaceAll('@HUB@', join(tmp, 'hub'));
    await writeFile(join(bin, 'huggingface-cli'), hubCli, { mode: 0o755 });
    sshd = await startRealSshd({ dir: join(tmp, 'sshd'), authorizedKey: clientKey.publicKey, binDir: bin });
    realSession = await connect(sshd.port, clientKey.privateKey, { hostKey: sshd.hostKey });
    sim = createSimHosts({
      clock,
      authorizedKey: clientKey.publicKey,
      logger: silentLogger,
      paths,
      startupMs: 30_000,
    });
    await freshPair();
  });

  afterAll(async () => {
    for (const pid of realTrainerPids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    simSession?.close();
    realSession?.close();
    await sim?.closeAll();
    await sshd?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  /** The secret file with HF_TOKEN on both hosts, as the healer writes it before a transfer. */
  async function writeToken(): Promise<void> {
    const write = await both(REMOTE_COMMANDS.writeSecretFile(paths), {
      stdin: renderSecretEnvFile({ HF_TOKEN }),
    });
    expect(write.real.code).toBe(0);
    expect(write.sim.code).toBe(0);
  }

  const cases: Record<RemoteCommandName, () => Promise<void>> = {
    async probe() {
      await freshPair();
      const healthy = await both(REMOTE_COMMANDS.probe(paths, RUN_DIR, { logLines: 20 }));
      expect(healthy.sim.code).toBe(0);
      expect(normaliseProbe(healthy.sim.stdout)).toEqual(normaliseProbe(healthy.real.stdout));
      expect(probeOutputComplete(healthy.real.stdout)).toBe(true);
      const simProbe = parseProbeOutput(healthy.sim.stdout);
      const realProbe = parseProbeOutput(healthy.real.stdout);
      expect(comparableProbe(simProbe, { logMtime: true })).toEqual(
        comparableProbe(realProbe, { logMtime: true }),
      );
      // The comparison is not vacuous: the mirrored run has all of this.
      expect(realProbe.heartbeat?.model).toBe('mosaic_moe');
      expect(realProbe.checkpoints.map((c) => c.name)).toContain('step_5000.pt');
      expect(realProbe.logTail).toHaveLength(20);
      expect(realProbe.gpus).toHaveLength(4);
      expect(realProbe.processAlive).toBe(false);
      expect(realProbe.disk).not.toBeNull();
      expect(realProbe.hostTime).not.toBeNull();

      const missing = await both(REMOTE_COMMANDS.probe(paths, 'runs/never_started'));
      expect(normaliseProbe(missing.sim.stdout)).toEqual(normaliseProbe(missing.real.stdout));
      const simMissing = parseProbeOutput(missing.sim.stdout);
      expect(comparableProbe(simMissing, { logMtime: true })).toEqual(
        comparableProbe(parseProbeOutput(missing.real.stdout), { logMtime: true }),
      );
      expect(simMissing.heartbeatError).toMatch(/No such file or directory/);
      expect(simMissing.exitCodes['checkpoints']).toBe(1);

      await freshPair({ nan: true });
      const nan = await both(REMOTE_COMMANDS.probe(paths, RUN_DIR));
      const simNan = parseProbeOutput(nan.sim.stdout);
      expect(simNan.heartbeat?.lossIsNaN).toBe(true);
      expect(comparableProbe(simNan, { logMtime: true })).toEqual(
        comparableProbe(parseProbeOutput(nan.real.stdout), { logMtime: true }),
      );
    },

    async hostTime() {
      const pair = await both(REMOTE_COMMANDS.hostTime());
      expectSame(pair, digits);
      expect(pair.real.stdout).toMatch(/^\d+\n$/);
      expect(Math.abs(Number(pair.real.stdout) - Date.now() / 1000)).toBeLessThan(30);
    },

    async readFile() {
      await freshPair();
      const heartbeat = await both(REMOTE_COMMANDS.readFile(`${paths.workspace}/${RUN_DIR}/heartbeat.json`));
      expectSame(heartbeat);
      expect(heartbeat.real.stdout).toMatch(/^\{"step": \d+, "loss": /);
      expectSame(await both(REMOTE_COMMANDS.readFile(`${paths.workspace}/configs/mosaic_small.yaml`)));
      const missing = await both(REMOTE_COMMANDS.readFile(`${paths.workspace}/nope.json`));
      expectSame(missing);
      expect(missing.real.code).toBe(1);
      expectSame(await both(REMOTE_COMMANDS.readFile(`${paths.workspace}/configs`)));
    },

    async logTail() {
      const tail = await both(REMOTE_COMMANDS.logTail(paths.log, 7));
      expectSame(tail);
      expect(tail.real.stdout.split('\n')).toHaveLength(8);
      expectSame(await both(REMOTE_COMMANDS.logTail(`${tmp}/no/such.log`, 5)));
    },

    async logMtime() {
      const mtime = await both(REMOTE_COMMANDS.logMtime(paths.log));
      expectSame(mtime);
      expect(mtime.real.stdout).toMatch(/^\d+\n$/);
      expectSame(await both(REMOTE_COMMANDS.logMtime(`${tmp}/no/such.log`)));
    },

    async nvidiaSmi() {
      const smi = await both(REMOTE_COMMANDS.nvidiaSmi());
      expectSame(smi);
      expect(smi.real.stdout.trim().split('\n')).toHaveLength(4);
    },

    async diskUsage() {
      const df = await both(REMOTE_COMMANDS.diskUsage(paths.workspace));
      expect(df.sim.code).toBe(df.real.code);
      const header = (out: string) => out.split('\n')[0]!.replace(/ +/g, ' ');
      expect(header(df.sim.stdout)).toBe(header(df.real.stdout));
      const row = /^\S+\s+\d+\s+\d+\s+\d+\s+\d+%\s+\/\S*\n$/;
      expect(df.sim.stdout.split('\n').slice(1).join('\n')).toMatch(row);
      expect(df.real.stdout.split('\n').slice(1).join('\n')).toMatch(row);
      expectSame(await both(REMOTE_COMMANDS.diskUsage(`${tmp}/no/such/dir`)));
    },

    async listCheckpoints() {
      await freshPair();
      const list = await both(REMOTE_COMMANDS.listCheckpoints(paths, RUN_DIR));
      expect(list.sim.code).toBe(0);
      expect(parseCheckpointList(list.sim.stdout)).toEqual(parseCheckpointList(list.real.stdout));
      expect(parseCheckpointList(list.real.stdout).length).toBeGreaterThanOrEqual(4);
      expectSame(await both(REMOTE_COMMANDS.listCheckpoints(paths, 'runs/never_started')));
    },

    async trainerAlive() {
      await freshPair();
      const idle = await both(REMOTE_COMMANDS.trainerAlive());
      expectSame(idle);
      expect(idle.real.code).toBe(1);
      const launch = await both(REMOTE_COMMANDS.launch(paths, ARGV));
      realTrainerPids.push(Number(launch.real.stdout));
      const busy = await both(REMOTE_COMMANDS.trainerAlive());
      expect(busy.sim.code).toBe(0);
      expect(busy.real.code).toBe(0);
      expect(busy.real.stdout.trim().split('\n').map(Number)).toContain(Number(launch.real.stdout));
      await killRealTrainers();
    },

    async stop() {
      // A torchrun trainer: the policy's killall ends it.
      await freshPair();
      const bystanders = await startBystanders();
      const launch = await both(REMOTE_COMMANDS.launch(paths, ARGV));
      realTrainerPids.push(Number(launch.real.stdout));
      const stop = await both(STOP_LINE);
      expectSame(stop);
      expect(stop.real).toEqual({ code: 0, stdout: 'stopped\n', stderr: '' });
      await waitUntilRealTrainerGone();
      expectSame(await both(REMOTE_COMMANDS.trainerAlive()));

      // A single-process `python3 -u experiments/train.py` trainer (nproc 1), which killall
      // cannot see: the line's pkill ends it, on both.
      const single = await both(REMOTE_COMMANDS.launch(paths, SINGLE_ARGV));
      realTrainerPids.push(Number(single.real.stdout));
      await waitUntilRealTrainerRuns(Number(single.real.stdout));
      const stopSingle = await both(STOP_LINE);
      expectSame(stopSingle);
      expect(stopSingle.real).toEqual({ code: 0, stdout: 'stopped\n', stderr: '' });
      expect(realProcessExists(Number(single.real.stdout))).toBe(false);
      expectSame(await both(REMOTE_COMMANDS.trainerAlive()));

      // Nothing running.
      const idle = await both(STOP_LINE);
      expectSame(idle);
      expect(idle.real).toEqual({ code: 0, stdout: 'not running\n', stderr: '' });

      // Other processes, other Python programs and ones naming the script, lived through all of it.
      for (const pid of bystanders.real) expect(realProcessExists(pid)).toBe(true);
      expect(simHost.processes().map((p) => p.pid)).toEqual(bystanders.sim);
      await stopBystanders(bystanders.real);

      // A trainer that survives SIGKILL (stuck in the kernel): the real host gets a pkill that
      // signals nothing, as a kill queued on a D-state process achieves nothing.
      const stuck = await both(REMOTE_COMMANDS.launch(paths, SINGLE_ARGV));
      realTrainerPids.push(Number(stuck.real.stdout));
      await waitUntilRealTrainerRuns(Number(stuck.real.stdout));
      sim.inject(simId, { kind: 'unkillable' });
      const [simStuck, realStuck] = await Promise.all([
        simSession!.run(STOP_LINE),
        realSession.run(`PATH=${join(tmp, 'stuck-bin')}:$PATH; ${STOP_LINE}`),
      ]);
      expectSame({
        sim: { ...simStuck, stderr: digits(simStuck.stderr) },
        real: { ...realStuck, stderr: digits(realStuck.stderr) },
      });
      expect(realStuck).toEqual({
        code: 1,
        stdout: '',
        stderr: `trainer still running after kill -9: ${Number(stuck.real.stdout)}\n`,
      });
      await killRealTrainers();
    },

    async cleanupCheckpoints() {
      await freshPair();
      const cleanup = await both(
        REMOTE_COMMANDS.cleanupCheckpoints(paths, RUN_DIR, ['step_2500.pt', 'step_99999.pt']),
      );
      expectSame(cleanup);
      expect(cleanup.real.code).toBe(0);
      const list = await both(REMOTE_COMMANDS.listCheckpoints(paths, RUN_DIR));
      const remaining = parseCheckpointList(list.real.stdout).map((c) => c.name);
      expect(remaining).not.toContain('step_2500.pt');
      expect(remaining).toContain('latest.pt');
      expect(parseCheckpointList(list.sim.stdout)).toEqual(parseCheckpointList(list.real.stdout));
    },

    async launch() {
      await freshPair();
      const launch = await both(REMOTE_COMMANDS.launch(paths, ARGV));
      realTrainerPids.push(Number(launch.real.stdout));
      expectSame(launch, digits);
      expect(launch.real.stdout).toMatch(/^\d+\n$/);
      // Returned at once, and the trainer outlived the SSH exec that started it.
      const probe = await both(REMOTE_COMMANDS.probe(paths, RUN_DIR));
      const simProbe = parseProbeOutput(probe.sim.stdout);
      expect(simProbe.processAlive).toBe(true);
      expect(comparableProbe(simProbe, { logMtime: false })).toEqual(
        comparableProbe(parseProbeOutput(probe.real.stdout), { logMtime: false }),
      );
      const badWorkspace = { ...paths, workspace: `${tmp}/no/workspace` };
      expectSame(await both(REMOTE_COMMANDS.launch(badWorkspace, ARGV)));
      await killRealTrainers();
    },

    async configExperts() {
      await freshPair();
      for (const config of [MOE_CONFIG, 'configs/mosaic_small.yaml', 'configs/mosaic_dense.yaml']) {
        expectSame(await both(REMOTE_COMMANDS.configExperts(paths, config)));
      }
      expect((await realSession.run(REMOTE_COMMANDS.configExperts(paths, MOE_CONFIG))).stdout).toBe('4\n');
      const missing = await both(REMOTE_COMMANDS.configExperts(paths, 'configs/nope.yaml'));
      expectSame(missing);
      expect(missing.real.code).toBe(2);
    },

    async writeSecretFile() {
      await freshPair();
      const body = renderSecretEnvFile({ HF_TOKEN: "hf_it's-secret" });
      const write = await both(REMOTE_COMMANDS.writeSecretFile(paths), { stdin: body });
      expectSame(write);
      expect(write.real.code).toBe(0);
      const file = secretEnvFile(paths);
      expectSame(await both(`stat -c %a ${file}`));
      expect((await realSession.run(`stat -c %a ${file}`)).stdout).toBe('600\n');
      expectSame(await both(REMOTE_COMMANDS.readFile(file)));
    },

    async backupCheckpoint() {
      await freshPair();
      const repo: HubRepo = { repoType: 'model', repoId: 'tc-parity/backup' };
      const latest = REMOTE_COMMANDS.backupCheckpoint(paths, RUN_DIR, repo, HF_PATH, 'latest.pt');
      const noToken = await both(latest);
      expectSame(noToken);
      expect(noToken.real.code).toBe(1);
      expect(noToken.real.stderr).toContain('401 Client Error: Unauthorized');
      // The local file is checked before the Hub is asked anything.
      const noFile = await both(REMOTE_COMMANDS.backupCheckpoint(paths, RUN_DIR, repo, HF_PATH, 'final.pt'));
      expectSame(noFile);
      expect(noFile.real.stderr).toMatch(
        /FileNotFoundError: No such file or directory: '.*\/final\.pt'\.\n$/,
      );

      await writeToken();
      const upload = await both(latest);
      expectSame(upload);
      expect(upload.real).toEqual({
        code: 0,
        stderr: '',
        stdout: `https://huggingface.co/tc-parity/backup/blob/main/${HF_PATH}/latest.pt\n`,
      });
      // Both hubs now hold the same checkpoint.
      const real = await stat(join(tmp, 'hub/model/tc-parity/backup', HF_PATH, 'latest.pt'));
      const simFile = sim.hub.get('model', 'tc-parity/backup', `${HF_PATH}/latest.pt`);
      expect(simFile?.size).toBe(real.size);
      expect(simFile?.meta?.model).toBe('mosaic_moe');
      const dataset = await both(
        REMOTE_COMMANDS.backupCheckpoint(
          paths,
          RUN_DIR,
          { repoType: 'dataset', repoId: 'tc-parity/backup' },
          HF_PATH,
          'best.pt',
        ),
      );
      expectSame(dataset);
      expect(dataset.real.stdout).toContain('https://huggingface.co/datasets/tc-parity/backup/blob/main/');
    },

    async restoreCheckpoint() {
      await freshPair();
      const repo: HubRepo = { repoType: 'model', repoId: 'tc-parity/restore' };
      const runPath = `${paths.workspace}/${RUN_DIR}`;
      const restore = REMOTE_COMMANDS.restoreCheckpoint(paths, RUN_DIR, repo, HF_PATH);
      const noToken = await both(restore);
      expectSame(noToken);
      expect(noToken.real.code).toBe(1);
      expect(noToken.real.stderr).toContain('RepositoryNotFoundError: 401 Client Error.');

      await writeToken();
      const noRepo = await both(restore);
      expectSame(noRepo);
      expect(noRepo.real.stderr).toContain('RepositoryNotFoundError: 404 Client Error.');
      const upload = await both(REMOTE_COMMANDS.backupCheckpoint(paths, RUN_DIR, repo, HF_PATH, 'latest.pt'));
      expect(upload.real.code).toBe(0);
      expect(upload.sim.code).toBe(0);
      const noEntry = await both(REMOTE_COMMANDS.restoreCheckpoint(paths, RUN_DIR, repo, 'never_backed_up'));
      expectSame(noEntry);
      expect(noEntry.real.stderr).toContain('EntryNotFoundError: 404 Client Error.');
      // Failed attempts leave latest.pt alone and the download directory behind.
      expectSame(await both(`ls -a ${runPath}`));
      expect((await realSession.run(`ls -a ${runPath}`)).stdout).toContain('.tc_restore\n');

      const before = parseCheckpointList(
        (await realSession.run(REMOTE_COMMANDS.listCheckpoints(paths, RUN_DIR))).stdout,
      );
      const size = before.find((c) => c.name === 'latest.pt')?.bytes;
      expect(size).toBeGreaterThan(0);
      expectSame(await both(`rm -f ${runPath}/latest.pt`));
      const restored = await both(restore);
      expectSame(restored);
      expect(restored.real.code).toBe(0);
      expect(parseRestoreOutput(restored.real.stdout)).toEqual({ path: `${runPath}/latest.pt`, bytes: size });
      const after = await both(REMOTE_COMMANDS.listCheckpoints(paths, RUN_DIR));
      expect(parseCheckpointList(after.sim.stdout)).toEqual(parseCheckpointList(after.real.stdout));
      expect(parseCheckpointList(after.real.stdout)).toEqual(before);
      // The download directory is gone on both.
      const listing = await both(`ls -a ${runPath}`);
      expectSame(listing);
      expect(listing.real.stdout).not.toContain('.tc_restore');
    },
  };

  it('has a parity case for every command in the registry', () => {
    expect(Object.keys(cases)).toContain('backupCheckpoint');
    expect(Object.keys(cases).sort()).toEqual(Object.keys(REMOTE_COMMANDS).sort());
    expect(Object.keys(REMOTE_TEMPLATES).sort()).toEqual(Object.keys(REMOTE_COMMANDS).sort());
  });

  for (const name of Object.keys(REMOTE_COMMANDS) as RemoteCommandName[]) {
    it(`${name}: same exit code, output and parse on the simulator and on OpenSSH + bash`, async () => {
      const run = cases[name];
      if (!run) throw new Error(`no parity case for ${name}`);
      await run();
    });
  }

  it('fails unknown programs the way bash does', async () => {
    expectSame(await both('tc_no_such_program --flag'));
    expectSame(await both('date +%s && tc_no_such_program'), digits);
    const simple = await both(`ls ${paths.workspace}/configs`);
    expectSame(simple);
  });
});
