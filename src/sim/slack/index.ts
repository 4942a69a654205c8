export { LIMITS as BLOCK_KIT_LIMITS, validateBlocks } from './block-kit.js';
export type {
  DeliveryAnswer,
  DeliveryKind,
  DeliveryOutcome,
  DeliveryRecord,
  DeliveryTransport,
  RetryOptions,
} from './delivery.js';
export type { ClickButtonInput, InteractionResult, SendCommandInput } from './interactions.js';
export type { RateLimitOptions } from './rate-limiter.js';
export type { ResponseUrlPost } from './response-urls.js';
export {
  APPROVER_USER_ID,
  type ApiCallRecord,
  DEFAULT_BOT_USER_ID,
  DEFAULT_CHANNEL_ID,
  DEFAULT_CHANNELS,
  DEFAULT_USERGROUPS,
  DEFAULT_USERS,
  type LocalSlack,
  type LocalSlackOptions,
  type PostUserMessageInput,
  startLocalSlack,
  VIEWER_USER_ID,
} from './server.js';
export { slackSignature } from './signing.js';
export {
  type DisconnectReason,
  MAX_SOCKET_CONNECTIONS,
  type SocketConnectionInfo,
} from './socket-mode.js';
export type { Block, SimMessage, SlackChannelSpec, SlackUsergroupSpec, SlackUserSpec } from './types.js';
