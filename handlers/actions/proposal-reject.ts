import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { errorMessage } from '../../src/errors.js';
import { rejectProposal } from '../../src/slack-app/approval.js';
import { isApprover } from '../../src/slack-app/approvers.js';
import type { SlackDeps } from '../../src/slack-app/deps.js';
import { respondEphemeral } from '../../src/slack-app/respond.js';
import { parseProposalIdValue, renderProposalDecided } from '../../src/slack-messages/proposal.js';

type Args = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

export function proposalRejectCallback(deps: SlackDeps) {
  return async ({ ack, body, action, client, logger }: Args): Promise<void> => {
    await ack();
    const user = body.user.id;
    try {
      const proposalId = parseProposalIdValue(action.value);
      if (!proposalId) {
        await respondEphemeral(
          deps.queues,
          body.response_url,
          ':x: This button does not carry a valid proposal.',
        );
        return;
      }
      if (!(await isApprover(client, deps.approvers, user))) {
        await respondEphemeral(
          deps.queues,
          body.response_url,
          ':no_entry: Only approvers can reject proposals.',
        );
        return;
      }
      const outcome = await rejectProposal(deps.store, proposalId, user);
      if (!outcome.ok) {
        await respondEphemeral(deps.queues, body.response_url, `:hourglass: ${outcome.reason}.`);
        return;
      }
      const channel = body.container?.channel_id ?? body.channel?.id;
      const ts = body.container?.message_ts ?? body.message?.ts;
      if (channel && ts) {
        const decided = renderProposalDecided({
          proposal: outcome.proposal,
          decidedBy: user,
          decidedAt: deps.clock.now(),
          outcome: 'rejected',
        });
        await deps.queues.enqueue('notify', 'update', { kind: 'update', channel, ts, ...decided });
      }
    } catch (err) {
      logger.error(`reject failed: ${errorMessage(err)}`);
    }
  };
}
