import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { errorMessage } from '../../src/errors.js';
import { approveProposal } from '../../src/slack-app/approval.js';
import { isApprover } from '../../src/slack-app/approvers.js';
import type { SlackDeps } from '../../src/slack-app/deps.js';
import { respondEphemeral } from '../../src/slack-app/respond.js';
import { parseApproveValue, renderProposalDecided } from '../../src/slack-messages/proposal.js';

type Args = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

/** Approve: only approvers; the proposal is consumed once whatever the clicks and retries. */
export function proposalApproveCallback(deps: SlackDeps) {
  return async ({ ack, body, action, client, logger }: Args): Promise<void> => {
    const started = performance.now();
    await ack();
    if (!deps.ackTimedByReceiver) {
      deps.metrics.ackLatency.observe({ kind: 'action' }, (performance.now() - started) / 1000);
    }
    const user = body.user.id;
    try {
      const value = parseApproveValue(action.value);
      if (!value) {
        await respondEphemeral(
          deps.queues,
          body.response_url,
          ':x: This button does not carry a valid proposal.',
        );
        return;
      }
      if (!(await isApprover(client, deps.approvers, user))) {
        logger.warn(`approval refused: ${user} is not an approver`);
        await respondEphemeral(
          deps.queues,
          body.response_url,
          ':no_entry: Only approvers can approve proposals. Nothing was done.',
        );
        return;
      }
      const channel = body.container?.channel_id ?? body.channel?.id;
      const ts = body.container?.message_ts ?? body.message?.ts;
      const thread = channel && ts ? { channel, ts } : undefined;
      const outcome = await approveProposal(deps, {
        proposalId: value.proposalId,
        offerId: value.offerId,
        user,
        ...(thread && { thread }),
      });
      if (!outcome.ok) {
        await respondEphemeral(
          deps.queues,
          body.response_url,
          `:hourglass: Not approved: ${outcome.reason}.`,
        );
        return;
      }
      if (thread) {
        const decided = renderProposalDecided({
          proposal: outcome.proposal,
          decidedBy: user,
          decidedAt: deps.clock.now(),
          outcome: 'approved',
          offerId: value.offerId ?? undefined,
        });
        await deps.queues.enqueue('notify', 'update', {
          kind: 'update',
          channel: thread.channel,
          ts: thread.ts,
          ...decided,
        });
      }
    } catch (err) {
      logger.error(`approve failed: ${errorMessage(err)}`);
      await respondEphemeral(
        deps.queues,
        body.response_url,
        `:x: Approval failed: ${errorMessage(err)}`,
      ).catch(() => {});
    }
  };
}
