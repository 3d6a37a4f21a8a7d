import { Inject, Injectable, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { QUIRE_CONFIG } from '../config/config.module.js';
import type { QuireConfig } from '../config/config.js';
import { PUBSUB } from '../db/pubsub.provider.js';
import type { PubSub } from '../db/pubsub.js';
import { JobStore } from './job-store.js';
import { JobRunner, type ChildJobs } from './job-runner.js';
import { Worker } from './worker.js';
import { processSecrets } from './secrets.js';
import { JobsService } from '../jobs/jobs.service.js';
import { registerBuiltinExecutors } from '../steps/builtin-executors.js';
import { StepExecutorRegistry } from '../steps/step-executor.js';
import { handlerRegistry } from '../steps/demo.handlers.js';
import { STEP_KINDS } from '../books/book.types.js';

export const ENGINE_ENABLED = Symbol('ENGINE_ENABLED');

// Starts this node's worker with the application and stops it, gracefully, before shutdown.
@Injectable()
export class EngineService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private worker: Worker | null = null;

  constructor(
    @Inject(QUIRE_CONFIG) private readonly config: QuireConfig,
    @Inject(PUBSUB) private readonly pubsub: PubSub,
    @Inject(ENGINE_ENABLED) private readonly enabled: boolean,
    private readonly dataSource: DataSource,
    private readonly store: JobStore,
    private readonly jobs: JobsService,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.enabled) return;
    const executors = registerBuiltinExecutors(new StepExecutorRegistry(), handlerRegistry);
    // trigger and manual steps are run by the runner itself, with the services they need.
    executors.assertComplete(STEP_KINDS.filter((k) => k !== 'trigger' && k !== 'manual'));
    const runner = new JobRunner(this.store, executors, processSecrets().secrets, this.childJobs(), {
      leaseSeconds: this.config.engine.leaseSeconds,
      heartbeatSeconds: this.config.engine.heartbeatSeconds,
      outputFlushMs: this.config.engine.outputFlushMs,
    });
    this.worker = new Worker(this.store, runner, this.pubsub, { ...this.config.engine, workerId: this.config.workerId, channels: this.config.channels });
    this.worker.start();
  }

  /** This node's worker for /health: `enabled: false` on API-only nodes. */
  workerStatus(): { enabled: boolean } & Partial<ReturnType<Worker['status']>> {
    return this.worker ? { enabled: true, ...this.worker.status() } : { enabled: false, id: this.config.workerId };
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.worker?.stop();
  }

  private childJobs(): ChildJobs {
    return {
      trigger: async (request) => {
        const { job } = await this.jobs.trigger(request);
        return job.id;
      },
      state: (id) => this.jobs.state(id),
    };
  }
}

