/**
 * The trainer's output, byte for byte as DESIGN.md shows it: Python's number formatting,
 * json.dumps of heartbeat.json (with a bare NaN), the step/eval/resume lines and the tracebacks
 * whose signatures the conductor classifies.
 */

/** Python `repr(float)` as json.dumps writes it: `48211.0`, `3.1234`, bare `NaN`. */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return x.toFixed(1);
  if (x !== 0 && Math.abs(x) < 1e-4) return pyExp(x.toExponential());
  return String(x);
}

/** `1.5e-5` -> `1.5e-05`: Python pads the exponent to two digits. */
function pyExp(s: string): string {
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

/** f"{x:.Nf}" (nan/inf spelled as Python does). */
export function fixed(x: number, digits: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  return x.toFixed(digits);
}

/** f"{x:.2e}". */
export function sci(x: number, digits = 2): string {
  if (!Number.isFinite(x)) return fixed(x, 0);
  return pyExp(x.toExponential(digits));
}

/** Python round(x, n) for display values (NaN stays NaN). */
export function round(x: number, digits: number): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export interface HeartbeatValues {
  step: number;
  loss: number;
  ppl: number;
  tokS: number;
  gpuUtil: number;
  diskPct: number;
  tsS: number;
  pid: number;
  maxSteps: number;
  model: string;
}

/** heartbeat.json exactly as the trainer's json.dumps writes it (one line, no newline). */
export function heartbeatJson(v: HeartbeatValues): string {
  return (
    `{"step": ${v.step}, "loss": ${pyFloat(round(v.loss, 4))}, "ppl": ${pyFloat(round(v.ppl, 1))}, ` +
    `"tok_s": ${pyFloat(round(v.tokS, 1))}, "gpu_util": ${v.gpuUtil}, "disk_pct": ${pyFloat(round(v.diskPct, 1))}, ` +
    `"ts": ${v.tsS}, "pid": ${v.pid}, "max_steps": ${v.maxSteps}, "model": ${JSON.stringify(v.model)}}`
  );
}

export interface StepLineValues {
  step: number;
  maxSteps: number;
  loss: number;
  ppl: number;
  lr: number;
  gradNorm: number;
  tokS: number;
  /** MoE load-balancing loss; null for dense models (the field is then left out). */
  aux: number | null;
}

/** `step  12340/50000 | loss 3.1234 | ppl 22.7 | lr 2.91e-04 | grad_norm 0.87 | 48211 tok/s | aux 0.0123` */
export function stepLine(v: StepLineValues): string {
  const head =
    `step ${String(v.step).padStart(6)}/${v.maxSteps} | loss ${fixed(v.loss, 4)} | ppl ${fixed(v.ppl, 1)} | ` +
    `lr ${sci(v.lr)} | grad_norm ${fixed(v.gradNorm, 2)} | ${fixed(v.tokS, 0)} tok/s`;
  return v.aux === null ? head : `${head} | aux ${fixed(v.aux, 4)}`;
}

export function evalLine(step: number, loss: number): string {
  return `  EVAL step ${step}: loss=${fixed(loss, 4)} ppl=${fixed(Math.exp(loss), 2)}`;
}

export function resumedLine(step: number, maxSteps: number, checkpoint: string): string {
  return `[HEARTBEAT] RESUMED step=${step} max=${maxSteps} checkpoint=${checkpoint}`;
}

export const SIGTERM_LINE = '[SIGTERM] Checkpoint saved. Exiting gracefully.';

export function completeLine(bestValLoss: number): string {
  return `Training complete. Best val loss: ${fixed(bestValLoss, 4)}`;
}

/** Where the trainer's Python frames point. */
export interface TraceContext {
  workspace: string;
  /** torchrun (multi-GPU) adds the elastic agent's failure summary. */
  torchrun: boolean;
  /** The failing worker's pid and the launcher's, for the agent's lines. */
  workerPid: number;
  launcherPid: number;
  /** Epoch ms of the failure, for the glog-style prefixes. */
  atMs: number;
  /** The worker's exit code as torchrun reports it (1 for an exception, -9 for SIGKILL, -6 abort). */
  exitcode: number;
}

function glogPrefix(level: 'E' | 'W' | 'I', atMs: number, tid: number): string {
  const d = new Date(atMs);
  const mm = String(d.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(d.getUTCDate()).padStart(2, '0');
  const time = d.toISOString().slice(11, 23);
  return `${level}${mm}${dd} ${time}000 ${tid}`;
}

function pythonFrames(ctx: TraceContext, frames: readonly [string, number, string, string][]): string[] {
  return [
    'Traceback (most recent call last):',
    ...frames.flatMap(([file, line, fn, code]) => [
      `  File "${file.startsWith('/') ? file : `${ctx.workspace}/${file}`}", line ${line}, in ${fn}`,
      `    ${code}`,
    ]),
  ];
}

/** torchrun's summary when a worker fails: the `exitcode: N` line the conductor reads. */
function torchrunFailure(ctx: TraceContext, errorLine?: string): string[] {
  if (!ctx.torchrun) return [];
  const ts = new Date(ctx.atMs).toISOString().replace('T', '_').slice(0, 19);
  return [
    `${glogPrefix('E', ctx.atMs, ctx.launcherPid)} torch/distributed/elastic/multiprocessing/api.py:869] failed (exitcode: ${ctx.exitcode}) local_rank: 0 (pid: ${ctx.workerPid}) of binary: /usr/bin/python3`,
    'Traceback (most recent call last):',
    '  File "/usr/local/bin/torchrun", line 8, in <module>',
    '    sys.exit(main())',
    'torch.distributed.elastic.multiprocessing.errors.ChildFailedError: ',
    '============================================================',
    'experiments/train.py FAILED',
    '------------------------------------------------------------',
    'Root Cause (first observed failure):',
    '[0]:',
    `  time      : ${ts}`,
    `  rank      : 0 (local_rank: 0)`,
    `  exitcode  : ${ctx.exitcode} (pid: ${ctx.workerPid})`,
    ...(errorLine ? [`  error_file: <N/A>`, `  traceback : ${errorLine}`] : []),
    '============================================================',
  ];
}

const TRAIN_PY = 'experiments/train.py';

export function oomTrace(ctx: TraceContext, gpuTotalMb: number): string[] {
  const total = (gpuTotalMb / 1024).toFixed(2);
  const inUse = (gpuTotalMb / 1024 - 1.02).toFixed(2);
  return [
    ...pythonFrames(ctx, [
      [TRAIN_PY, 412, '<module>', 'main()'],
      [TRAIN_PY, 388, 'main', 'loss = train_step(model, batch, scaler)'],
      [TRAIN_PY, 301, 'train_step', 'scaler.scale(loss).backward()'],
    ]),
    `torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of ${total} GiB of which 1.02 GiB is free. Process ${ctx.workerPid} has ${inUse} GiB memory in use. Of the allocated memory ${inUse} GiB is allocated by PyTorch.`,
    ...torchrunFailure(ctx),
  ];
}

export function ncclTimeoutTrace(ctx: TraceContext): string[] {
  const p = glogPrefix('E', ctx.atMs, ctx.workerPid);
  return [
    `[rank0]:[${p} ProcessGroupNCCL.cpp:616] [Rank 0] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=184467, OpType=ALLREDUCE, NumelIn=1, NumelOut=1, Timeout(ms)=600000) ran for 600042 milliseconds before timing out.`,
    `[rank0]:[${p} ProcessGroupNCCL.cpp:1785] [PG 0 (default_pg) Rank 0] Exception (either an error or timeout) detected by watchdog at work: 184467, last enqueued NCCL work: 184467, last completed NCCL work: 184466.`,
    `[rank0]:[${p} ProcessGroupNCCL.cpp:630] [Rank 0] To avoid data inconsistency, we are taking the entire process down.`,
    "terminate called after throwing an instance of 'c10::DistBackendError'",
    ...torchrunFailure(ctx),
  ];
}

export function killedTrace(ctx: TraceContext): string[] {
  if (!ctx.torchrun) return ['Killed'];
  return [
    `${glogPrefix('W', ctx.atMs, ctx.launcherPid)} torch/distributed/elastic/multiprocessing/api.py:897] Sending process ${ctx.workerPid + 1} closing signal SIGTERM`,
    ...torchrunFailure(ctx, 'Signal 9 (SIGKILL) received by PID'),
  ];
}

export function diskFullTrace(ctx: TraceContext, checkpoint: string): string[] {
  return [
    ...pythonFrames(ctx, [
      [TRAIN_PY, 412, '<module>', 'main()'],
      [TRAIN_PY, 395, 'main', `save_checkpoint(model, optimizer, step, "${checkpoint}")`],
      [TRAIN_PY, 122, 'save_checkpoint', 'torch.save(state, path)'],
      ['/usr/local/lib/python3.11/dist-packages/torch/serialization.py', 850, 'save', '_save('],
    ]),
    'RuntimeError: [enforce fail at inline_container.cc:778] . PytorchStreamWriter failed writing file data/1284: file write failed',
    '',
    'During handling of the above exception, another exception occurred:',
    '',
    `OSError: [Errno 28] No space left on device: '${checkpoint}'`,
    ...torchrunFailure(ctx),
  ];
}

export function noKernelImageTrace(ctx: TraceContext, gpuName: string): string[] {
  return [
    '/usr/local/lib/python3.11/dist-packages/torch/cuda/__init__.py:235: UserWarning: ',
    `NVIDIA GeForce ${gpuName} with CUDA capability sm_120 is not compatible with the current PyTorch installation.`,
    'The current PyTorch install supports CUDA capabilities sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90.',
    '  warnings.warn(',
    ...pythonFrames(ctx, [
      [TRAIN_PY, 412, '<module>', 'main()'],
      [TRAIN_PY, 341, 'main', 'model = build_model(cfg).to(device)'],
    ]),
    'RuntimeError: CUDA error: no kernel image is available for execution on the device',
    'CUDA kernel errors might be asynchronously reported at some other API call, so the stacktrace below might be incorrect.',
    'For debugging consider passing CUDA_LAUNCH_BLOCKING=1',
    ...torchrunFailure(ctx),
  ];
}

/** Loading a checkpoint into a model with a different number of experts. */
export function sizeMismatchTrace(
  ctx: TraceContext,
  checkpoint: string,
  ckptExperts: number | null,
  modelExperts: number | null,
): string[] {
  const mismatch =
    ckptExperts !== null && modelExperts !== null
      ? [
          `\tsize mismatch for blocks.0.ffn.router.weight: copying a param with shape torch.Size([${ckptExperts}, 768]) from checkpoint, the shape in current model is torch.Size([${modelExperts}, 768]).`,
          `\tsize mismatch for blocks.0.ffn.experts.w1: copying a param with shape torch.Size([${ckptExperts}, 2048, 768]) from checkpoint, the shape in current model is torch.Size([${modelExperts}, 2048, 768]).`,
        ]
      : modelExperts === null
        ? ['\tUnexpected key(s) in state_dict: "blocks.0.ffn.router.weight", "blocks.0.ffn.experts.w1".']
        : ['\tMissing key(s) in state_dict: "blocks.0.ffn.router.weight", "blocks.0.ffn.experts.w1".'];
  return [
    ...pythonFrames(ctx, [
      [TRAIN_PY, 412, '<module>', 'main()'],
      [TRAIN_PY, 352, 'main', `step = load_checkpoint(model, optimizer, "${checkpoint}")`],
      [TRAIN_PY, 141, 'load_checkpoint', "model.load_state_dict(state['model'])"],
    ]),
    'RuntimeError: Error(s) in loading state_dict for MosaicGPT:',
    ...mismatch,
    ...torchrunFailure(ctx),
  ];
}

export function missingConfigTrace(ctx: TraceContext, config: string): string[] {
  return [
    ...pythonFrames(ctx, [
      [TRAIN_PY, 412, '<module>', 'main()'],
      [TRAIN_PY, 330, 'main', 'cfg = load_config(args.config)'],
      [TRAIN_PY, 58, 'load_config', 'with open(path) as f:'],
    ]),
    `FileNotFoundError: [Errno 2] No such file or directory: '${config}'`,
    ...torchrunFailure(ctx),
  ];
}

export function invalidDeviceTrace(ctx: TraceContext): string[] {
  return [
    ...pythonFrames(ctx, [
      [TRAIN_PY, 412, '<module>', 'main()'],
      [TRAIN_PY, 322, 'main', 'torch.cuda.set_device(local_rank)'],
    ]),
    'torch.AcceleratorError: CUDA error: invalid device ordinal',
    ...torchrunFailure(ctx),
  ];
}

export function usageError(missing: readonly string[]): string[] {
  return [
    'usage: train.py [-h] --config CONFIG --run-dir RUN_DIR [--batch-size BATCH_SIZE] [--grad-accum GRAD_ACCUM]',
    `train.py: error: the following arguments are required: ${missing.join(', ')}`,
  ];
}
