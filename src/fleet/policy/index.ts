/** The operating rules (DESIGN.md), each a pure function with its own tests. */
export { requiresApproval } from './approval.js';
export { type BudgetInput, checkBudget } from './budget.js';
export { checkDestroyAllowed, type DestroyCheck, type DestroyGuardInput } from './destroy-guard.js';
export { type DiskCleanupPlan, planDiskCleanup } from './disk-cleanup.js';
export { checkGpuAllowed } from './gpu-blocklist.js';
export { containsTokens, gpuNameTokens, gpuNameWords } from './gpu-name.js';
export { buildTrainerArgv, checkConfigAllowed } from './launch.js';
export { findProfile, profileKey } from './profile.js';
export { type RecurringDecision, recurringDecision } from './recurring.js';
export { shellJoin, shellQuote } from './shell.js';
export { stopCommand } from './stop.js';
export type { PolicyCheck } from './types.js';
