import { ensureRedis } from '../../infra/redis/bootstrap.js';
import { silentLogger } from '../../logger.js';
import { runCampaign } from '../campaign/campaign.js';
import { campaignRows } from '../campaign/rows.js';
import { campaignSettings } from '../campaign/settings.js';
import type { BenchScenario } from '../types.js';

/**
 * The three runs from step 0 to 50,000 (quick: the last 5,000 steps) with a seeded fault
 * schedule, supervised by Train Conductor, by the legacy 60-second loop, and by nobody, side by
 * side on one simulated clock. Ratios: times better than the legacy loop.
 */
export const campaignScenario: BenchScenario = {
  name: 'campaign',
  description: 'training campaign under faults: Train Conductor vs the legacy loop vs no supervision',
  async run({ quick, log }) {
    const redis = await ensureRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', false);
    try {
      const settings = campaignSettings({ quick });
      log(
        `${settings.seeds.length} runs, step ${settings.startStep} to ${settings.targetStep}, ` +
          `${settings.faults.length} faults, ${settings.speed}x clock, human acts after ${settings.approvalDelayMs / 60_000} min`,
      );
      const result = await runCampaign(settings, { redisUrl: redis.url, logger: silentLogger, log });
      log(
        `done in ${result.realSeconds.toFixed(0)} s real; ${result.approvals.length} approvals, ` +
          `${result.acks} pages acknowledged, ${result.legacyRestarts} legacy relaunches`,
      );
      log(
        `Train Conductor swept ${result.sweeps.count} times (every ${((result.endAt - result.startAt) / 1000 / Math.max(1, result.sweeps.count)).toFixed(0)} clock s, ${result.sweeps.meanRealMs.toFixed(0)} ms real each)`,
      );
      // Why a run did not finish under Train Conductor: its last journal lines.
      for (const run of result.accounts.conductor.runs.filter((r) => !r.completed)) {
        const view = result.views.find((v) => v.run === run.run);
        log(
          `${run.run} did not finish under Train Conductor: it has instance ${view?.recordedInstance} on record ` +
            `(the run is on ${view?.actualInstance}) and sees "${view?.status}: ${view?.reason}"; its last journal lines:`,
        );
        for (const e of result.journal.filter((j) => j.run === run.run).slice(-6)) {
          log(`  ${e.hours.toFixed(2)} h ${e.type}: ${e.message.slice(0, 160)}`);
        }
      }
      return campaignRows(result);
    } finally {
      await redis.stop();
    }
  },
};
