import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { errorMessage } from '../../src/errors.js';
import type { SlackDeps } from '../../src/slack-app/deps.js';
import { forwardToConductor } from './conversation.js';

type Args = SlackEventMiddlewareArgs<'app_mention'> & AllMiddlewareArgs;

/** `@conductor …` anywhere: a conductor turn answered in that message's thread. */
export function appMentionCallback(deps: SlackDeps) {
  return async ({ event, logger }: Args): Promise<void> => {
    try {
      if (!event.user) return;
      await forwardToConductor(deps, {
        channel: event.channel,
        ts: event.ts,
        threadTs: event.thread_ts,
        user: event.user,
        text: event.text,
      });
    } catch (err) {
      logger.error(`app_mention failed: ${errorMessage(err)}`);
    }
  };
}
