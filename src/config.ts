import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import {
  ConductorSectionSchema,
  type Fleet,
  RunNameSchema,
  RunSchema,
  type RunSpec,
} from './fleet/schema.js';
import { packageRoot } from './package-root.js';

/**
 * The only module that reads the environment and the fleet file. It returns a frozen, typed
 * object; any bad value throws a ConfigError whose message is one line naming the variable or the
 * file and YAML path.
 */

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const csv = optionalString.transform((v) =>
  v === undefined
    ? []
    : v
        .split(/[\s,]+/)
        .map((s) => s.trim())
        .filter(Boolean),
);

const EnvSchema = z.object({
  NODE_ENV: optionalString,
  REDIS_URL: optionalString.pipe(
    z
      .string()
      .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
      .optional(),
  ),
  KEY_PREFIX: optionalString.pipe(
    z
      .string()
      .regex(/^[A-Za-z0-9:_-]{1,32}$/, 'must be 1-32 letters, digits, : _ -')
      .optional(),
  ),
  SLACK_BOT_TOKEN: optionalString.pipe(
    z
      .string()
      .regex(/^xoxb-/, 'must be a bot token starting with xoxb-')
      .optional(),
  ),
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_APP_TOKEN: optionalString.pipe(
    z
      .string()
      .regex(/^xapp-/, 'must be an app-level token starting with xapp-')
      .optional(),
  ),
  SLACK_API_URL: optionalString.pipe(z.url({ message: 'must be a URL' }).optional()),
  SLACK_CHANNEL_ID: optionalString.pipe(
    z
      .string()
      .regex(/^[CGD][A-Z0-9]{2,}$/, 'must be a channel id like C0123ABCD')
      .optional(),
  ),
  SLACK_ONCALL: csv.pipe(
    z.array(z.string().regex(/^(U|W|S)[A-Z0-9]{2,}$/, 'must list user ids (U...) or user group ids (S...)')),
  ),
  SLACK_APPROVERS: csv.pipe(
    z.array(z.string().regex(/^(U|W|S)[A-Z0-9]{2,}$/, 'must list user ids (U...) or user group ids (S...)')),
  ),
  ANTHROPIC_API_KEY: optionalString,
  ANTHROPIC_BASE_URL: optionalString.pipe(z.url({ message: 'must be a URL' }).optional()),
  CONDUCTOR_MODEL: optionalString,
  LLM_DAILY_BUDGET_USD: optionalString.pipe(z.coerce.number<string | undefined>().positive().optional()),
  VAST_API_KEY: optionalString,
  VAST_API_URL: optionalString.pipe(z.url({ message: 'must be a URL' }).optional()),
  FLEET_FILE: optionalString,
  STATE_DIR: optionalString,
  SSH_PRIVATE_KEY: optionalString,
  SSH_KNOWN_HOSTS: optionalString,
  HF_TOKEN: optionalString,
  PORT: optionalString.pipe(z.coerce.number<string | undefined>().int().min(0).max(65535).optional()),
  LOG_LEVEL: optionalString.pipe(
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  ),
  DASHBOARD_PASSWORD: optionalString,
  WORKER_CONCURRENCY: optionalString.pipe(
    z.coerce.number<string | undefined>().int().min(1).max(256).optional(),
  ),
});

export interface Config {
  readonly production: boolean;
  readonly redisUrl: string;
  readonly redisUrlExplicit: boolean;
  readonly keyPrefix: string;
  readonly slack: {
    readonly botToken?: string;
    readonly signingSecret?: string;
    readonly appToken?: string;
    readonly apiUrl?: string;
    readonly channelId?: string;
    readonly oncall: readonly string[];
    readonly approvers: readonly string[];
  };
  readonly anthropic: {
    readonly apiKey?: string;
    readonly baseUrl?: string;
    readonly model: string;
    readonly dailyBudgetUsd: number;
  };
  readonly vast: { readonly apiKey?: string; readonly apiUrl: string };
  readonly fleetFile: string;
  readonly fleet: Fleet;
  readonly stateDir: string;
  readonly ssh: { readonly privateKey?: string; readonly knownHosts?: string };
  readonly hfToken?: string;
  readonly port: number;
  readonly logLevel: string;
  readonly dashboardPassword?: string;
  readonly workerConcurrency: number;
}

export const DEFAULT_MODEL = 'claude-sonnet-5-5';
export const DEFAULT_FLEET_FILE = 'fleet.example.yaml';

function formatPath(segments: readonly PropertyKey[]): string {
  return segments.map((s) => String(s)).join('.') || '(root)';
}

function firstIssue(error: z.ZodError): { path: string; message: string } {
  const issue = error.issues[0];
  if (!issue) return { path: '(root)', message: 'invalid' };
  return { path: formatPath(issue.path), message: issue.message };
}

/** Parses a fleet document (already read from YAML). `source` names the file in errors. */
export function parseFleet(doc: unknown, source: string): Fleet {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError(`${source}: (root): must be a mapping of run names to run entries`);
  }
  const { conductor, ...runEntries } = doc as Record<string, unknown>;
  const section = ConductorSectionSchema.safeParse(conductor ?? {});
  if (!section.success) {
    const { path: p, message } = firstIssue(section.error);
    throw new ConfigError(`${source}: conductor.${p}: ${message}`);
  }
  const { policy, thresholds, paths, image, disk_gb } = section.data;
  const runs: RunSpec[] = [];
  for (const [name, entry] of Object.entries(runEntries)) {
    const nameCheck = RunNameSchema.safeParse(name);
    if (!nameCheck.success) {
      throw new ConfigError(
        `${source}: ${JSON.stringify(name)}: run name ${firstIssue(nameCheck.error).message}`,
      );
    }
    const parsed = RunSchema.safeParse(entry);
    if (!parsed.success) {
      const { path: p, message } = firstIssue(parsed.error);
      throw new ConfigError(`${source}: ${name}.${p}: ${message}`);
    }
    const run = parsed.data;
    if (Object.keys(run.profiles).length === 0 && !run.host) {
      throw new ConfigError(`${source}: ${name}.profiles: a run needs at least one GPU profile`);
    }
    const forbidden = policy.forbidden_configs.find((f) => f.run === name && f.config === run.config);
    if (forbidden) {
      throw new ConfigError(
        `${source}: ${name}.config: ${run.config} is forbidden for ${name}: ${forbidden.reason}`,
      );
    }
    runs.push({ ...run, name, target_steps: run.target_steps ?? policy.default_target_steps });
  }
  if (runs.length === 0) throw new ConfigError(`${source}: (root): the fleet file lists no runs`);
  const dirs = new Map<string, string>();
  for (const run of runs) {
    const other = dirs.get(run.run_dir);
    if (other)
      throw new ConfigError(`${source}: ${run.name}.run_dir: ${run.run_dir} is also used by ${other}`);
    dirs.set(run.run_dir, run.name);
  }
  return deepFreeze({ runs, policy, thresholds, paths, image, disk_gb });
}

export function loadFleetFile(file: string): Fleet {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(
      `${file}: cannot read the fleet file (${code}); set FLEET_FILE to a readable YAML file`,
    );
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    const line = (err as { linePos?: { line: number }[] }).linePos?.[0]?.line;
    throw new ConfigError(
      `${file}: invalid YAML${line ? ` at line ${line}` : ''}: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  return parseFleet(doc, file);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const { path: p, message } = firstIssue(parsed.error);
    throw new ConfigError(`environment: ${p}: ${message}`);
  }
  const e = parsed.data;
  const fleetFile = e.FLEET_FILE
    ? path.resolve(cwd, e.FLEET_FILE)
    : path.join(packageRoot(), DEFAULT_FLEET_FILE);
  const fleet = loadFleetFile(fleetFile);
  const production = e.NODE_ENV === 'production';
  if (e.SLACK_BOT_TOKEN && !e.SLACK_SIGNING_SECRET && !e.SLACK_APP_TOKEN) {
    throw new ConfigError(
      'environment: SLACK_SIGNING_SECRET: required with SLACK_BOT_TOKEN (or set SLACK_APP_TOKEN)',
    );
  }
  if (e.SLACK_BOT_TOKEN && !e.SLACK_CHANNEL_ID) {
    throw new ConfigError('environment: SLACK_CHANNEL_ID: required with SLACK_BOT_TOKEN');
  }
  const config: Config = {
    production,
    redisUrl: e.REDIS_URL ?? 'redis://127.0.0.1:6379',
    redisUrlExplicit: e.REDIS_URL !== undefined,
    keyPrefix: e.KEY_PREFIX ?? 'tc',
    slack: {
      ...(e.SLACK_BOT_TOKEN && { botToken: e.SLACK_BOT_TOKEN }),
      ...(e.SLACK_SIGNING_SECRET && { signingSecret: e.SLACK_SIGNING_SECRET }),
      ...(e.SLACK_APP_TOKEN && { appToken: e.SLACK_APP_TOKEN }),
      ...(e.SLACK_API_URL && { apiUrl: e.SLACK_API_URL }),
      ...(e.SLACK_CHANNEL_ID && { channelId: e.SLACK_CHANNEL_ID }),
      oncall: e.SLACK_ONCALL,
      approvers: e.SLACK_APPROVERS,
    },
    anthropic: {
      ...(e.ANTHROPIC_API_KEY && { apiKey: e.ANTHROPIC_API_KEY }),
      ...(e.ANTHROPIC_BASE_URL && { baseUrl: e.ANTHROPIC_BASE_URL }),
      model: e.CONDUCTOR_MODEL ?? DEFAULT_MODEL,
      dailyBudgetUsd: e.LLM_DAILY_BUDGET_USD ?? 20,
    },
    vast: {
      ...(e.VAST_API_KEY && { apiKey: e.VAST_API_KEY }),
      apiUrl: e.VAST_API_URL ?? 'https://console.vast.ai',
    },
    fleetFile,
    fleet,
    stateDir: path.resolve(cwd, e.STATE_DIR ?? 'state'),
    ssh: {
      ...(e.SSH_PRIVATE_KEY && { privateKey: e.SSH_PRIVATE_KEY }),
      ...(e.SSH_KNOWN_HOSTS && { knownHosts: e.SSH_KNOWN_HOSTS }),
    },
    ...(e.HF_TOKEN && { hfToken: e.HF_TOKEN }),
    port: e.PORT ?? 3000,
    logLevel: e.LOG_LEVEL ?? 'info',
    ...(e.DASHBOARD_PASSWORD && { dashboardPassword: e.DASHBOARD_PASSWORD }),
    workerConcurrency: e.WORKER_CONCURRENCY ?? 8,
  };
  return deepFreeze(config);
}

/** True when the service has what it needs to talk to a real Slack workspace. */
export function hasSlackCredentials(config: Config): boolean {
  return Boolean(config.slack.botToken && (config.slack.signingSecret || config.slack.appToken));
}

function redisPassword(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

/** Every secret value in the config, for log scrubbing and leak scans. */
export function secretValues(config: Config): string[] {
  return [
    config.slack.botToken,
    config.slack.signingSecret,
    config.slack.appToken,
    config.anthropic.apiKey,
    config.vast.apiKey,
    config.hfToken,
    config.dashboardPassword,
    redisPassword(config.redisUrl),
  ].filter((v): v is string => typeof v === 'string' && v.length > 0);
}

const mask = (v: string | undefined) =>
  v === undefined ? undefined : `${v.slice(0, 4)}…(${v.length} chars)`;

/** The config with every secret masked, for `conductor config`. */
export function maskedConfig(config: Config): unknown {
  return {
    ...config,
    slack: {
      ...config.slack,
      botToken: mask(config.slack.botToken),
      signingSecret: mask(config.slack.signingSecret),
      appToken: mask(config.slack.appToken),
    },
    anthropic: { ...config.anthropic, apiKey: mask(config.anthropic.apiKey) },
    vast: { ...config.vast, apiKey: mask(config.vast.apiKey) },
    hfToken: mask(config.hfToken),
    dashboardPassword: mask(config.dashboardPassword),
    redisUrl: config.redisUrl.replace(/\/\/([^@/]*)@/, '//***@'),
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
