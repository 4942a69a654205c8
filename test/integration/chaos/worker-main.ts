/**
 * One `conductor worker` process for the chaos test: the service context and every worker, as
 * src/service/roles.ts starts them, but against the simulated world and on the test's fast clock
 * (the real binary runs on the system clock, which the simulated world does not). The test kills
 * it with SIGKILL. Settings arrive as one JSON argument; "ready" is printed once it works.
 */
import { readFileSync } from 'node:fs';
import { remoteProbe } from '../../../agents/monitor/probe.js';
import { scaledClock } from '../../../src/clock.js';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/logger.js';
import { createContext, registerContextShutdown } from '../../../src/service/context.js';
import { slackWebClient } from '../../../src/service/slack-app.js';
import { startWorkers } from '../../../src/service/workers.js';
import { WorkerSettingsSchema } from './worker-settings.js';

async function main(): Promise<void> {
  const settings = WorkerSettingsSchema.parse(JSON.parse(process.argv[2] ?? '{}'));
  const { speed, clockMs, realMs } = settings.clock;
  const clock = scaledClock(speed, clockMs + (Date.now() - realMs) * speed);
  const config = loadConfig({
    FLEET_FILE: settings.fleetFile,
    KEY_PREFIX: settings.keyPrefix,
    STATE_DIR: settings.stateDir,
    REDIS_URL: settings.redisUrl,
    HF_TOKEN: settings.hfToken,
    SLACK_ONCALL: settings.oncall.join(','),
    LOG_LEVEL: 'warn',
  });
  const logger = createLogger({ level: 'warn', name: settings.name });
  const ctx = createContext(config, {
    clock,
    logger,
    redisUrl: settings.redisUrl,
    sshPrivateKey: readFileSync(settings.privateKeyFile, 'utf8'),
    vast: { url: settings.vastUrl, apiKey: settings.vastApiKey },
    probeTimeoutMs: 5_000,
  });
  registerContextShutdown(ctx);
  await startWorkers(ctx, {
    probe: remoteProbe,
    slackClient: slackWebClient({ botToken: settings.botToken, apiUrl: settings.slackApiUrl }),
    slack: { channelId: settings.channelId, oncall: settings.oncall },
    probeTimeoutMs: 5_000,
    llm: null,
  });
  await ctx.queues.scheduleSweep(settings.sweepEveryRealMs);
  ctx.shutdown.installSignalHandlers((code) => process.exit(code));
  process.stdout.write('ready\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`worker failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
