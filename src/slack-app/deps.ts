import type { webApi } from '@slack/bolt';
import type { Clock } from '../clock.js';
import type { Fleet } from '../fleet/schema.js';
import type { Metrics } from '../http/metrics.js';
import type { Logger } from '../logger.js';
import type { Queues } from '../queues/queues.js';
import type { Store } from '../state/store.js';

export type SlackClient = webApi.WebClient;

/** What every Slack listener receives. */
export interface SlackDeps {
  store: Store;
  queues: Queues;
  fleet: Fleet;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  channelId: string;
  oncall: readonly string[];
  approvers: readonly string[];
  /**
   * True when the receiver times acks itself (HTTP mode: it acks before any listener runs);
   * in Socket Mode the listeners time their own `ack()`.
   */
  ackTimedByReceiver?: boolean;
}
