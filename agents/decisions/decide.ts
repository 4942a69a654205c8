import type { HealthStatus } from '../../src/fleet/health/types.js';
import { requiresApproval } from '../../src/fleet/policy/approval.js';
import type { JournalType } from '../../src/state/types.js';
import type { Decision, DecisionAction, DecisionInput, DecisionJob, DecisionMode, PastFix } from './types.js';

/**
 * decide(input) -> Decision: the rules the conductor applies before any LLM is consulted. Pure.
 *
 *   healthy, slow, provisioning, paused, unknown, unreachable   nothing (the monitor keeps watching;
 *                an unreachable host whose instance is gone comes back as preempted)
 *   stalled, crashed, oom, nccl_hang, nan   healer restart; automatic when policy.auto_actions.restart,
 *                else a proposal. A crash on "no kernel image" cannot be fixed by restarting on the
 *                same GPU, so it becomes a migration proposal instead.
 *                nan: the legacy team restarted from the latest checkpoint (latest.pt is written
 *                every save_interval, usually before the divergence); we do the same, and if the
 *                NaN comes back the recurring rule stops the loop and pages a human.
 *   disk_warning, disk_critical   healer clean_disk (automatic per policy.auto_actions.clean_disk)
 *   preempted    ops `offers` job: ranks replacements and stores a migration proposal. A static host
 *                cannot be replaced by renting, so it escalates.
 *   complete     ops finish, always after approval (it ends with destroying the instance)
 * A run stopped on purpose (stoppedByUs) or already marked complete is left alone.
 * Rule 6: when the issue recurred `recurring_count` times, an automatic action is replaced by an
 * escalation carrying the history of past fixes; a proposal stays a proposal (a human decides
 * anyway) but also pages, with the same history.
 */

const RESTARTABLE: ReadonlySet<HealthStatus> = new Set(['stalled', 'crashed', 'oom', 'nccl_hang', 'nan']);

/** Journal types that record an attempt to fix a run: the history a paged human needs. */
const FIX_TYPES: ReadonlySet<JournalType> = new Set<JournalType>([
  'AUTO_RESTART',
  'AUTO_CLEANUP',
  'RESTART_FAILED',
  'FIX',
  'REPLACE',
  'ESCALATION',
  'POLICY_REFUSED',
]);

const HISTORY_MAX = 10;

interface Rule {
  action: DecisionAction;
  mode: DecisionMode;
  job: DecisionJob | null;
  proposalAction: Decision['proposalAction'];
  reason: string;
}

const nothing = (reason: string): Rule => ({
  action: 'none',
  mode: 'none',
  job: null,
  proposalAction: null,
  reason,
});

const STATUS_WORDS: Partial<Record<HealthStatus, string>> = {
  stalled: 'the step stopped advancing',
  crashed: 'the trainer died',
  oom: 'the trainer ran out of GPU memory',
  nccl_hang: 'an NCCL collective hung',
  nan: 'the loss is NaN',
};

function restartRule(input: DecisionInput): Rule {
  const { health, policy } = input;
  const automatic = !requiresApproval('restart', policy);
  const what = STATUS_WORDS[health.status] ?? health.status;
  const how =
    health.status === 'nan'
      ? 'restart from the latest checkpoint, as the team did by hand'
      : 'restart from the latest checkpoint';
  return {
    action: 'restart',
    mode: automatic ? 'automatic' : 'proposal',
    job: { queue: 'healer', action: 'restart' },
    proposalAction: automatic ? null : 'restart',
    reason: `${what}: ${how}${automatic ? '' : ' (automatic restarts are off: asking first)'}`,
  };
}

function migrateRule(reason: string): Rule {
  return {
    action: 'migrate',
    mode: 'proposal',
    job: { queue: 'ops', action: 'offers' },
    proposalAction: 'migrate',
    reason,
  };
}

function cleanDiskRule(input: DecisionInput): Rule {
  const automatic = !requiresApproval('clean_disk', input.policy);
  const pct = input.health.diskPct === null ? 'high' : `at ${input.health.diskPct}%`;
  return {
    action: 'clean_disk',
    mode: automatic ? 'automatic' : 'proposal',
    job: { queue: 'healer', action: 'clean_disk' },
    proposalAction: automatic ? null : 'clean_disk',
    reason: `disk ${pct}: delete old step checkpoints, keeping the newest${automatic ? '' : ' (automatic clean-up is off: asking first)'}`,
  };
}

function chooseRule(input: DecisionInput): Rule {
  const { health, runState, run } = input;
  if (runState?.complete) return nothing(`${run.name} is already marked complete`);
  const status = health.status;
  if (RESTARTABLE.has(status)) {
    if (runState?.stoppedByUs) return nothing(`${run.name} was stopped on purpose: not restarting it`);
    if (status === 'crashed' && health.errorSignature === 'no_kernel_image') {
      return migrateRule(
        `the trainer has no kernels for this GPU ("no kernel image is available"): restarting here cannot work, move to a supported GPU`,
      );
    }
    return restartRule(input);
  }
  switch (status) {
    case 'disk_warning':
    case 'disk_critical':
      return cleanDiskRule(input);
    case 'preempted':
      if (run.host) {
        return {
          action: 'escalate',
          mode: 'escalate',
          job: null,
          proposalAction: null,
          reason: `static host ${run.host.host} is down and cannot be replaced by renting: a human must look`,
        };
      }
      return migrateRule(`the instance is down (${health.reason}): rent a replacement and resume there`);
    case 'complete':
      return {
        action: 'finish',
        mode: 'proposal',
        job: { queue: 'ops', action: 'finish' },
        proposalAction: 'finish',
        reason: `${run.name} reached its target: save the final checkpoint and release the instance`,
      };
    case 'unreachable':
      return nothing('the host does not answer SSH: waiting for the next sweep before acting');
    case 'slow':
      return nothing('training is slower than usual: noted, no action');
    case 'provisioning':
      return nothing('the instance is still starting');
    case 'paused':
      return nothing('supervision of this run is paused');
    case 'unknown':
      return nothing('the probe told us nothing usable: not acting on noise');
    default:
      return nothing('training is healthy');
  }
}

function pastFixes(input: DecisionInput): PastFix[] {
  const entries = (input.journal ?? []).filter((e) => e.model === input.run.name && FIX_TYPES.has(e.type));
  return [...entries]
    .sort((a, b) => a.timestamp.localeCompare(b.timestamp))
    .slice(-HISTORY_MAX)
    .map((e) => ({ timestamp: e.timestamp, type: e.type, message: e.message }));
}

/** Rule 6 applied to a rule: stop acting automatically on an issue that keeps coming back. */
function applyRecurring(input: DecisionInput, rule: Rule): Rule {
  const recurring = input.recurring.escalate || input.incident?.escalated === true;
  if (!recurring || rule.mode !== 'automatic') return rule;
  const times = Math.max(input.recurring.count, input.incident?.count ?? 0);
  return {
    action: 'escalate',
    mode: 'escalate',
    job: null,
    proposalAction: null,
    reason:
      `${input.health.status} has come back ${times} times: not trying "${rule.action}" again by itself, ` +
      'a human should find the root cause',
  };
}

export function decide(input: DecisionInput): Decision {
  const rule = applyRecurring(input, chooseRule(input));
  const recurring = input.recurring.escalate || input.incident?.escalated === true;
  const escalating = rule.mode === 'escalate' || (recurring && rule.mode === 'proposal');
  const page = escalating && input.incident?.escalated !== true;
  const history = escalating ? pastFixes(input) : [];
  const details: Record<string, unknown> = {
    reason: rule.reason,
    status: input.health.status,
    action: rule.action,
    mode: rule.mode,
    step: input.health.step,
    recurring: input.recurring.count,
  };
  if (input.incident) details['incident'] = input.incident.id;
  if (history.length > 0) details['history'] = history;
  return {
    ...rule,
    page,
    history,
    journal: {
      type: 'DECISION',
      model: input.run.name,
      message: `${rule.action === 'none' ? 'no action' : rule.action}: ${rule.reason}`,
      details,
    },
  };
}
