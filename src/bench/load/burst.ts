import type { InteractionResult, LocalSlack } from '../../sim/slack/index.js';
import { ACTION_IDS } from '../../slack-messages/blocks.js';
import { commandLine, type LoadRequest } from './plan.js';
import type { PostedProposal } from './proposals.js';

/**
 * Fires every request of the burst at once through the local Slack (signed, over HTTP, to the bot
 * process), as users would, and keeps each one's result: the ack latency and the response_url
 * posts that keep arriving afterwards.
 */

export interface FiredRequest {
  request: LoadRequest;
  result: InteractionResult;
}

export interface BurstResult {
  fired: FiredRequest[];
  /** Wall-clock epoch ms. */
  start: number;
  end: number;
}

export interface BurstTarget {
  slack: LocalSlack;
  channel: string;
  /** Who types the commands. */
  viewer: string;
  /** Who clicks Approve. */
  approver: string;
}

function fire(target: BurstTarget, request: LoadRequest, proposals: readonly PostedProposal[]) {
  if (request.kind !== 'approve') {
    return target.slack.sendCommand({
      user: target.viewer,
      channel: target.channel,
      text: commandLine(request),
    });
  }
  const proposal = proposals[request.proposal];
  if (!proposal) throw new RangeError(`no proposal #${request.proposal}`);
  return target.slack.clickButton({
    user: target.approver,
    channel: proposal.channel,
    ts: proposal.ts,
    actionId: ACTION_IDS.proposalApprove,
    value: proposal.value,
  });
}

export async function fireBurst(
  target: BurstTarget,
  requests: readonly LoadRequest[],
  proposals: readonly PostedProposal[],
): Promise<BurstResult> {
  const start = Date.now();
  const fired = await Promise.all(
    requests.map(async (request) => ({ request, result: await fire(target, request, proposals) })),
  );
  return { fired, start, end: Date.now() };
}
