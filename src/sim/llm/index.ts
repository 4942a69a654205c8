export { defaultResponder } from './default-responder.js';
export { CACHE_LOOKBACK_BLOCKS, type CacheUsage, type PromptBlock, PromptCache } from './prompt-cache.js';
export {
  estimateTokens,
  type FakeRequest,
  type FakeToolResult,
  lastToolResults,
  lastUserText,
  systemText,
} from './request.js';
export { type FakeResponder, type FakeStep, type FakeToolCall, fakeReply } from './script.js';
export {
  type FakeAnthropic,
  type FakeAnthropicOptions,
  type FakeExchange,
  type FakeUsage,
  fakeApiKey,
  startFakeAnthropic,
} from './server.js';
