/**
 * What the simulated hosts know about GPUs, models and the training repository. The configs are
 * short stand-ins in the real files' shape (the fields the trainer and the conductor read), kept
 * here so the simulator never reads ../shared at run time.
 */

export interface GpuModel {
  /** Tokens per second one GPU trains the 124M reference model at. */
  tokSPerGpu: number;
  memTotalMb: number;
  /** PyTorch <= 2.6 has no kernels for it. */
  unsupported?: boolean;
}

const GPUS: Record<string, GpuModel> = {
  'RTX 3090': { tokSPerGpu: 24_000, memTotalMb: 24_576 },
  'RTX 3090 Ti': { tokSPerGpu: 26_000, memTotalMb: 24_564 },
  'RTX 4090': { tokSPerGpu: 38_000, memTotalMb: 24_564 },
  'RTX 5090': { tokSPerGpu: 50_000, memTotalMb: 32_607, unsupported: true },
  'RTX A6000': { tokSPerGpu: 26_000, memTotalMb: 49_140 },
  'A100 PCIE': { tokSPerGpu: 55_000, memTotalMb: 40_960 },
  'A100 SXM4': { tokSPerGpu: 60_000, memTotalMb: 81_920 },
  'H100 SXM': { tokSPerGpu: 110_000, memTotalMb: 81_559 },
  'H100 PCIE': { tokSPerGpu: 90_000, memTotalMb: 81_559 },
};

const DEFAULT_GPU: GpuModel = { tokSPerGpu: 20_000, memTotalMb: 24_576 };

export function gpuModel(name: string): GpuModel {
  const key = Object.keys(GPUS).find((k) => k.toLowerCase() === name.trim().toLowerCase());
  return key ? GPUS[key]! : DEFAULT_GPU;
}

export interface ModelInfo {
  /** The `model` field of heartbeat.json (the run's key in instance_profiles.yaml). */
  name: string;
  /** Throughput relative to the 124M reference. */
  speed: number;
  checkpointGb: number;
  lossFloor: number;
  lrMax: number;
  lrMin: number;
}

const MODELS: Record<string, ModelInfo> = {
  'gpt2_reference.yaml': {
    name: 'gpt2_reference',
    speed: 1,
    checkpointGb: 1.5,
    lossFloor: 3.05,
    lrMax: 6e-4,
    lrMin: 6e-5,
  },
  'mosaic_dense.yaml': {
    name: 'mosaic_dense',
    speed: 0.9,
    checkpointGb: 1.4,
    lossFloor: 2.98,
    lrMax: 3e-4,
    lrMin: 3e-5,
  },
  'mosaic_small.yaml': {
    name: 'mosaic_moe',
    speed: 0.5,
    checkpointGb: 4.2,
    lossFloor: 2.9,
    lrMax: 3e-4,
    lrMin: 3e-5,
  },
  'mosaic_small_resume.yaml': {
    name: 'mosaic_moe',
    speed: 0.5,
    checkpointGb: 4.2,
    lossFloor: 2.9,
    lrMax: 3e-4,
    lrMin: 3e-5,
  },
};

/** Unknown configs train like a small dense model named after the run directory. */
export function modelForConfig(configPath: string, runDir: string): ModelInfo {
  const base = configPath.slice(configPath.lastIndexOf('/') + 1);
  const known = MODELS[base];
  if (known) return known;
  const name = runDir.slice(runDir.lastIndexOf('/') + 1) || 'model';
  return { name, speed: 1, checkpointGb: 1.5, lossFloor: 3.1, lrMax: 3e-4, lrMin: 3e-5 };
}

const TRAINING_BLOCK = `training:
  seq_len: 1024
  warmup_steps: 1000
  max_steps: 50000
  log_interval: 10
  eval_interval: 500
  save_interval: 2500
`;

/** Relative path in the workspace -> file text. */
export const REPO_FILES: Readonly<Record<string, string>> = {
  'README.md': '# mosaic-gpt (simulated checkout)\n',
  // Mirrored onto the real host by the parity test, where it must behave like a trainer that runs.
  'experiments/train.py':
    '# Simulated trainer entry point: the simulator models its behaviour.\nimport time\nwhile True:\n    time.sleep(1)\n',
  'configs/gpt2_reference.yaml': `# GPT-2 124M reference (simulated copy)
d_model: 768
n_layers: 12
attention:
  type: mha
  n_heads: 12
ffn:
  type: gelu
${TRAINING_BLOCK}`,
  'configs/mosaic_dense.yaml': `# MOSAIC-GPT dense (simulated copy)
d_model: 768
n_layers: 12
attention:
  type: mla
  n_heads: 12
ffn:
  type: swiglu
  hidden_mult: 2.6667
${TRAINING_BLOCK}`,
  'configs/mosaic_small.yaml': `# MOSAIC-GPT small, 8 experts (simulated copy)
d_model: 768
n_layers: 12
ffn:
  type: moe_swiglu
  n_experts: 8
  top_k: 2
  shared_experts: 1
${TRAINING_BLOCK}`,
  'configs/mosaic_small_resume.yaml': `# MOSAIC-GPT small, 4 experts, matches the checkpoint (simulated copy)
d_model: 768
n_layers: 12
ffn:
  type: moe_swiglu
  n_experts: 4
  top_k: 2
  shared_experts: 1
${TRAINING_BLOCK}`,
};

export interface TrainingConfig {
  nExperts: number | null;
  maxSteps: number;
  logInterval: number;
  evalInterval: number;
  saveInterval: number;
  seqLen: number;
  warmupSteps: number;
}

function yamlInt(text: string, key: string): number | null {
  const m = new RegExp(String.raw`^[ \t]*${key}:[ \t]*(\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

/** The few keys the trainer reads, found the way a human would grep for them. */
export function readTrainingConfig(text: string): TrainingConfig {
  return {
    nExperts: yamlInt(text, 'n_experts'),
    maxSteps: yamlInt(text, 'max_steps') ?? 50_000,
    logInterval: yamlInt(text, 'log_interval') ?? 10,
    evalInterval: yamlInt(text, 'eval_interval') ?? 500,
    saveInterval: yamlInt(text, 'save_interval') ?? 2500,
    seqLen: yamlInt(text, 'seq_len') ?? 1024,
    warmupSteps: yamlInt(text, 'warmup_steps') ?? 1000,
  };
}
