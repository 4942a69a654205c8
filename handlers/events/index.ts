import type { App } from '@slack/bolt';
import type { SlackDeps } from '../../src/slack-app/deps.js';
import { appMentionCallback } from './app-mention.js';
import { threadMessageCallback } from './thread-message.js';

export function register(app: App, deps: SlackDeps): void {
  app.event('app_mention', appMentionCallback(deps));
  app.message(threadMessageCallback(deps));
}
