import type { App } from '@slack/bolt';
import type { SlackDeps } from '../../src/slack-app/deps.js';
import { appHomeCallback } from './app-home.js';

export function register(app: App, deps: SlackDeps): void {
  app.event('app_home_opened', appHomeCallback(deps));
}
