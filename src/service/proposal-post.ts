import { renderProposal } from '../slack-messages/proposal.js';
import type { Proposal } from '../state/types.js';
import type { AppContext } from './context.js';

type OfferOptions = Parameters<typeof renderProposal>[0]['offers'];

/**
 * Posts a proposal with its buttons into its incident's alert thread (or the channel), through
 * the notify queue; the ref key makes a retried post one message.
 */
export function proposalPoster(ctx: AppContext, channelId: string) {
  return async (proposal: Proposal): Promise<void> => {
    const run = ctx.config.fleet.runs.find((r) => r.name === proposal.run);
    if (!run) return;
    const incident = proposal.incidentId ? await ctx.store.incidents.get(proposal.incidentId) : null;
    const offers = Array.isArray(proposal.params['offers'])
      ? (proposal.params['offers'] as OfferOptions)
      : [];
    const step = proposal.params['currentStep'];
    const waiting = proposal.params['waitingFor'];
    const message = renderProposal({
      proposal,
      run,
      offers,
      currentStep: typeof step === 'number' ? step : ((await ctx.store.getHealth(run.name))?.step ?? null),
      waitingFor: typeof waiting === 'string' ? waiting : undefined,
      now: ctx.clock.now(),
    });
    await ctx.queues.enqueue(
      'notify',
      'proposal',
      {
        kind: 'post',
        channel: incident?.slack?.channel ?? channelId,
        ...message,
        ...(incident?.slack && { threadTs: incident.slack.ts }),
        ...(incident && !incident.slack && { incidentId: incident.id }),
        refKey: `proposal-${proposal.id}`,
      },
      { jobId: `proposal-post-${proposal.id}` },
    );
  };
}
