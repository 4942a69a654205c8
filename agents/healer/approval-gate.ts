import { PolicyViolation } from '../../src/errors.js';
import { requiresApproval } from '../../src/fleet/policy/approval.js';
import type { Policy } from '../../src/fleet/schema.js';
import type { ActionKind } from '../../src/state/types.js';

/**
 * Defence in depth for the approval rule: an action the policy does not allow to run by itself
 * must come from an approved proposal or from a person (a Slack user id), never from the
 * service acting alone, whoever enqueued it.
 */

const SLACK_USER = /^[UW][A-Z0-9]{2,}$/;

export function requireApproval(
  action: ActionKind,
  job: { requestedBy: string; proposalId?: string | undefined },
  policy: Pick<Policy, 'auto_actions'>,
): void {
  if (!requiresApproval(action, policy)) return;
  if (job.proposalId !== undefined || SLACK_USER.test(job.requestedBy)) return;
  throw new PolicyViolation(
    'approval_required',
    `${action} needs a human's approval, and this job (requested by ${job.requestedBy}) has none`,
  );
}
