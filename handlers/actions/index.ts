import type { App } from '@slack/bolt';
import type { SlackDeps } from '../../src/slack-app/deps.js';
import { ACTION_IDS } from '../../src/slack-messages/blocks.js';
import { incidentAckCallback } from './incident-ack.js';
import { proposalApproveCallback } from './proposal-approve.js';
import { proposalRejectCallback } from './proposal-reject.js';

export function register(app: App, deps: SlackDeps): void {
  app.action(ACTION_IDS.incidentAck, incidentAckCallback(deps));
  app.action(ACTION_IDS.proposalApprove, proposalApproveCallback(deps));
  app.action(ACTION_IDS.proposalReject, proposalRejectCallback(deps));
}
