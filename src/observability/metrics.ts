// Prometheus metrics, recorded where things happen (DESIGN.md "Operating"). Counters and
// histograms count what *this process* did; the gauges of the queue are read from the database
// at each scrape (MetricsController), so every node reports the same queue. One registry per
// process: metrics are process-wide, and prom-client refuses a name registered twice.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class QuireMetrics {
  readonly registry = new Registry();

  readonly jobsCreated = this.counter('quire_jobs_created_total', 'Jobs this process created, by book.', ['book']);
  readonly jobsEnded = this.counter(
    'quire_jobs_ended_total',
    'Jobs that ended in a transaction this process committed (worker, rescuer, timeout sweep, cancel), by book and outcome.',
    ['book', 'outcome'],
  );
  readonly stepDuration = new Histogram({
    name: 'quire_step_duration_seconds',
    help: 'Duration of step attempts that ended, by step kind and outcome.',
    labelNames: ['kind', 'outcome'] as const,
    buckets: [0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [this.registry],
  });
  readonly claimLatency = new Histogram({
    name: 'quire_claim_latency_seconds',
    help: 'Time from a job becoming runnable (its run_at) to a worker claiming it.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly eventsDelivered = this.counter('quire_events_delivered_total', 'deploy_event messages this process pushed to socket.io clients.');
  readonly notificationAttempts = this.counter(
    'quire_notification_deliveries_total',
    'Notification delivery attempts by channel and result: sent, retry (failed, will be tried again) or failed (given up).',
    ['channel', 'result'],
  );

  // Read from the database at each scrape (MetricsController.collect).
  readonly jobs = this.gauge('quire_jobs', 'Jobs by state and channel.', ['state', 'channel']);
  readonly stepsActive = this.gauge('quire_steps_active', 'Steps running, waiting for a retry, or waiting for a person.', ['state']);
  readonly queueDepth = this.gauge('quire_queue_depth', 'Jobs that could start now but have not, by channel.', ['channel']);
  readonly queueLag = this.gauge('quire_queue_lag_seconds', 'Age of the oldest job that could start but has not.');
  readonly eventsSeq = this.gauge('quire_events_seq', 'The last deploy event sequence number.');
  readonly notificationsPending = this.gauge('quire_notifications_pending', 'Notification deliveries owed and not yet sent or given up.');

  constructor() {
    // process_* and nodejs_* under their usual names, so stock Node.js dashboards work.
    collectDefaultMetrics({ register: this.registry });
  }

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }
}

export const metrics = new QuireMetrics();
