import { z } from 'zod';
import { SAFE_NAME } from '../fleet/schema.js';

/**
 * Every queue's job data, validated with zod when enqueued and again when processed, so a job
 * written by an older or newer process (or by hand) can never reach a processor malformed.
 */

export const QUEUE_NAMES = ['monitor', 'healer', 'ops', 'conductor', 'notify'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

const run = z.string().regex(SAFE_NAME, 'run names are letters, digits, . _ -');
const slackId = z.string().regex(/^[A-Z0-9]{2,}$/);
const ts = z.string().regex(/^\d+\.\d+$/);

export const MonitorJobSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('sweep') }).strict(),
  z
    .object({
      kind: z.literal('sweep_run'),
      run,
      /** Answer the requester when done (a Slack response_url). */
      responseUrl: z.url().optional(),
      requestedBy: z.string().optional(),
    })
    .strict(),
]);

export const HealerActionSchema = z.enum(['restart', 'clean_disk', 'collect_logs', 'stop']);
export const HealerJobSchema = z
  .object({
    action: HealerActionSchema,
    run,
    reason: z.string().min(1).max(2000),
    requestedBy: z.string().min(1),
    proposalId: z.string().optional(),
    incidentId: z.string().optional(),
    /** Slack thread to report progress into. */
    thread: z.object({ channel: slackId, ts }).strict().optional(),
    /** Answer the requester here (a Slack response_url), e.g. for `/train logs`. */
    responseUrl: z.url().optional(),
    /** Log lines for collect_logs. */
    lines: z.number().int().min(1).max(500).optional(),
  })
  .strict();

export const OpsActionSchema = z.enum(['migrate', 'destroy', 'finish', 'offers']);
export const OpsJobSchema = z
  .object({
    action: OpsActionSchema,
    run,
    reason: z.string().min(1).max(2000),
    requestedBy: z.string().min(1),
    proposalId: z.string().optional(),
    incidentId: z.string().optional(),
    offerId: z.number().int().positive().optional(),
    thread: z.object({ channel: slackId, ts }).strict().optional(),
    responseUrl: z.url().optional(),
  })
  .strict();

export const ConductorJobSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('thread'),
      channel: slackId,
      threadTs: ts,
      ts,
      user: z.string(),
      text: z.string().max(40_000),
    })
    .strict(),
  z.object({ kind: z.literal('escalation'), incidentId: z.string() }).strict(),
  z.object({ kind: z.literal('incident_changed'), incidentId: z.string(), change: z.string() }).strict(),
]);

/** Block Kit blocks, rendered by src/slack-messages (limits checked there and by Slack). */
const blocks = z
  .array(
    z.custom<object>(
      (v) => typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'string',
    ),
  )
  .max(50);

export const NotifyJobSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('post'),
      channel: slackId,
      text: z.string(),
      blocks: blocks.optional(),
      threadTs: ts.optional(),
      /** Store the posted ts under this key, so a retry never posts twice. */
      refKey: z.string().optional(),
      /** Post into this incident's alert thread, waiting (briefly) for the alert to exist. */
      incidentId: z.string().optional(),
      /** After posting, start a conductor turn in the new message's thread (`/train ask`). */
      ask: z
        .object({ user: z.string(), text: z.string().max(4000) })
        .strict()
        .optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('update'),
      channel: slackId,
      ts,
      text: z.string(),
      blocks: blocks.optional(),
    })
    .strict(),
  z.object({ kind: z.literal('ephemeral'), channel: slackId, user: z.string(), text: z.string() }).strict(),
  z
    .object({
      kind: z.literal('response'),
      url: z.url(),
      body: z.record(z.string(), z.unknown()),
    })
    .strict(),
  z
    .object({
      kind: z.literal('incident'),
      incidentId: z.string(),
      change: z.enum(['opened', 'updated', 'resolved', 'escalated', 'acked', 'repage']),
    })
    .strict(),
  z.object({ kind: z.literal('digest'), channel: slackId.optional() }).strict(),
]);

export type MonitorJob = z.infer<typeof MonitorJobSchema>;
export type HealerJob = z.infer<typeof HealerJobSchema>;
export type OpsJob = z.infer<typeof OpsJobSchema>;
export type ConductorJob = z.infer<typeof ConductorJobSchema>;
export type NotifyJob = z.infer<typeof NotifyJobSchema>;

export interface JobDataByQueue {
  monitor: MonitorJob;
  healer: HealerJob;
  ops: OpsJob;
  conductor: ConductorJob;
  notify: NotifyJob;
}

export const JOB_SCHEMAS: { [Q in QueueName]: z.ZodType<JobDataByQueue[Q]> } = {
  monitor: MonitorJobSchema,
  healer: HealerJobSchema,
  ops: OpsJobSchema,
  conductor: ConductorJobSchema,
  notify: NotifyJobSchema,
};
