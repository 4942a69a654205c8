import type { ProbeResult } from '../../../src/fleet/health/types.js';
import type { VastInstance } from '../../../src/infra/vast/types.js';

/**
 * Host output in exactly the formats of DESIGN.md "What the training hosts look like": the
 * heartbeat as Python's json.dumps writes it (", " and ": " separators, bare NaN tokens) and
 * training.log lines as the trainer prints them.
 */

/** Host clock (epoch seconds) of the sample heartbeat. */
export const HOST_TS = 1767225600;

export const HEARTBEAT_JSON =
  '{"step": 12340, "loss": 3.1234, "ppl": 22.7, "tok_s": 48211.0, "gpu_util": 97, "disk_pct": 41.3, ' +
  '"ts": 1767225600, "pid": 4242, "max_steps": 50000, "model": "mosaic_moe"}';

export interface HeartbeatFields {
  step?: number;
  /** Written verbatim, so `'NaN'` is the bare token. */
  loss?: string;
  ppl?: string;
  tok_s?: string;
  disk_pct?: number;
  ts?: number;
}

/** A heartbeat in the trainer's format with some fields changed. */
export function heartbeatJson(f: HeartbeatFields = {}): string {
  return (
    `{"step": ${f.step ?? 12340}, "loss": ${f.loss ?? '3.1234'}, "ppl": ${f.ppl ?? '22.7'}, ` +
    `"tok_s": ${f.tok_s ?? '48211.0'}, "gpu_util": 97, "disk_pct": ${f.disk_pct ?? 41.3}, ` +
    `"ts": ${f.ts ?? HOST_TS}, "pid": 4242, "max_steps": 50000, "model": "mosaic_moe"}`
  );
}

export function stepLine(step: number, loss = '3.1234', tokS = 48211, max = 50000): string {
  const pad = step < 10000 ? '   ' : '  ';
  return `step${pad}${step}/${max} | loss ${loss} | ppl 22.7 | lr 2.91e-04 | grad_norm 0.87 | ${tokS} tok/s | aux 0.0123`;
}

export const LOG = {
  step: 'step  12340/50000 | loss 3.1234 | ppl 22.7 | lr 2.91e-04 | grad_norm 0.87 | 48211 tok/s | aux 0.0123',
  denseStep: 'step  12340/50000 | loss 3.1234 | ppl 22.7 | lr 2.91e-04 | grad_norm 0.87 | 48211 tok/s',
  nanStep: 'step  12350/50000 | loss nan | ppl nan | lr 2.91e-04 | grad_norm nan | 48105 tok/s | aux 0.0123',
  resumed: '[HEARTBEAT] RESUMED step=10000 max=50000 checkpoint=runs/mosaic_small_3090/step_10000.pt',
  eval: '  EVAL step 12000: loss=3.2011 ppl=24.56',
  plateau: '  PLATEAU DETECTED: val loss flat for 5 evals (best 3.1902)',
  sigterm: '[SIGTERM] Checkpoint saved. Exiting gracefully.',
  complete: 'Training complete. Best val loss: 2.9876',
  oom:
    'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity ' +
    'of 23.69 GiB of which 1.12 GiB is free.',
  nccl:
    '[rank0]:[E1201 10:11:12.123456 ProcessGroupNCCL.cpp:616] [Rank 0] Watchdog caught collective operation ' +
    'timeout: WorkNCCL(SeqNum=88213, OpType=ALLREDUCE, NumelIn=1, NumelOut=1, Timeout(ms)=600000) ran for ' +
    '600021 milliseconds before timing out.',
  exit9:
    'torch.distributed.elastic.multiprocessing.api: [ERROR] failed (exitcode: -9) local_rank: 0 (pid: 4242) ' +
    'of binary: /usr/bin/python3',
  killed: 'bash: line 1:  4242 Killed                  python3 -u experiments/train.py',
  diskFull: "OSError: [Errno 28] No space left on device: 'runs/mosaic_small_3090/step_12500.pt'",
  noKernel: 'RuntimeError: CUDA error: no kernel image is available for execution on the device',
} as const;

export function vastInstance(overrides: Partial<VastInstance> = {}): VastInstance {
  return {
    id: 31337,
    label: 'mosaic_moe',
    actual_status: 'running',
    intended_status: 'running',
    cur_state: 'running',
    next_state: 'running',
    status_msg: null,
    is_bid: true,
    min_bid: 0.3,
    dph_total: 0.42,
    gpu_name: 'RTX 3090',
    num_gpus: 4,
    ssh_host: 'ssh4.vast.ai',
    ssh_port: 31337,
    public_ipaddr: '203.0.113.7',
    start_date: HOST_TS - 3600,
    ...overrides,
  };
}

export function probeResult(overrides: Partial<ProbeResult> = {}): ProbeResult {
  return {
    hostTime: HOST_TS + 12,
    heartbeat: null,
    heartbeatError: null,
    processAlive: true,
    gpus: [{ index: 0, utilPct: 97, memUsedMb: 20110, memTotalMb: 24576, tempC: 71 }],
    disk: { usedPct: 41.3, availBytes: 58e9, totalBytes: 100e9 },
    checkpoints: [],
    logTail: [LOG.step],
    logMtime: HOST_TS + 5,
    exitCodes: {},
    ...overrides,
  };
}
