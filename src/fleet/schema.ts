import { z } from 'zod';
import { parseBackupSource } from './remote/backup-source.js';

function isBackupSource(value: string): boolean {
  try {
    parseBackupSource(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * The fleet file. Its run entries have exactly the shape of the training project's
 * `instance_profiles.yaml` (so that file loads unchanged), plus optional keys that format lacks.
 * The one reserved top-level key, `conductor`, holds paths, thresholds and the operating policy.
 */

/** Names that end up in paths, labels and command lines: a conservative character set. */
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Relative paths inside the workspace, such as `configs/x.yaml` or `runs/y`. */
export const SAFE_REL_PATH = /^(?!.*\.\.)[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;
/** Absolute paths on the training hosts. */
export const SAFE_ABS_PATH = /^(?!.*\.\.)\/[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;
/** Profile keys like `RTX_3090_4x` or `A100_SXM4_4x`. */
export const PROFILE_KEY = /^[A-Za-z0-9]+(_[A-Za-z0-9]+)*_([1-9][0-9]?)x$/;

const runName = z.string().regex(SAFE_NAME, 'must be letters, digits, . _ - (max 64)');
const relPath = z.string().regex(SAFE_REL_PATH, 'must be a relative path of letters, digits, . _ - /');
const absPath = z.string().regex(SAFE_ABS_PATH, 'must be an absolute path of letters, digits, . _ - /');

export const GpuProfileSchema = z
  .object({
    batch_size: z.number().int().positive(),
    grad_accum: z.number().int().positive(),
    nproc: z.number().int().min(1).max(16),
    /** Expected optimizer steps per hour on this profile, for ranking offers and ETAs. */
    steps_per_hour: z.number().positive().optional(),
  })
  .strict();

export const StaticHostSchema = z
  .object({
    host: z.string().regex(/^[A-Za-z0-9.:-]+$/, 'must be a host name or IP address'),
    port: z.number().int().min(1).max(65535).default(22),
    user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'must be a valid user name'),
    /** Pinned host key (`ssh-ed25519 AAAA...`); otherwise SSH_KNOWN_HOSTS must know the host. */
    host_key: z.string().optional(),
    gpu_name: z.string().default('RTX 3090'),
    num_gpus: z.number().int().min(1).max(16).default(1),
    cost_per_hr: z.number().nonnegative().default(0),
  })
  .strict();

export const RunSchema = z
  .object({
    config: relPath,
    run_dir: relPath,
    checkpoint_size_gb: z.number().positive(),
    hf_path: z.string().regex(SAFE_REL_PATH, 'must be a path of letters, digits, . _ - /'),
    n_experts: z.number().int().positive().optional(),
    profiles: z.record(z.string().regex(PROFILE_KEY, 'profile keys look like RTX_3090_4x'), GpuProfileSchema),
    target_steps: z.number().int().positive().optional(),
    priority: z.number().int().min(0).max(100).default(50),
    billing: z.enum(['on-demand', 'bid']).default('bid'),
    extra_args: z
      .array(z.string().regex(/^[A-Za-z0-9._=:/,+-]+$/, 'must be a plain argument without shell characters'))
      .default([]),
    host: StaticHostSchema.optional(),
    /** Hugging Face Hub repository the run's checkpoints are backed up to (`hf://owner/repo`). */
    backup_source: z
      .string()
      .refine(isBackupSource, 'must be hf://<owner>/<repo> or hf://datasets/<owner>/<repo>')
      .optional(),
  })
  .strict();

const ForbiddenConfigSchema = z.object({ run: runName, config: relPath, reason: z.string().min(1) }).strict();

const BlockedGpuSchema = z.object({ gpu: z.string().min(1), reason: z.string().min(1) }).strict();

const STOP_COMMANDS = ['killall -9 torchrun'] as const;

export const ThresholdsSchema = z
  .object({
    sweep_interval_s: z.number().int().min(5).max(3600).default(60),
    stall_minutes: z.number().positive().default(10),
    heartbeat_stale_minutes: z.number().positive().default(5),
    slow_fraction: z.number().gt(0).lt(1).default(0.5),
    disk_warn_pct: z.number().min(1).max(100).default(70),
    disk_critical_pct: z.number().min(1).max(100).default(90),
    recurring_count: z.number().int().min(2).default(3),
    recurring_window_hours: z.number().positive().default(24),
    loading_timeout_minutes: z.number().positive().default(20),
    verify_window_minutes: z.number().positive().default(10),
    repage_minutes: z.number().positive().default(15),
    digest_interval_hours: z.number().positive().default(6),
  })
  .strict()
  .refine((t) => t.disk_warn_pct < t.disk_critical_pct, {
    message: 'disk_warn_pct must be below disk_critical_pct',
    path: ['disk_warn_pct'],
  });

export const PolicySchema = z
  .object({
    gpu_blocklist: z.array(BlockedGpuSchema).default([
      {
        gpu: 'RTX 5090',
        reason:
          'PyTorch <= 2.6 has no sm_120 kernels ("no kernel image is available for execution on the device")',
      },
    ]),
    forbidden_configs: z.array(ForbiddenConfigSchema).default([
      {
        run: 'mosaic_moe',
        config: 'configs/mosaic_small.yaml',
        reason:
          'it has 8 experts and does not match the 4-expert checkpoint; use configs/mosaic_small_resume.yaml',
      },
    ]),
    stop_command: z
      .enum(STOP_COMMANDS, {
        message: 'only "killall -9 torchrun" stops training safely (never pkill -f python3)',
      })
      .default('killall -9 torchrun'),
    disk_cleanup: z
      .object({
        threshold_pct: z.number().min(1).max(100).default(70),
        keep_newest: z.number().int().min(2, 'keep_newest must keep at least the newest 2').default(2),
        protected: z.array(z.string()).default(['latest.pt', 'best.pt', 'final.pt']),
      })
      .strict()
      .default({ threshold_pct: 70, keep_newest: 2, protected: ['latest.pt', 'best.pt', 'final.pt'] }),
    auto_actions: z
      .object({
        restart: z.boolean().default(true),
        clean_disk: z.boolean().default(true),
      })
      .strict()
      .default({ restart: true, clean_disk: true }),
    budget: z
      .object({
        max_dph: z.number().positive().default(10),
        max_total_usd: z.number().positive().optional(),
      })
      .strict()
      .default({ max_dph: 10 }),
    offers: z
      .object({
        reliability_min: z.number().min(0).max(1).default(0.95),
        max_dph: z.number().positive().optional(),
        bid_margin: z.number().min(0).max(5).default(0.1),
        min_inet_down_mbps: z.number().nonnegative().default(100),
      })
      .strict()
      .default({ reliability_min: 0.95, bid_margin: 0.1, min_inet_down_mbps: 100 }),
    proposal_ttl_minutes: z.number().positive().default(30),
    default_target_steps: z.number().int().positive().default(50_000),
    save_interval_steps: z.number().int().positive().default(2500),
  })
  .strict();

export const PathsSchema = z
  .object({
    workspace: absPath.default('/workspace/mosaic-gpt'),
    log: absPath.default('/workspace/training.log'),
  })
  .strict();

export const ConductorSectionSchema = z
  .object({
    paths: PathsSchema.default({ workspace: '/workspace/mosaic-gpt', log: '/workspace/training.log' }),
    thresholds: ThresholdsSchema.default(ThresholdsSchema.parse({})),
    policy: PolicySchema.default(PolicySchema.parse({})),
    /** Docker image the ops agent rents instances with. */
    image: z.string().default('pytorch/pytorch:2.5.1-cuda12.4-cudnn9-devel'),
    disk_gb: z.number().int().positive().default(100),
  })
  .strict();

export type GpuProfile = z.infer<typeof GpuProfileSchema>;
export type StaticHost = z.infer<typeof StaticHostSchema>;
export type Thresholds = z.infer<typeof ThresholdsSchema>;
export type Policy = z.infer<typeof PolicySchema>;
export type Paths = z.infer<typeof PathsSchema>;
export type RunEntry = z.infer<typeof RunSchema>;

export interface RunSpec extends Omit<RunEntry, 'target_steps'> {
  name: string;
  target_steps: number;
}

export interface Fleet {
  runs: readonly RunSpec[];
  paths: Paths;
  thresholds: Thresholds;
  policy: Policy;
  image: string;
  disk_gb: number;
}

export { runName as RunNameSchema };
