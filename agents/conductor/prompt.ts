import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, errorMessage } from '../../src/errors.js';
import { buildTrainerArgv, requiresApproval, shellJoin, stopCommand } from '../../src/fleet/policy/index.js';
import type { Fleet, Policy, RunSpec, Thresholds } from '../../src/fleet/schema.js';
import { packageRoot } from '../../src/package-root.js';
import type { ActionKind } from '../../src/state/types.js';
import { UNTRUSTED_TAG } from './untrusted.js';

/**
 * The conductor's system prompt is a markdown template (prompts/conductor.md, with the healer
 * and ops role prompts it delegates to) whose placeholders are filled here FROM the policy and
 * fleet objects: the rules, thresholds and fleet table the model reads are the ones the code
 * enforces, and changing the fleet file changes the prompt.
 */

export const PROMPT_NAMES = ['conductor', 'healer', 'ops'] as const;
export type PromptName = (typeof PROMPT_NAMES)[number];
export type PromptTemplates = Record<PromptName, string>;

/** Every action, in the order the approval table lists them. */
export const ACTION_KINDS = [
  'restart',
  'clean_disk',
  'collect_logs',
  'stop',
  'migrate',
  'destroy',
  'finish',
] as const satisfies readonly ActionKind[];

// Compile-time check that ACTION_KINDS names every ActionKind.
type MissingAction = Exclude<ActionKind, (typeof ACTION_KINDS)[number]>;
const _everyAction: MissingAction extends never ? true : never = true;
void _everyAction;

const PLACEHOLDER = /\{\{\s*([a-z_]+)\s*\}\}/g;
const COMMENT = /<!--[\s\S]*?-->\s*/g;

export function promptsDir(): string {
  return path.join(packageRoot(), 'prompts');
}

/** Reads the three templates (once, at start-up); a missing file stops start-up with its path. */
export function loadPromptTemplates(dir: string = promptsDir()): PromptTemplates {
  const read = (name: PromptName) => {
    const file = path.join(dir, `${name}.md`);
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`${file}: cannot read the ${name} prompt: ${errorMessage(err)}`);
    }
  };
  return { conductor: read('conductor'), healer: read('healer'), ops: read('ops') };
}

/**
 * Fills `{{name}}` placeholders and drops `<!-- comments -->`. A placeholder without a value is
 * an error, never left in the prompt for the model to puzzle over.
 */
export function renderTemplate(
  template: string,
  vars: Readonly<Record<string, string>>,
  name = 'prompt',
): string {
  const missing = new Set<string>();
  const text = template.replace(COMMENT, '').replace(PLACEHOLDER, (match, key: string) => {
    const value = vars[key];
    if (value === undefined) {
      missing.add(key);
      return match;
    }
    return value;
  });
  if (missing.size > 0) {
    throw new ConfigError(
      `prompts/${name}.md: no value for ${[...missing].map((k) => `{{${k}}}`).join(', ')}`,
    );
  }
  return `${text.trim()}\n`;
}

function code(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}

function money(usd: number): string {
  return `$${usd.toFixed(2)}`;
}

/** `RTX_3090_4x` -> { name: 'RTX 3090', count: 4 }. */
function gpuOfProfileKey(key: string): { name: string; count: number } | null {
  const match = /^(.*)_([1-9][0-9]?)x$/i.exec(key);
  if (!match?.[1] || !match[2]) return null;
  return { name: match[1].replace(/_/g, ' '), count: Number(match[2]) };
}

/** The launch command the code would build for the run's first profile, or why it cannot. */
function exampleLaunch(run: RunSpec, fleet: Fleet): string {
  const first = Object.keys(run.profiles)[0];
  const gpu = first === undefined ? null : gpuOfProfileKey(first);
  const target = gpu ?? (run.host ? { name: run.host.gpu_name, count: run.host.num_gpus } : null);
  if (!target) return 'no GPU profile to launch with';
  try {
    const argv = buildTrainerArgv(run, fleet, target);
    return `on ${target.count}x ${target.name}: ${code(shellJoin(argv))}`;
  } catch (err) {
    return `cannot be launched on ${target.count}x ${target.name}: ${errorMessage(err)}`;
  }
}

export function blockedGpusText(policy: Pick<Policy, 'gpu_blocklist'>): string {
  if (policy.gpu_blocklist.length === 0) return 'No GPU model is blocked by the policy.';
  return `Never rent: ${policy.gpu_blocklist.map((b) => `${b.gpu} (${b.reason})`).join('; ')}.`;
}

export function diskCleanupText(policy: Pick<Policy, 'disk_cleanup'>): string {
  const { threshold_pct: threshold, keep_newest: keep, protected: kept } = policy.disk_cleanup;
  return (
    `above ${threshold}% disk use, old \`step_<N>.pt\` checkpoints are deleted, always keeping the newest ${keep} ` +
    `and never touching ${kept.map(code).join(', ')}.`
  );
}

export function recurringRuleText(
  thresholds: Pick<Thresholds, 'recurring_count' | 'recurring_window_hours'>,
): string {
  return (
    `An issue that recurs ${thresholds.recurring_count} or more times (same run, same kind) within ` +
    `${thresholds.recurring_window_hours} h escalates: a person is paged with the journal history of the fixes ` +
    'already tried, and you are asked for a root-cause summary.'
  );
}

export const DESTROY_RULE =
  'Never destroy an instance before its replacement is verified training (the step advancing past the ' +
  'checkpoint it resumed from), or before the run is complete and its final checkpoint is backed up.';

export function budgetText(policy: Pick<Policy, 'budget'>): string {
  const total = policy.budget.max_total_usd;
  return (
    `the whole fleet may cost at most ${money(policy.budget.max_dph)} per hour` +
    (total === undefined ? '.' : `, and at most ${money(total)} in total.`)
  );
}

export function offerRulesText(policy: Pick<Policy, 'offers'>): string {
  const o = policy.offers;
  return (
    `reliability at least ${o.reliability_min}, download at least ${o.min_inet_down_mbps} Mbit/s` +
    (o.max_dph === undefined ? '' : `, at most ${money(o.max_dph)} per hour`) +
    `; bids are placed ${Math.round(o.bid_margin * 100)}% above the minimum bid.`
  );
}

export function operatingRulesText(fleet: Fleet): string {
  const { policy, thresholds } = fleet;
  const configs = fleet.runs.map((r) => `   - ${code(r.name)} launches with ${code(r.config)}`);
  const forbidden = policy.forbidden_configs.map(
    (f) => `   - ${code(f.run)} must NEVER use ${code(f.config)}: ${f.reason}`,
  );
  const launches = fleet.runs.map((r) => `   - ${code(r.name)} ${exampleLaunch(r, fleet)}`);
  let stop: string;
  try {
    stop = stopCommand(policy);
  } catch (err) {
    stop = `(the configured stop command is refused: ${errorMessage(err)})`;
  }
  const blocked =
    policy.gpu_blocklist.length === 0
      ? ['   - (no GPU model is blocked)']
      : policy.gpu_blocklist.map((b) => `   - never rent ${b.gpu}: ${b.reason}`);
  return [
    '1. Each run uses its own config; some configs are forbidden for some runs:',
    ...configs,
    ...forbidden,
    '2. Every launch passes `--config` and `--run-dir` explicitly. The commands the code builds:',
    ...launches,
    '3. Blocked GPU models:',
    ...blocked,
    `4. Training is stopped with ${code(stop)}, never with \`pkill -9 -f python3\`.`,
    `5. Disk: ${diskCleanupText(policy)}`,
    `6. ${recurringRuleText(thresholds)}`,
    `7. ${DESTROY_RULE}`,
    `8. Budget: ${budgetText(policy)}`,
  ].join('\n');
}

export function approvalTableText(policy: Pick<Policy, 'auto_actions'>): string {
  return ACTION_KINDS.map(
    (action) =>
      `- ${code(action)}: ${requiresApproval(action, policy) ? 'waits for a person to approve' : 'done automatically by the service'}`,
  ).join('\n');
}

export function thresholdsText(t: Thresholds): string {
  return [
    `- monitor sweep every ${t.sweep_interval_s} s`,
    `- stalled: step unchanged for ${t.stall_minutes} min while the process is alive`,
    `- heartbeat stale after ${t.heartbeat_stale_minutes} min`,
    `- slow: tok/s below ${Math.round(t.slow_fraction * 100)}% of its recent median`,
    `- disk warning at ${t.disk_warn_pct}%, critical at ${t.disk_critical_pct}%`,
    `- escalation after ${t.recurring_count} incidents of one kind on one run within ${t.recurring_window_hours} h`,
    `- a new instance may load for ${t.loading_timeout_minutes} min; a restart is verified within ${t.verify_window_minutes} min`,
    `- unacknowledged pages repeat every ${t.repage_minutes} min; status digest every ${t.digest_interval_hours} h`,
  ].join('\n');
}

export function fleetTableText(fleet: Pick<Fleet, 'runs'>): string {
  const rows = fleet.runs.map((r) => {
    const profiles = Object.keys(r.profiles);
    const where = r.host ? `static host (${r.host.num_gpus}x ${r.host.gpu_name})` : `Vast.ai, ${r.billing}`;
    return `| ${r.name} | ${r.config} | ${r.run_dir} | ${r.target_steps} | ${r.priority} | ${where} | ${profiles.join(', ') || '-'} |`;
  });
  return [
    '| run | config | run dir | target steps | priority | machines | GPU profiles |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/** Every value the templates may use, derived from the fleet and its policy. */
export function promptVariables(fleet: Fleet): Record<string, string> {
  const { policy, thresholds } = fleet;
  let stop: string;
  try {
    stop = stopCommand(policy);
  } catch {
    stop = 'killall -9 torchrun';
  }
  return {
    untrusted_tag: UNTRUSTED_TAG,
    operating_rules: operatingRulesText(fleet),
    approval_table: approvalTableText(policy),
    thresholds: thresholdsText(thresholds),
    fleet_table: fleetTableText(fleet),
    stall_minutes: String(thresholds.stall_minutes),
    heartbeat_stale_minutes: String(thresholds.heartbeat_stale_minutes),
    disk_cleanup: `the service cleans up automatically: ${diskCleanupText(policy)}`,
    blocked_gpus: blockedGpusText(policy),
    stop_command: stop,
    recurring_rule: recurringRuleText(thresholds),
    offer_rules: offerRulesText(policy),
    budget: budgetText(policy),
    destroy_rule: DESTROY_RULE,
    proposal_ttl_minutes: String(policy.proposal_ttl_minutes),
  };
}

/** The full system prompt: conductor.md with the healer and ops roles rendered into it. */
export function renderConductorPrompt(fleet: Fleet, templates: PromptTemplates): string {
  const vars = promptVariables(fleet);
  const healer = renderTemplate(templates.healer, vars, 'healer');
  const ops = renderTemplate(templates.ops, vars, 'ops');
  return renderTemplate(templates.conductor, { ...vars, healer_role: healer, ops_role: ops }, 'conductor');
}
