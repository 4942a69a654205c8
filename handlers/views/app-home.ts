import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { errorMessage } from '../../src/errors.js';
import type { SlackDeps } from '../../src/slack-app/deps.js';
import { loadDigestInput } from '../../src/slack-app/fleet-view.js';
import { renderStatusDigest } from '../../src/slack-messages/status-digest.js';

type Args = SlackEventMiddlewareArgs<'app_home_opened'> & AllMiddlewareArgs;

/** The App Home tab shows the live fleet digest to whoever opens it. */
export function appHomeCallback(deps: SlackDeps) {
  return async ({ event, client, logger }: Args): Promise<void> => {
    if (event.tab !== 'home') return;
    try {
      const digest = renderStatusDigest(await loadDigestInput(deps.store, deps.fleet, deps.clock.now()));
      await client.views.publish({
        user_id: event.user,
        view: { type: 'home', blocks: digest.blocks as never },
      });
    } catch (err) {
      logger.warn(`app home failed: ${errorMessage(err)}`);
    }
  };
}
