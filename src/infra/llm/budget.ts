/**
 * The daily LLM budget. Past it the conductor stops calling the model and answers from the rules,
 * saying why; the check runs before every call, so one long turn cannot run far past the limit.
 */

export type LlmBudgetCheck = { ok: true; remainingUsd: number } | { ok: false; reason: string };

function money(usd: number): string {
  return `$${usd.toFixed(usd < 1 ? 4 : 2)}`;
}

export function checkLlmBudget(spentTodayUsd: number, dailyBudgetUsd: number): LlmBudgetCheck {
  if (!(dailyBudgetUsd > 0)) {
    return { ok: false, reason: 'the daily LLM budget is zero' };
  }
  if (!Number.isFinite(spentTodayUsd) || spentTodayUsd < 0) {
    return { ok: false, reason: `today's LLM spend is unknown (${String(spentTodayUsd)})` };
  }
  if (spentTodayUsd >= dailyBudgetUsd) {
    return {
      ok: false,
      reason: `today's LLM budget of ${money(dailyBudgetUsd)} is used up (${money(spentTodayUsd)} spent, resets at 00:00 UTC)`,
    };
  }
  return { ok: true, remainingUsd: dailyBudgetUsd - spentTodayUsd };
}
