import type { Clock } from '../../clock.js';
import { ValidationError } from '../../errors.js';
import type { Paths } from '../../fleet/schema.js';
import type { SimHostPower, SimHostSpec } from '../types.js';
import type { ExecOutput, GpuRow } from './builtins.js';
import { type GpuModel, gpuModel, modelForConfig, REPO_FILES, readTrainingConfig } from './catalog.js';
import { SimHub } from './hub.js';
import { type ExecRequest, execute, type ShellHost } from './shell.js';
import {
  type CrashSignature,
  type SimProcess,
  type TrainerHost,
  TrainerProcess,
  type TrainerStatus,
} from './trainer.js';
import { type FileSnapshot, parentOf, VirtualFs } from './vfs.js';

/** Faults a test or the demo can inject into a host. */
export type SimFault =
  /** The process stays alive and keeps writing heartbeats; the step stops moving. */
  | { kind: 'stall' }
  /** The trainer dies with the signature's traceback (optionally after a delay of clock time). */
  | { kind: 'crash'; signature: CrashSignature; afterMs?: number }
  /** The loss turns NaN and stays so; the process keeps running. */
  | { kind: 'nan' }
  /** Something outside the run fills the disk to `pct` (default 99%): the next checkpoint fails. */
  | { kind: 'disk_fill'; pct?: number }
  /** Throughput drops to `factor` (default 0.3) of normal. */
  | { kind: 'slowdown'; factor?: number }
  /** SSH accepts TCP and never answers. */
  | { kind: 'ssh_hang' }
  /** The run reaches max_steps now: final.pt and the completion line. */
  | { kind: 'complete' }
  /**
   * The trainer hangs in uninterruptible sleep (D state, e.g. stuck in the GPU driver): the step
   * stops and SIGKILL is queued without effect, so no stop can end it (powering off still does).
   */
  | { kind: 'unkillable' }
  /** Undo stall, nan, slowdown, disk_fill, ssh_hang and unkillable. */
  | { kind: 'clear' };

export interface SimHostConfig {
  spec: SimHostSpec;
  clock: Clock;
  paths: Paths;
  /** Clock time the trainer spends loading before its first step. */
  startupMs: number;
  /** The Hugging Face Hub shared with the other hosts (default: one of its own). */
  hub?: SimHub;
}

/** The rest of the disk: OS, image, dataset cache. */
const BASE_USED_BYTES = 12e9;
const FILL_FILE = '/root/.cache/huggingface/hub/sim-disk-fill.bin';
const FIRST_PID = 4200;
const TRAINERS_KEPT = 4;

export class SimHost implements ShellHost, TrainerHost {
  readonly id: number;
  readonly spec: SimHostSpec;
  readonly paths: Paths;
  readonly vfs: VirtualFs;
  readonly gpu: GpuModel;
  readonly hub: SimHub;
  power: SimHostPower = 'running';
  private readonly clock: Clock;
  private readonly startupMs: number;
  private trainers: TrainerProcess[] = [];
  /** Trainers in uninterruptible sleep: signals do not end them. */
  private readonly unkillable = new Set<TrainerProcess>();
  /** Processes that are not trainers (a notebook, an editor): a stop must leave them alone. */
  private others: SimProcess[] = [];
  private nextPid = FIRST_PID;
  private readonly envRequests: Readonly<Record<string, string>>[] = [];
  /** Set by the provider: flips the SSH endpoint into the hung state. */
  onSshHang: (hang: boolean) => void = () => {};

  constructor(config: SimHostConfig) {
    this.id = config.spec.instanceId;
    this.spec = config.spec;
    this.paths = config.paths;
    this.clock = config.clock;
    this.startupMs = config.startupMs;
    this.gpu = gpuModel(config.spec.gpuName);
    this.hub = config.hub ?? new SimHub();
    const total = config.spec.diskGb * 1e9;
    this.vfs = new VirtualFs(total, Math.min(BASE_USED_BYTES, total * 0.2));
    this.seedWorkspace();
  }

  get gpuName(): string {
    return this.spec.gpuName;
  }

  get gpuCount(): number {
    return this.spec.numGpus;
  }

  nowMs(): number {
    return this.clock.now();
  }

  hostname(): string {
    return `C.${this.id}`;
  }

  private seedWorkspace(): void {
    const now = this.nowMs();
    for (const dir of ['/root', '/tmp', parentOf(this.paths.log), `${this.paths.workspace}/runs`]) {
      this.vfs.mkdirp(dir, now);
    }
    for (const [rel, text] of Object.entries(REPO_FILES)) {
      const path = `${this.paths.workspace}/${rel}`;
      this.vfs.mkdirp(parentOf(path), now);
      this.vfs.writeText(path, text, now);
    }
  }

  /** Brings every trainer up to the clock's now. Called whenever the host is touched. */
  sync(): void {
    const now = this.nowMs();
    for (const t of this.trainers) t.advance(now);
  }

  /** Runs one command line as the SSH server would (no SSH involved: for in-process users). */
  exec(
    command: string,
    options: { stdin?: string; env?: Readonly<Record<string, string>> } = {},
  ): ExecOutput {
    if (this.power !== 'running') throw new ValidationError(`sim host ${this.id} is stopped`);
    this.sync();
    const req: ExecRequest = { command };
    if (options.stdin !== undefined) req.stdin = options.stdin;
    if (options.env !== undefined) req.env = options.env;
    return execute(this, req);
  }

  containerEnv(): Readonly<Record<string, string>> {
    return this.spec.env;
  }

  recordEnv(env: Readonly<Record<string, string>>): void {
    this.envRequests.push({ ...env });
  }

  /** Every SSH env request received, oldest first (values included: tests only, never logged). */
  channelEnvs(): readonly Readonly<Record<string, string>>[] {
    return this.envRequests;
  }

  // --- ShellHost / TrainerHost --------------------------------------------------------------

  processes(): readonly SimProcess[] {
    return [...this.trainers.flatMap((t) => t.processes()), ...this.others].sort((a, b) => a.pid - b.pid);
  }

  signalByName(name: string, signal: 'KILL' | 'TERM'): number {
    return this.signalWhere((p) => p.comm.slice(0, 15) === name.slice(0, 15), signal);
  }

  signalPids(pids: readonly number[], signal: 'KILL' | 'TERM'): number {
    const wanted = new Set(pids);
    return this.signalWhere((p) => wanted.has(p.pid), signal);
  }

  /**
   * Signals the matching processes; returns how many matched. A trainer is one unit: signalling
   * any of its processes (torchrun or a worker) ends all of them, as torchrun tears its workers
   * down and they die with it. Any signal ends another process (none of them handles one).
   */
  private signalWhere(matches: (p: SimProcess) => boolean, signal: 'KILL' | 'TERM'): number {
    const now = this.nowMs();
    let hits = 0;
    for (const t of this.trainers) {
      const matching = t.processes().filter(matches).length;
      if (matching === 0) continue;
      hits += matching;
      if (this.unkillable.has(t)) continue;
      if (signal === 'KILL') t.kill(now);
      else t.terminate(now);
    }
    const others = this.others.filter(matches);
    this.others = this.others.filter((p) => !matches(p));
    return hits + others.length;
  }

  gpuRows(): readonly GpuRow[] {
    const load = this.trainers.find((t) => t.gpuLoad().count > 0)?.gpuLoad() ?? { count: 0, utilPct: 0 };
    const total = this.gpu.memTotalMb;
    return Array.from({ length: this.gpuCount }, (_, index) => {
      const busy = index < load.count;
      return {
        index,
        name: this.gpuName,
        utilPct: busy ? load.utilPct - (index % 3) : 0,
        memUsedMb: busy ? Math.round(total * 0.83) + index * 7 : 1,
        memTotalMb: total,
        tempC: busy ? 68 + index : 34 + index,
      };
    });
  }

  gpusBusy(self: TrainerProcess): boolean {
    return this.trainers.some((t) => t !== self && t.alive && t.phase === 'training');
  }

  allocatePid(): number {
    const pid = this.nextPid;
    this.nextPid += 1;
    return pid;
  }

  launchTrainer(argv: readonly string[], env: Readonly<Record<string, string>>, paths: Paths): number {
    const pid = this.nextPid;
    // The launcher, one worker per GPU, and a gap for the shells around them.
    this.nextPid += this.gpuCount + 4;
    const trainer = new TrainerProcess(this, {
      argv,
      // The env given at rent is the container's; channel env and the sourced secret file override it.
      env: { ...this.spec.env, ...env },
      pid,
      atMs: this.nowMs(),
      startupMs: this.startupMs,
      paths,
    });
    this.trainers.push(trainer);
    this.trainers = this.trainers.filter((t, i) => t.alive || i >= this.trainers.length - TRAINERS_KEPT);
    return pid;
  }

  // --- for tests and the demo ---------------------------------------------------------------

  /** Starts a process that is not a trainer (`comm` as killall sees it, `cmdline` as pgrep -f does); returns its pid. */
  startProcess(comm: string, cmdline: string): number {
    const pid = this.allocatePid();
    this.others.push({ pid, comm, cmdline });
    return pid;
  }

  /** The most recently launched trainer's state, brought up to now; null before any launch. */
  trainerStatus(): TrainerStatus | null {
    this.sync();
    return this.trainers.at(-1)?.status() ?? null;
  }

  /** The environment the latest trainer started with (values: tests only). */
  trainerEnv(): Readonly<Record<string, string>> | null {
    return this.trainers.at(-1)?.env ?? null;
  }

  /** Files under `root` (default: everything), brought up to now. */
  files(root = '/'): FileSnapshot[] {
    this.sync();
    return this.vfs.snapshot(root);
  }

  directories(root = '/'): string[] {
    return this.vfs.directories(root);
  }

  /**
   * Puts a run's checkpoints in place as a restore from backup would: latest.pt and best.pt at
   * `step`, and step_<N>.pt every save_interval up to it. Experts and size follow the config.
   */
  seedRun(run: { runDir: string; config: string; step: number }): void {
    const now = this.nowMs();
    const configFile = this.vfs.get(`${this.paths.workspace}/${run.config}`);
    const cfg = readTrainingConfig(configFile?.kind === 'text' ? configFile.text : '');
    const model = modelForConfig(run.config, run.runDir);
    const dir = `${this.paths.workspace}/${run.runDir}`;
    this.vfs.mkdirp(dir, now);
    const size = Math.round(model.checkpointGb * 1e9);
    const put = (name: string, step: number) =>
      this.vfs.put(`${dir}/${name}`, {
        kind: 'blob',
        size,
        meta: { step, nExperts: cfg.nExperts, model: model.name },
        mtimeMs: now,
        mode: 0o644,
      });
    for (let s = cfg.saveInterval; s <= run.step; s += cfg.saveInterval) put(`step_${s}.pt`, s);
    put('latest.pt', run.step);
    put('best.pt', run.step);
  }

  inject(fault: SimFault): void {
    const now = this.nowMs();
    this.sync();
    switch (fault.kind) {
      case 'ssh_hang':
        this.onSshHang(true);
        return;
      case 'disk_fill':
        this.fillDisk(fault.pct ?? 99, now);
        return;
      case 'clear':
        this.onSshHang(false);
        this.vfs.remove(FILL_FILE);
        this.unkillable.clear();
        for (const t of this.trainers.filter((x) => x.alive)) {
          t.setStalled(false, now);
          t.setSpeed(1, now);
          t.setNan(false, now);
        }
        return;
      default:
        break;
    }
    const trainer = this.trainers.findLast((t) => t.alive);
    if (!trainer) throw new ValidationError(`sim host ${this.id} has no running trainer to ${fault.kind}`);
    if (fault.kind === 'stall') trainer.setStalled(true, now);
    else if (fault.kind === 'unkillable') {
      trainer.setStalled(true, now);
      this.unkillable.add(trainer);
    } else if (fault.kind === 'nan') trainer.setNan(true, now);
    else if (fault.kind === 'slowdown') trainer.setSpeed(fault.factor ?? 0.3, now);
    else if (fault.kind === 'crash') trainer.crash(fault.signature, now, fault.afterMs ?? 0);
    else trainer.complete(now);
  }

  private fillDisk(pct: number, now: number): void {
    if (!(pct > 0 && pct <= 100)) throw new ValidationError(`disk_fill pct must be in (0, 100], got ${pct}`);
    this.vfs.remove(FILL_FILE);
    const target = (this.vfs.totalBytes * pct) / 100;
    const size = Math.max(0, Math.min(this.vfs.freeBytes(), Math.round(target - this.vfs.usedBytes())));
    this.vfs.mkdirp(parentOf(FILL_FILE), now);
    this.vfs.put(FILL_FILE, { kind: 'blob', size, meta: null, mtimeMs: now, mode: 0o644 });
  }

  /** Power off: every process dies without saving; the files stay. */
  powerOff(): void {
    const now = this.nowMs();
    for (const t of this.trainers) t.kill(now);
    this.unkillable.clear();
    this.others = [];
    this.power = 'stopped';
  }

  powerOn(): void {
    this.power = 'running';
  }
}
