export { checkLlmBudget, type LlmBudgetCheck } from './budget.js';
export {
  createLlmClient,
  DEFAULT_LLM_MAX_RETRIES,
  DEFAULT_LLM_TIMEOUT_MS,
  describeLlmError,
  isTransientLlmError,
  type LlmClient,
  type LlmClientOptions,
  type LlmRequestOptions,
  type MessageRequest,
} from './client.js';
export {
  type ApiUsage,
  addUsage,
  cachedFraction,
  nanosToUsd,
  promptTokens,
  type TokenUsage,
  usageCostNanos,
  usageCostUsd,
  usageFromApi,
  ZERO_USAGE,
} from './cost.js';
export {
  createLlmLedger,
  FLEET_RUN,
  type LedgerDeps,
  type LedgerEntry,
  type LedgerTotals,
  type LlmLedger,
  llmKeys,
  utcDay,
} from './ledger.js';
export { MODEL_PRICES, type ModelPrice, priceFor, UNKNOWN_MODEL_PRICE } from './prices.js';
