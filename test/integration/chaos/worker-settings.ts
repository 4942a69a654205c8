import { z } from 'zod';

/** What the chaos test hands each worker process (worker-main.ts). */
export const WorkerSettingsSchema = z
  .object({
    name: z.string(),
    redisUrl: z.string(),
    keyPrefix: z.string(),
    stateDir: z.string(),
    fleetFile: z.string(),
    hfToken: z.string(),
    privateKeyFile: z.string(),
    vastUrl: z.string(),
    vastApiKey: z.string(),
    slackApiUrl: z.string(),
    botToken: z.string(),
    channelId: z.string(),
    oncall: z.array(z.string()),
    /** The test's clock: `clockMs` was its time at real time `realMs`, running `speed` times faster. */
    clock: z.object({ clockMs: z.number(), realMs: z.number(), speed: z.number().positive() }),
    sweepEveryRealMs: z.number().positive(),
  })
  .strict();
export type WorkerSettings = z.infer<typeof WorkerSettingsSchema>;
