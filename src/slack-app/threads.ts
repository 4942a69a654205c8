import type { Store } from '../state/store.js';

/**
 * Threads the bot started (alerts, proposals, asks): a user message in one of them is a message
 * to the conductor. Remembered for 30 days.
 */
const THREAD_TTL_MS = 30 * 86_400_000;

export function rememberBotThread(store: Store, channel: string, ts: string): Promise<void> {
  return store.setMeta(`bot-thread:${channel}:${ts}`, '1', THREAD_TTL_MS);
}

export async function isBotThread(store: Store, channel: string, ts: string): Promise<boolean> {
  return (await store.getMeta(`bot-thread:${channel}:${ts}`)) !== null;
}

/** Slack delivers app_mention and message for one mention: the first of the two wins. */
export function firstDelivery(store: Store, channel: string, ts: string): Promise<boolean> {
  return store.once(`event:${channel}:${ts}`, 86_400_000);
}
