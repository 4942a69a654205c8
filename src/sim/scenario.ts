import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.js';

/**
 * A scenario: which runs are training where when the world starts, and a fault schedule. Times
 * are clock time after the start (`90s`, `3m`, `2h`), so the same scenario works at any speed.
 */

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
export function parseDuration(text: string): number {
  const m = DURATION.exec(text.trim());
  if (!m) throw new Error(`not a duration: ${JSON.stringify(text)} (use e.g. 90s, 3m, 2h)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

const duration = z.string().refine((t) => DURATION.test(t.trim()), 'must be a duration like 90s, 3m or 2h');

const FAULTS = [
  'outbid',
  'host_gone',
  'stall',
  'crash_oom',
  'crash_nccl',
  'crash_killed',
  'nan',
  'disk_fill',
  'slowdown',
  'ssh_hang',
  'complete',
] as const;
export type ScenarioFaultKind = (typeof FAULTS)[number];

export const ScenarioSchema = z
  .object({
    name: z.string().default('scenario'),
    speed: z.number().positive().max(100_000).default(60),
    runs: z
      .array(
        z
          .object({
            run: z.string(),
            gpu_name: z.string().default('RTX 3090'),
            num_gpus: z.number().int().min(1).max(16).default(4),
            step: z.number().int().min(0).default(0),
          })
          .strict(),
      )
      .default([]),
    faults: z
      .array(
        z
          .object({
            at: duration,
            run: z.string(),
            fault: z.enum(FAULTS),
            pct: z.number().min(1).max(100).optional(),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

export type Scenario = z.infer<typeof ScenarioSchema>;

/** The demo's default: the three runs mid-training; an outbid, a stall and a disk filling early on. */
export const DEFAULT_SCENARIO: Scenario = ScenarioSchema.parse({
  name: 'default',
  speed: 60,
  runs: [
    { run: 'gpt2_reference', gpu_name: 'RTX 4090', num_gpus: 4, step: 18_000 },
    { run: 'mosaic_dense', gpu_name: 'RTX 3090', num_gpus: 4, step: 24_500 },
    { run: 'mosaic_moe', gpu_name: 'RTX 3090', num_gpus: 8, step: 31_000 },
  ],
  faults: [
    { at: '4m', run: 'mosaic_dense', fault: 'disk_fill', pct: 80 },
    { at: '8m', run: 'mosaic_moe', fault: 'outbid' },
    { at: '14m', run: 'gpt2_reference', fault: 'stall' },
  ],
});

export function loadScenario(file: string, runs: readonly string[]): Scenario {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${file}: cannot read the scenario: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = ScenarioSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${file}: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  for (const r of [...parsed.data.runs, ...parsed.data.faults]) {
    if (!runs.includes(r.run))
      throw new ConfigError(`${file}: unknown run ${JSON.stringify(r.run)}; runs: ${runs.join(', ')}`);
  }
  return parsed.data;
}
