import type { App } from '@slack/bolt';
import type { SlackDeps } from '../../src/slack-app/deps.js';
import { trainCommandCallback } from './train-command.js';

export function register(app: App, deps: SlackDeps): void {
  app.command('/train', trainCommandCallback(deps));
}
