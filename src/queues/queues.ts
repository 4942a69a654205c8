import { type Job, type JobsOptions, Queue, UnrecoverableError, Worker } from 'bullmq';
import { ConductorError, ValidationError } from '../errors.js';
import type { Metrics } from '../http/metrics.js';
import type { Logger } from '../logger.js';
import { JOB_SCHEMAS, type JobDataByQueue, QUEUE_NAMES, type QueueName } from './jobs.js';

/**
 * The one place that creates BullMQ queues and workers. Job data is validated on the way in
 * (`enqueue`) and on the way out (before the processor sees it); permanent failures become
 * UnrecoverableError so BullMQ does not retry them.
 */

export interface QueueSettings {
  redisUrl: string;
  /** Key prefix for BullMQ keys (`<prefix>:bull`). */
  prefix: string;
  logger: Logger;
  /** tc_jobs_total, counted from every worker's completed and failed events. */
  metrics?: Pick<Metrics, 'jobs'>;
}

const DEFAULT_JOB_OPTIONS: { [Q in QueueName]: JobsOptions } = {
  monitor: { attempts: 1, removeOnComplete: 100, removeOnFail: 500 },
  healer: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 5_000 },
    removeOnComplete: 1000,
    removeOnFail: 5000,
  },
  ops: {
    attempts: 5,
    backoff: { type: 'exponential', delay: 5_000 },
    removeOnComplete: 1000,
    removeOnFail: 5000,
  },
  conductor: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 3_000 },
    removeOnComplete: 500,
    removeOnFail: 1000,
  },
  // Slack writes must survive an outage: many attempts with a capped exponential backoff.
  notify: {
    attempts: 25,
    backoff: { type: 'exponential', delay: 1_000 },
    removeOnComplete: 1000,
    removeOnFail: 5000,
  },
};

export type Processor<Q extends QueueName> = (
  data: JobDataByQueue[Q],
  job: Job,
  token?: string,
) => Promise<unknown>;

export interface WorkerSettings {
  concurrency?: number;
  /** Rate limit: at most `max` jobs per `duration` ms across all workers of this queue. */
  limiter?: { max: number; duration: number };
}

function connection(redisUrl: string) {
  return { url: redisUrl, maxRetriesPerRequest: null, enableOfflineQueue: true };
}

export class Queues {
  private readonly queues = new Map<QueueName, Queue>();
  private readonly workers: Worker[] = [];
  private closing: Promise<void> | undefined;

  constructor(private readonly settings: QueueSettings) {}

  get prefix(): string {
    return `${this.settings.prefix}:bull`;
  }

  queue(name: QueueName): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, {
        connection: connection(this.settings.redisUrl),
        prefix: this.prefix,
        defaultJobOptions: DEFAULT_JOB_OPTIONS[name],
      });
      queue.on('error', (err) => this.settings.logger.warn({ err, queue: name }, 'queue connection error'));
      this.queues.set(name, queue);
    }
    return queue;
  }

  /**
   * Validates and enqueues. `jobId` makes the enqueue idempotent: BullMQ ignores a second add
   * with the same id while the first is still known, which is how double clicks become one job.
   */
  async enqueue<Q extends QueueName>(
    name: Q,
    jobName: string,
    data: JobDataByQueue[Q],
    opts: JobsOptions = {},
  ): Promise<Job> {
    const parsed = JOB_SCHEMAS[name].safeParse(data);
    if (!parsed.success) {
      throw new ValidationError(`invalid ${name} job data: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    }
    if (opts.jobId?.includes(':')) throw new ValidationError(`job ids cannot contain ':' (${opts.jobId})`);
    return this.queue(name).add(jobName, parsed.data, opts);
  }

  /** Registers the monitor sweep with a BullMQ job scheduler (one per interval, shared by all processes). */
  async scheduleSweep(everyMs: number): Promise<void> {
    await this.queue('monitor').upsertJobScheduler(
      'monitor-sweep',
      { every: everyMs },
      { name: 'sweep', data: { kind: 'sweep' }, opts: { removeOnComplete: 100, removeOnFail: 100 } },
    );
  }

  async scheduleDigest(everyMs: number): Promise<void> {
    await this.queue('notify').upsertJobScheduler(
      'digest',
      // The first digest is posted by whoever starts the service, after the first sweep.
      { every: everyMs, startDate: Date.now() + everyMs },
      { name: 'digest', data: { kind: 'digest' }, opts: { removeOnComplete: 50, removeOnFail: 50 } },
    );
  }

  work<Q extends QueueName>(name: Q, processor: Processor<Q>, settings: WorkerSettings = {}): Worker {
    const logger = this.settings.logger.child({ queue: name });
    const worker = new Worker(
      name,
      async (job: Job, token?: string) => {
        const parsed = JOB_SCHEMAS[name].safeParse(job.data);
        if (!parsed.success) {
          throw new UnrecoverableError(
            `invalid ${name} job data: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
          );
        }
        try {
          return await processor(parsed.data as JobDataByQueue[Q], job, token);
        } catch (err) {
          if (err instanceof ConductorError && err.permanent) {
            throw new UnrecoverableError(`${err.name}: ${err.message}`);
          }
          throw err;
        }
      },
      {
        connection: connection(this.settings.redisUrl),
        prefix: this.prefix,
        concurrency: settings.concurrency ?? 1,
        ...(settings.limiter && { limiter: settings.limiter }),
      },
    );
    const jobs = this.settings.metrics?.jobs;
    worker.on('error', (err) => logger.warn({ err }, 'worker error'));
    worker.on('completed', () => jobs?.inc({ queue: name, outcome: 'completed' }));
    worker.on('failed', (job, err) => {
      jobs?.inc({ queue: name, outcome: 'failed' });
      logger.warn(
        { jobId: job?.id, name: job?.name, attempts: job?.attemptsMade, err: err.message },
        'job failed',
      );
    });
    this.workers.push(worker);
    return worker;
  }

  /** Ordered and idempotent: workers finish their active jobs first, then the queues close. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled(this.workers.map((w) => w.close()));
      await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    })();
    return this.closing;
  }

  static readonly names = QUEUE_NAMES;
}
