import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { errorMessage } from '../../src/errors.js';
import type { SlackDeps } from '../../src/slack-app/deps.js';
import { respondEphemeral } from '../../src/slack-app/respond.js';

type Args = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

const INCIDENT_ID = /^[A-Za-z0-9_-]{4,64}$/;

/** Acknowledge: anyone in the channel may pick an incident up; the alert stops re-paging. */
export function incidentAckCallback(deps: SlackDeps) {
  return async ({ ack, body, action, logger }: Args): Promise<void> => {
    await ack();
    try {
      if (!INCIDENT_ID.test(action.value ?? '')) {
        await respondEphemeral(
          deps.queues,
          body.response_url,
          ':x: This button does not carry a valid incident.',
        );
        return;
      }
      const result = await deps.store.incidents.ack(action.value as string, body.user.id);
      if (!result) {
        await respondEphemeral(deps.queues, body.response_url, 'That incident no longer exists.');
        return;
      }
      if (result.acked) {
        await deps.queues.enqueue(
          'notify',
          'incident',
          { kind: 'incident', incidentId: result.incident.id, change: 'acked' },
          { jobId: `incident-${result.incident.id}-acked` },
        );
      }
    } catch (err) {
      logger.error(`ack failed: ${errorMessage(err)}`);
    }
  };
}
