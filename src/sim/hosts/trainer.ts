import type { Paths } from '../../fleet/schema.js';
import {
  type GpuModel,
  type ModelInfo,
  modelForConfig,
  readTrainingConfig,
  type TrainingConfig,
} from './catalog.js';
import { auxLoss, evalLoss, gradNorm, learningRate, trainLoss } from './curves.js';
import {
  completeLine,
  diskFullTrace,
  evalLine,
  heartbeatJson,
  invalidDeviceTrace,
  killedTrace,
  missingConfigTrace,
  ncclTimeoutTrace,
  noKernelImageTrace,
  oomTrace,
  resumedLine,
  SIGTERM_LINE,
  sizeMismatchTrace,
  stepLine,
  type TraceContext,
  usageError,
} from './formats.js';
import { type CheckpointMeta, DiskFullError, type VirtualFs } from './vfs.js';

/**
 * The simulated trainer: a process started by the launch command that loads, resumes from
 * latest.pt, steps at a rate set by the GPUs and the profile, writes heartbeat.json every 30 s,
 * a log line every 10 steps and checkpoints on the training project's cadence, and fails the
 * way the real one does. Nothing runs on a timer: `advance(now)` computes everything that
 * happened since the last call, so a manual or 1000x clock needs no sleeping and a thousand
 * idle hosts cost nothing.
 */

export type CrashSignature = 'oom' | 'nccl' | 'killed';

export const HEARTBEAT_INTERVAL_MS = 30_000;
/** Step lines generated per stretch of constant speed; older ones would scroll out of the kept log anyway. */
const MAX_LINES_PER_STRETCH = 500;
const GPU_UTIL_TRAINING = 97;
/** A hung collective spins the GPUs (NCCL busy-waits). */
const GPU_UTIL_HUNG = 100;

export interface TrainerHost {
  readonly vfs: VirtualFs;
  readonly gpuName: string;
  readonly gpuCount: number;
  readonly gpu: GpuModel;
  /** Another live trainer already holds the GPUs. */
  gpusBusy(self: TrainerProcess): boolean;
}

export interface TrainerLaunch {
  argv: readonly string[];
  /** Environment the trainer started with (channel env + the sourced secret file). */
  env: Readonly<Record<string, string>>;
  pid: number;
  atMs: number;
  startupMs: number;
  /** Workspace (the launch's cd) and log (its redirect). */
  paths: Paths;
}

export interface SimProcess {
  pid: number;
  /** `comm`: what pgrep -x and killall match. */
  comm: string;
  /** What pgrep -f matches. */
  cmdline: string;
}

export type TrainerPhase = 'starting' | 'training' | 'exited';

export interface TrainerStatus {
  phase: TrainerPhase;
  pid: number;
  launcher: 'torchrun' | 'python3' | null;
  step: number;
  maxSteps: number | null;
  config: string | null;
  runDir: string | null;
  model: string | null;
  stalled: boolean;
  nan: boolean;
  speedFactor: number;
  exitCode: number | null;
  exitReason: string | null;
  exitedAtMs: number | null;
  envNames: string[];
}

interface ParsedArgv {
  launcher: 'torchrun' | 'python3';
  nproc: number;
  script: string;
  config: string | null;
  runDir: string | null;
  batchSize: number;
  gradAccum: number;
}

function optionValue(args: readonly string[], name: string): string | null {
  for (let i = 0; i < args.length; i += 1) {
    const a = args[i]!;
    if (a === name) return args[i + 1] ?? null;
    if (a.startsWith(`${name}=`)) return a.slice(name.length + 1);
  }
  return null;
}

function positiveInt(value: string | null, fallback: number): number {
  const n = value === null ? Number.NaN : Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

/** torchrun / python3 command lines as the launch policy builds them. */
export function parseTrainerArgv(argv: readonly string[]): ParsedArgv | { execError: string } {
  const program = argv[0] ?? '';
  const name = program.slice(program.lastIndexOf('/') + 1);
  let i = 1;
  let nproc = 1;
  let launcher: ParsedArgv['launcher'];
  if (name === 'torchrun') {
    launcher = 'torchrun';
    for (; i < argv.length && argv[i]!.startsWith('-'); i += 1) {
      const a = argv[i]!;
      const m = /^--nproc[_-]per[_-]node(?:=(.*))?$/.exec(a);
      if (m) nproc = positiveInt(m[1] ?? argv[++i] ?? null, 1);
    }
  } else if (name === 'python3' || name === 'python') {
    launcher = 'python3';
    while (i < argv.length && argv[i]!.startsWith('-')) i += 1;
  } else {
    return { execError: `setsid: failed to execute ${program}: No such file or directory` };
  }
  const script = argv[i] ?? '';
  const args = argv.slice(i + 1);
  return {
    launcher,
    nproc,
    script,
    config: optionValue(args, '--config'),
    runDir: optionValue(args, '--run-dir'),
    batchSize: positiveInt(optionValue(args, '--batch-size'), 8),
    gradAccum: positiveInt(optionValue(args, '--grad-accum'), 8),
  };
}

function displayCommand(argv: readonly string[]): string {
  return argv.join(' ');
}

export class TrainerProcess {
  readonly pid: number;
  readonly launchedAtMs: number;
  readonly startAtMs: number;
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly paths: Paths;
  private readonly parsed: ParsedArgv | null;
  phase: TrainerPhase = 'starting';
  private cfg: TrainingConfig | null = null;
  private model: ModelInfo | null = null;
  /** Fractional step position. */
  private pos = 0;
  private lastMs: number;
  private tokensDone = 0;
  private trainMs = 0;
  private lastHeartbeatTick = Number.NEGATIVE_INFINITY;
  private bestVal = Number.POSITIVE_INFINITY;
  private stalled = false;
  private speed = 1;
  private nanFromStep: number | null = null;
  private pendingCrash: { atMs: number; signature: CrashSignature } | null = null;
  private exit: { atMs: number; code: number; reason: string } | null = null;

  constructor(
    private readonly host: TrainerHost,
    launch: TrainerLaunch,
  ) {
    this.pid = launch.pid;
    this.launchedAtMs = launch.atMs;
    this.startAtMs = launch.atMs + launch.startupMs;
    this.lastMs = launch.atMs;
    this.argv = launch.argv;
    this.env = launch.env;
    this.paths = launch.paths;
    const parsed = parseTrainerArgv(launch.argv);
    if ('execError' in parsed) {
      this.parsed = null;
      this.fail(launch.atMs, 127, 'exec failed', [parsed.execError]);
    } else {
      this.parsed = parsed;
    }
  }

  get alive(): boolean {
    return this.phase !== 'exited';
  }

  get launcher(): 'torchrun' | 'python3' | null {
    return this.parsed?.launcher ?? null;
  }

  /** The rank-0 worker (what the heartbeat's `pid` names). */
  private get workerPid(): number {
    return this.parsed?.launcher === 'torchrun' ? this.pid + 1 : this.pid;
  }

  private get ws(): string {
    return this.paths.workspace;
  }

  private get runPath(): string {
    return `${this.ws}/${this.parsed?.runDir ?? ''}`;
  }

  processes(): SimProcess[] {
    if (!this.alive || !this.parsed) return [];
    const cmd = displayCommand(this.argv);
    if (this.parsed.launcher === 'python3') return [{ pid: this.pid, comm: 'python3', cmdline: cmd }];
    const workerArgs = this.argv.slice(this.argv.indexOf(this.parsed.script));
    const workers = Array.from({ length: this.parsed.nproc }, (_, k) => ({
      pid: this.pid + 1 + k,
      comm: 'python3',
      cmdline: `/usr/bin/python3 -u ${displayCommand(workerArgs)}`,
    }));
    return [
      { pid: this.pid, comm: 'torchrun', cmdline: `/usr/bin/python3 /usr/local/bin/${cmd}` },
      ...workers,
    ];
  }

  /** GPUs this trainer keeps busy, and how busy. */
  gpuLoad(): { count: number; utilPct: number } {
    if (this.phase !== 'training' || !this.parsed) return { count: 0, utilPct: 0 };
    return {
      count: Math.min(this.parsed.nproc, this.host.gpuCount),
      utilPct: this.stalled ? GPU_UTIL_HUNG : GPU_UTIL_TRAINING,
    };
  }

  status(): TrainerStatus {
    return {
      phase: this.phase,
      pid: this.pid,
      launcher: this.launcher,
      step: Math.floor(this.pos),
      maxSteps: this.cfg?.maxSteps ?? null,
      config: this.parsed?.config ?? null,
      runDir: this.parsed?.runDir ?? null,
      model: this.model?.name ?? null,
      stalled: this.stalled,
      nan: this.nanFromStep !== null,
      speedFactor: this.speed,
      exitCode: this.exit?.code ?? null,
      exitReason: this.exit?.reason ?? null,
      exitedAtMs: this.exit?.atMs ?? null,
      envNames: Object.keys(this.env).sort(),
    };
  }

  // --- time -------------------------------------------------------------------------------

  /** Brings the trainer up to `nowMs` (never backwards). */
  advance(nowMs: number): void {
    if (this.phase === 'starting') {
      if (nowMs < this.startAtMs) return;
      this.startup();
    }
    if (this.phase !== 'training') return;
    const crash = this.pendingCrash;
    if (crash && crash.atMs <= nowMs) {
      this.run(crash.atMs);
      if (this.phase === 'training') this.crashNow(crash.signature, crash.atMs);
      return;
    }
    this.run(nowMs);
  }

  private startup(): void {
    const t = this.startAtMs;
    const p = this.parsed;
    if (!p) return;
    const ctx = this.traceContext(t, 1);
    const missing = [p.config === null ? '--config' : null, p.runDir === null ? '--run-dir' : null].filter(
      (m): m is string => m !== null,
    );
    if (this.host.vfs.get(`${this.ws}/${p.script}`)?.kind !== 'text') {
      this.fail(t, 2, 'script not found', [
        `/usr/bin/python3: can't open file '${this.ws}/${p.script}': [Errno 2] No such file or directory`,
      ]);
      return;
    }
    if (missing.length > 0) {
      this.fail(t, 2, 'usage error', usageError(missing));
      return;
    }
    if (this.host.gpu.unsupported) {
      this.fail(t, 1, 'no kernel image', noKernelImageTrace(ctx, this.host.gpuName));
      return;
    }
    if (p.nproc > this.host.gpuCount) {
      this.fail(t, 1, 'invalid device ordinal', invalidDeviceTrace(ctx));
      return;
    }
    if (this.host.gpusBusy(this)) {
      this.fail(t, 1, 'GPUs busy', oomTrace(ctx, this.host.gpu.memTotalMb));
      return;
    }
    const configFile = this.host.vfs.get(`${this.ws}/${p.config}`);
    if (configFile?.kind !== 'text') {
      this.fail(t, 1, 'config not found', missingConfigTrace(ctx, p.config ?? ''));
      return;
    }
    const cfg = readTrainingConfig(configFile.text);
    this.cfg = cfg;
    this.model = modelForConfig(p.config ?? '', p.runDir ?? '');
    this.host.vfs.mkdirp(this.runPath, t);

    const latestRel = `${p.runDir}/latest.pt`;
    const latest = this.host.vfs.get(`${this.runPath}/latest.pt`);
    if (latest) {
      const meta = latest.kind === 'blob' ? latest.meta : null;
      if (!meta) {
        this.fail(t, 1, 'corrupt checkpoint', [
          'RuntimeError: PytorchStreamReader failed reading zip archive: failed finding central directory',
        ]);
        return;
      }
      if (meta.nExperts !== cfg.nExperts) {
        this.fail(t, 1, 'size mismatch', sizeMismatchTrace(ctx, latestRel, meta.nExperts, cfg.nExperts));
        return;
      }
      this.pos = meta.step;
      this.log(t, [resumedLine(meta.step, cfg.maxSteps, latestRel)]);
    }
    this.phase = 'training';
    this.lastMs = t;
    this.writeHeartbeat(t, Math.floor(this.pos));
    this.lastHeartbeatTick = t;
    if (this.pos >= cfg.maxSteps) this.finish(t);
  }

  /** Steps per ms right now. */
  private rate(): number {
    const p = this.parsed;
    if (!p || this.stalled) return 0;
    const gpus = Math.min(p.nproc, this.host.gpuCount);
    const tokS = this.host.gpu.tokSPerGpu * gpus * (this.model?.speed ?? 1) * this.speed;
    return tokS / this.tokensPerStep() / 1000;
  }

  private tokensPerStep(): number {
    const p = this.parsed;
    if (!p) return 1;
    return p.batchSize * p.gradAccum * p.nproc * (this.cfg?.seqLen ?? 1024);
  }

  private nextEventStep(cfg: TrainingConfig): number {
    const after = (interval: number) => (Math.floor(this.pos / interval) + 1) * interval;
    return Math.min(after(Math.max(1, cfg.evalInterval)), after(Math.max(1, cfg.saveInterval)), cfg.maxSteps);
  }

  private run(toMs: number): void {
    const cfg = this.cfg;
    if (!cfg) return;
    while (this.phase === 'training' && this.lastMs < toMs) {
      const r = this.rate();
      let end = toMs;
      let event: number | null = null;
      if (r > 0) {
        const next = this.nextEventStep(cfg);
        const at = this.lastMs + (next - this.pos) / r;
        if (at <= toMs) {
          end = at;
          event = next;
        }
      }
      this.stretch(cfg, r, end, event);
      if (event !== null) this.onEventStep(cfg, event, end);
    }
  }

  /** A stretch of constant speed from lastMs to endMs: step lines, heartbeats, throughput. */
  private stretch(cfg: TrainingConfig, r: number, endMs: number, event: number | null): void {
    const t0 = this.lastMs;
    const p0 = this.pos;
    const p1 = event ?? p0 + r * (endMs - t0);
    const tps = this.tokensPerStep();
    const tokSAt = (step: number, atMs: number) =>
      (this.tokensDone + (step - p0) * tps) / Math.max(0.001, (this.trainMs + (atMs - t0)) / 1000);

    if (r > 0) {
      const every = Math.max(1, cfg.logInterval);
      const first = Math.floor(p0 / every) + 1;
      const last = Math.floor(p1 / every);
      const skip = Math.max(0, last - first + 1 - MAX_LINES_PER_STRETCH);
      const lines: string[] = [];
      let lastLineMs = t0;
      for (let k = first + skip; k <= last; k += 1) {
        const step = k * every;
        lastLineMs = t0 + (step - p0) / r;
        lines.push(this.stepLineAt(cfg, step, tokSAt(step, lastLineMs)));
      }
      if (lines.length > 0) {
        const skippedBytes = skip * (Buffer.byteLength(lines[0]!) + 1);
        this.host.vfs.appendLog(this.paths.log, lines, lastLineMs, skippedBytes);
      }
    }

    const k = Math.floor((endMs - this.startAtMs) / HEARTBEAT_INTERVAL_MS);
    const tick = this.startAtMs + k * HEARTBEAT_INTERVAL_MS;
    if (tick > this.lastHeartbeatTick && tick >= t0) {
      const stepAtTick = Math.floor(Math.min(p1, p0 + r * (tick - t0)));
      this.writeHeartbeat(tick, stepAtTick, tokSAt(stepAtTick, tick));
      this.lastHeartbeatTick = tick;
    }

    this.tokensDone += (p1 - p0) * tps;
    this.trainMs += endMs - t0;
    this.pos = p1;
    this.lastMs = endMs;
  }

  private lossAt(step: number, base: number): number {
    return this.nanFromStep !== null && step >= this.nanFromStep ? Number.NaN : base;
  }

  private stepLineAt(cfg: TrainingConfig, step: number, tokS: number): string {
    const model = this.model!;
    const loss = this.lossAt(step, trainLoss(model, step));
    return stepLine({
      step,
      maxSteps: cfg.maxSteps,
      loss,
      ppl: Math.exp(loss),
      lr: learningRate(model, cfg, step),
      gradNorm: Number.isNaN(loss) ? Number.NaN : gradNorm(step),
      tokS,
      aux: cfg.nExperts === null ? null : Number.isNaN(loss) ? Number.NaN : auxLoss(step),
    });
  }

  private writeHeartbeat(atMs: number, step: number, tokS = 0): void {
    const cfg = this.cfg;
    const model = this.model;
    if (!cfg || !model) return;
    const loss = this.lossAt(step, trainLoss(model, step));
    const text = heartbeatJson({
      step,
      loss,
      ppl: Math.exp(loss),
      tokS,
      gpuUtil: this.stalled ? GPU_UTIL_HUNG : GPU_UTIL_TRAINING,
      diskPct: this.host.vfs.usedPct(),
      tsS: Math.floor(atMs / 1000),
      pid: this.workerPid,
      maxSteps: cfg.maxSteps,
      model: model.name,
    });
    try {
      this.host.vfs.writeText(`${this.runPath}/heartbeat.json`, text, atMs);
    } catch (err) {
      // A full disk loses the heartbeat update (the thread logs and carries on).
      if (!(err instanceof DiskFullError)) throw err;
    }
  }

  private onEventStep(cfg: TrainingConfig, step: number, atMs: number): void {
    const model = this.model!;
    if (step % Math.max(1, cfg.evalInterval) === 0) {
      const val = this.lossAt(step, evalLoss(model, step));
      this.log(atMs, [evalLine(step, val)]);
      if (step % cfg.saveInterval === 0 && !this.save(`step_${step}.pt`, step, atMs)) return;
      if (!this.save('latest.pt', step, atMs)) return;
      if (val < this.bestVal) {
        this.bestVal = val;
        if (!this.save('best.pt', step, atMs)) return;
      }
    } else if (step % cfg.saveInterval === 0) {
      if (!this.save(`step_${step}.pt`, step, atMs) || !this.save('latest.pt', step, atMs)) return;
    }
    if (step >= cfg.maxSteps) this.finish(atMs);
  }

  /** torch.save of a checkpoint; a full disk ends the run with the real traceback. */
  private save(name: string, step: number, atMs: number): boolean {
    const model = this.model!;
    const meta: CheckpointMeta = { step, nExperts: this.cfg?.nExperts ?? null, model: model.name };
    const path = `${this.runPath}/${name}`;
    const size = Math.round(model.checkpointGb * 1e9);
    try {
      this.host.vfs.put(path, { kind: 'blob', size, meta, mtimeMs: atMs, mode: 0o644 });
      return true;
    } catch (err) {
      if (!(err instanceof DiskFullError)) throw err;
      this.host.vfs.putPartial(path, size, atMs);
      this.fail(
        atMs,
        1,
        'disk full',
        diskFullTrace(this.traceContext(atMs, 1), `${this.parsed?.runDir}/${name}`),
      );
      return false;
    }
  }

  private finish(atMs: number): void {
    const cfg = this.cfg!;
    this.pos = cfg.maxSteps;
    if (!this.save('final.pt', cfg.maxSteps, atMs)) return;
    const best = Number.isFinite(this.bestVal) ? this.bestVal : evalLoss(this.model!, cfg.maxSteps);
    this.log(atMs, [completeLine(best)]);
    this.end(atMs, 0, 'complete');
  }

  // --- what the outside world does to it ----------------------------------------------------

  /** SIGKILL (killall -9, instance stop): no checkpoint, no last words. */
  kill(atMs: number): void {
    if (!this.alive) return;
    this.advance(atMs);
    if (this.alive) this.end(atMs, -9, 'killed by SIGKILL');
  }

  /** SIGTERM: the trainer's handler saves latest.pt and exits. */
  terminate(atMs: number): void {
    if (!this.alive) return;
    this.advance(atMs);
    if (!this.alive) return;
    if (this.phase === 'training' && this.cfg) {
      const step = Math.floor(this.pos);
      if (!this.save('latest.pt', step, atMs)) return;
      this.log(atMs, [SIGTERM_LINE]);
    }
    this.end(atMs, 0, 'stopped by SIGTERM');
  }

  crash(signature: CrashSignature, atMs: number, afterMs = 0): void {
    if (!this.alive) return;
    if (afterMs > 0) {
      this.pendingCrash = { atMs: atMs + afterMs, signature };
      return;
    }
    this.advance(atMs);
    if (this.alive) this.crashNow(signature, atMs);
  }

  private crashNow(signature: CrashSignature, atMs: number): void {
    this.pendingCrash = null;
    const lines =
      signature === 'oom'
        ? oomTrace(this.traceContext(atMs, 1), this.host.gpu.memTotalMb)
        : signature === 'nccl'
          ? ncclTimeoutTrace(this.traceContext(atMs, -6))
          : killedTrace(this.traceContext(atMs, -9));
    this.fail(atMs, signature === 'killed' ? -9 : 1, signature, lines);
  }

  /** Steps stop; the process and its heartbeat thread carry on. */
  setStalled(stalled: boolean, atMs: number): void {
    this.advance(atMs);
    this.stalled = stalled;
  }

  setSpeed(factor: number, atMs: number): void {
    this.advance(atMs);
    this.speed = factor;
  }

  /** From the next step on, the loss is NaN (and stays so). */
  setNan(on: boolean, atMs: number): void {
    this.advance(atMs);
    this.nanFromStep = on ? Math.floor(this.pos) + 1 : null;
  }

  /** Runs straight to max_steps: final.pt and the completion line (a trainer still loading is unaffected). */
  complete(atMs: number): void {
    this.advance(atMs);
    if (this.phase !== 'training' || !this.cfg) return;
    this.stalled = false;
    const cfg = this.cfg;
    this.log(atMs, [
      this.stepLineAt(cfg, cfg.maxSteps, this.tokensDone / Math.max(0.001, this.trainMs / 1000)),
    ]);
    this.finish(atMs);
  }

  // --- helpers ------------------------------------------------------------------------------

  private traceContext(atMs: number, exitcode: number): TraceContext {
    return {
      workspace: this.ws,
      torchrun: this.parsed?.launcher === 'torchrun',
      workerPid: this.workerPid,
      launcherPid: this.pid,
      atMs,
      exitcode,
    };
  }

  private log(atMs: number, lines: readonly string[]): void {
    this.host.vfs.appendLog(this.paths.log, lines, atMs);
  }

  private fail(atMs: number, code: number, reason: string, lines: readonly string[]): void {
    this.log(atMs, lines);
    this.end(atMs, code, reason);
  }

  private end(atMs: number, code: number, reason: string): void {
    this.phase = 'exited';
    this.exit = { atMs, code, reason };
    this.pendingCrash = null;
  }
}
