import type { Provider } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { EventsService } from '../events/events.service.js';
import { NotificationsService } from '../notifications/notifications.service.js';
import { PUBSUB } from '../db/pubsub.provider.js';
import type { PubSub } from '../db/pubsub.js';
import { EngineService, ENGINE_ENABLED } from './engine.service.js';
import { JobCleaner } from './job-cleaner.js';
import { JobStore } from './job-store.js';

/**
 * What every node runs, `quire serve` and `quire worker` alike (DESIGN.md "Operating"): the
 * engine (`engine`: with a worker claiming jobs), whose worker also sweeps expired leases, the
 * notification senders, and event and job retention.
 */
export function engineProviders(pubsub: PubSub, engine: boolean): Provider[] {
  return [
    EventsService,
    EngineService,
    NotificationsService,
    JobCleaner,
    { provide: JobStore, useFactory: (ds: DataSource, events: EventsService) => new JobStore(ds, events), inject: [DataSource, EventsService] },
    { provide: PUBSUB, useValue: pubsub },
    { provide: ENGINE_ENABLED, useValue: engine },
  ];
}
