import type { SlackDeps } from '../../src/slack-app/deps.js';
import { firstDelivery } from '../../src/slack-app/threads.js';

export interface ConversationMessage {
  channel: string;
  ts: string;
  threadTs: string | undefined;
  user: string;
  text: string;
}

/** Hands a user's message to the conductor queue once, however many events Slack sent for it. */
export async function forwardToConductor(deps: SlackDeps, message: ConversationMessage): Promise<boolean> {
  if (!(await firstDelivery(deps.store, message.channel, message.ts))) return false;
  await deps.queues.enqueue(
    'conductor',
    'thread',
    {
      kind: 'thread',
      channel: message.channel,
      threadTs: message.threadTs ?? message.ts,
      ts: message.ts,
      user: message.user,
      text: message.text.slice(0, 40_000),
    },
    { jobId: `thread-${message.channel}-${message.ts.replace('.', '_')}` },
  );
  return true;
}
