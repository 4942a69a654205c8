import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { errorMessage } from '../../src/errors.js';
import type { SlackDeps } from '../../src/slack-app/deps.js';
import { isBotThread } from '../../src/slack-app/threads.js';
import { forwardToConductor } from './conversation.js';

type Args = SlackEventMiddlewareArgs<'message'> & AllMiddlewareArgs;

/** A plain reply in a thread the bot started goes to the conductor; everything else is ignored. */
export function threadMessageCallback(deps: SlackDeps) {
  return async ({ message, logger }: Args): Promise<void> => {
    try {
      if (message.subtype !== undefined || !('user' in message) || !message.user) return;
      if (!('thread_ts' in message) || !message.thread_ts || message.thread_ts === message.ts) return;
      if (!(await isBotThread(deps.store, message.channel, message.thread_ts))) return;
      await forwardToConductor(deps, {
        channel: message.channel,
        ts: message.ts,
        threadTs: message.thread_ts,
        user: message.user,
        text: message.text ?? '',
      });
    } catch (err) {
      logger.error(`thread message failed: ${errorMessage(err)}`);
    }
  };
}
