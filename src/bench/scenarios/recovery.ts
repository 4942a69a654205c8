import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../config.js';
import { startDemo } from '../../demo/demo.js';
import { ensureRedis } from '../../infra/redis/bootstrap.js';
import { silentLogger } from '../../logger.js';
import { packageRoot } from '../../package-root.js';
import { DEFAULT_SCENARIO } from '../../sim/scenario.js';
import { approveProposal } from '../../slack-app/approval.js';
import type { BenchRow, BenchScenario } from '../types.js';

const RUN = 'mosaic_moe';

/**
 * Outbid -> detected -> proposal -> approved at once -> training resumed on the new instance,
 * through the whole product against the simulator. Times are clock minutes.
 */
export const recoveryScenario: BenchScenario = {
  name: 'recovery',
  description: 'outbid to detection, proposal and training resumed (approval answered at once); steps lost',
  async run({ log }) {
    const speed = 120;
    const redis = await ensureRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', false);
    const prefix = `tcbench-recovery-${Date.now()}`;
    const config = loadConfig({
      FLEET_FILE: path.join(packageRoot(), 'fleet.example.yaml'),
      KEY_PREFIX: prefix,
      STATE_DIR: mkdtempSync(path.join(os.tmpdir(), 'tc-bench-')),
      REDIS_URL: redis.url,
      LOG_LEVEL: 'silent',
    });
    const demo = await startDemo(config, {
      scenario: { ...DEFAULT_SCENARIO, faults: [] },
      speed,
      logger: silentLogger,
      keyPrefix: prefix,
    });
    const { store, clock } = demo.ctx;
    const minutes = (ms: number) => ms / 60_000;
    try {
      await new Promise((r) => setTimeout(r, 3000));
      const oldInstance = (await store.getRunState(RUN))?.instanceId;
      const stepBefore = (await store.getHealth(RUN))?.step ?? 0;
      const outbidAt = clock.now();
      await demo.world.inject(RUN, 'outbid');
      const waitFor = async <T>(
        what: string,
        probe: () => Promise<T | null | undefined>,
        realMs = 120_000,
      ) => {
        const deadline = Date.now() + realMs;
        for (;;) {
          const value = await probe();
          if (value) return value;
          if (Date.now() > deadline) throw new Error(`recovery bench: timed out waiting for ${what}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      const journalEntry = (type: string) => async () =>
        (await store.journal.recent(200, { run: RUN })).find(
          (r) => r.entry.type === type && Date.parse(r.entry.timestamp) >= outbidAt,
        );
      const detected = await waitFor('OUTBID', journalEntry('OUTBID'));
      const proposed = await waitFor('proposal', async () =>
        (await store.journal.recent(200, { run: RUN })).find(
          (r) =>
            r.entry.type === 'DECISION' &&
            /proposed migrating/.test(r.entry.message) &&
            Date.parse(r.entry.timestamp) >= outbidAt,
        ),
      );
      const proposalId = String(proposed.entry.details?.['proposal'] ?? '');
      const approvedAt = clock.now();
      const outcome = await approveProposal(demo.ctx, { proposalId, offerId: null, user: 'UAPPROVER' });
      if (!outcome.ok) throw new Error(`recovery bench: approval failed: ${outcome.reason}`);
      const replaced = await waitFor('REPLACE', journalEntry('REPLACE'), 240_000);
      const resumed = Number(
        /RESUMED step=(\d+)/.exec(JSON.stringify(replaced.entry))?.[1] ??
          replaced.entry.details?.['resumedStep'] ??
          Number.NaN,
      );
      const newInstance = (await store.getRunState(RUN))?.instanceId;
      log(`instance ${oldInstance} -> ${newInstance}; resumed at ${resumed}, was at ${stepBefore}`);
      const t = (entry: { entry: { timestamp: string } }) =>
        minutes(Date.parse(entry.entry.timestamp) - outbidAt);
      const rows: BenchRow[] = [
        { scenario: 'recovery', metric: 'preemption to detection', unit: 'min', value: t(detected) },
        { scenario: 'recovery', metric: 'preemption to proposal', unit: 'min', value: t(proposed) },
        {
          scenario: 'recovery',
          metric: 'approval to training verified',
          unit: 'min',
          value: t(replaced) - minutes(approvedAt - outbidAt),
        },
        { scenario: 'recovery', metric: 'preemption to training verified', unit: 'min', value: t(replaced) },
        {
          scenario: 'recovery',
          metric: 'steps lost (last seen - resumed)',
          unit: 'steps',
          value: Number.isFinite(resumed) ? stepBefore - resumed : Number.NaN,
        },
        {
          scenario: 'recovery',
          metric: 'instances rented',
          unit: 'count',
          value: newInstance !== oldInstance ? 1 : 0,
        },
      ];
      return rows;
    } finally {
      await demo.stop();
      await redis.stop();
    }
  },
};
