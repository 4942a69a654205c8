import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import { freePort } from '../../../src/infra/redis/bootstrap.js';
import type { LocalSlack } from '../../../src/sim/slack/index.js';

export const SIGNING_SECRET = 'local-slack-test-signing-secret';
export const BOT_TOKEN = 'xoxb-local-slack-test-token';

export interface TestApp {
  app: App;
  url: string;
  stop(): Promise<void>;
}

/**
 * The real Bolt app over HTTP, as production runs it, pointed at the local Slack's Web API.
 * `register` adds listeners before the app starts.
 */
export async function startBoltApp(
  slack: LocalSlack,
  register: (app: App) => void,
  options: { processBeforeResponse?: boolean; signingSecret?: string } = {},
): Promise<TestApp> {
  const port = await freePort();
  const receiver = new HTTPReceiver({
    signingSecret: options.signingSecret ?? SIGNING_SECRET,
    processBeforeResponse: options.processBeforeResponse ?? false,
    logLevel: LogLevel.ERROR,
  });
  const app = new App({
    token: BOT_TOKEN,
    receiver,
    logLevel: LogLevel.ERROR,
    clientOptions: { slackApiUrl: slack.url, retryConfig: { retries: 0 } },
  });
  register(app);
  await app.start(port);
  const url = `http://127.0.0.1:${port}`;
  slack.setAppUrl(url);
  return { app, url, stop: () => app.stop().then(() => undefined) };
}
