import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Every Prometheus metric the service exports, on one registry (no global default registry). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tc_process_' });
  return {
    registry,
    sweepDuration: new Histogram({
      name: 'tc_sweep_duration_seconds',
      help: 'Wall time of one monitor sweep of the whole fleet',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers: [registry],
    }),
    sweepsTotal: new Counter({
      name: 'tc_sweeps_total',
      help: 'Monitor sweeps by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    probeFailures: new Counter({
      name: 'tc_probe_failures_total',
      help: 'SSH probes that failed, by kind',
      labelNames: ['kind'],
      registers: [registry],
    }),
    incidentsOpened: new Counter({
      name: 'tc_incidents_opened_total',
      help: 'Incidents opened, by kind and severity',
      labelNames: ['kind', 'severity'],
      registers: [registry],
    }),
    incidentsOpen: new Gauge({
      name: 'tc_incidents_open',
      help: 'Incidents currently open',
      registers: [registry],
    }),
    jobs: new Counter({
      name: 'tc_jobs_total',
      help: 'Queue jobs processed, by queue and outcome',
      labelNames: ['queue', 'outcome'],
      registers: [registry],
    }),
    ackLatency: new Histogram({
      name: 'tc_slack_ack_seconds',
      help: 'Time from a Slack request arriving to its ack',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3],
      registers: [registry],
    }),
    llmTokens: new Counter({
      name: 'tc_llm_tokens_total',
      help: 'LLM tokens by type (input, output, cache_read, cache_write)',
      labelNames: ['type'],
      registers: [registry],
    }),
    llmDollars: new Counter({
      name: 'tc_llm_dollars_total',
      help: 'Estimated LLM spend in USD',
      registers: [registry],
    }),
    fleetDollarsPerHour: new Gauge({
      name: 'tc_fleet_dollars_per_hour',
      help: 'GPU spend rate of the fleet in USD per hour',
      registers: [registry],
    }),
    runStep: new Gauge({
      name: 'tc_run_step',
      help: 'Latest step of each run',
      labelNames: ['run'],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
