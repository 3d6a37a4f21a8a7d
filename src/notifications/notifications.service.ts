import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { QUIRE_CONFIG } from '../config/config.module.js';
import type { QuireConfig } from '../config/config.js';
import { SecretsProvider } from '../engine/secrets.js';
import { metrics } from '../observability/metrics.js';
import { withLogContext } from '../observability/logger.js';
import { Mailer, postWebhook } from './channels.js';
import { DeliveryError, afterFailure } from './delivery-retry.js';
import { emailContent, signature, webhookBody } from './notification-content.js';
import type { NotificationDeliveryEntity } from './notification-delivery.entity.js';
import { NotificationStore, type NotificationView } from './notification-store.js';

const POLL_MS = 1000;
const BATCH = 10;
// Longer than a webhook's timeout or an SMTP exchange: a claim lapses only when its sender died.
const CLAIM_LEASE_S = 60;

// The sender of every node (`quire serve` and `quire worker`): polls for deliveries owed by
// ended jobs, sends them and records each attempt. Nothing here can fail or delay a job.
@Injectable()
export class NotificationsService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Notifications');
  private readonly store: NotificationStore;
  private readonly secrets = new SecretsProvider();
  private readonly mailer: Mailer;
  private timer: NodeJS.Timeout | null = null;
  private sending: Promise<void> | null = null;
  private stopped = false;

  constructor(
    dataSource: DataSource,
    @Inject(QUIRE_CONFIG) private readonly config: QuireConfig,
  ) {
    this.store = new NotificationStore(dataSource);
    this.mailer = new Mailer(config.notifications.smtpUrl, config.notifications.mailFrom);
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.tick(), POLL_MS);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.sending;
    this.mailer.close();
  }

  forJob(jobId: string): Promise<NotificationView[]> {
    return this.store.forJob(jobId);
  }

  pending(): Promise<number> {
    return this.store.pending();
  }

  /** One round: whatever is due now, in parallel; the next tick waits for it. */
  private tick(): void {
    if (this.sending || this.stopped) return;
    this.sending = this.sendDue()
      .then(() => undefined)
      .catch((error: Error) => this.logger.warn(`notification round failed: ${error.message}`))
      .finally(() => (this.sending = null));
  }

  async sendDue(): Promise<number> {
    let total = 0;
    for (;;) {
      const due = await this.store.claim(this.config.workerId, BATCH, CLAIM_LEASE_S);
      await Promise.all(due.map((d) => withLogContext({ job_id: d.job_id, delivery_id: d.id }, () => this.attempt(d))));
      total += due.length;
      if (due.length < BATCH || this.stopped) return total;
    }
  }

  private async attempt(delivery: NotificationDeliveryEntity & { age_s?: number }): Promise<void> {
    const node = this.config.workerId;
    try {
      await this.send(delivery);
      await this.store.sent(delivery, node);
      metrics.notificationAttempts.inc({ channel: delivery.channel, result: 'sent' });
    } catch (error) {
      const failure = error instanceof DeliveryError ? error : new DeliveryError((error as Error).message, true);
      const next = afterFailure(failure, delivery.age_s ?? 0, delivery.attempts);
      await this.store.failed(delivery, node, failure.message, next);
      metrics.notificationAttempts.inc({ channel: delivery.channel, result: next.state === 'failed' ? 'failed' : 'retry' });
      const what = `${delivery.channel} ${delivery.id} of job ${delivery.job_id} (attempt ${delivery.attempts})`;
      this.logger.warn(
        next.state === 'failed' ? `${what} failed, given up: ${failure.message}` : `${what} failed, next try in ${Math.round(next.delaySeconds)} s: ${failure.message}`,
      );
    }
  }

  private async send(delivery: NotificationDeliveryEntity): Promise<void> {
    const publicUrl = this.config.notifications.publicUrl;
    if (delivery.channel === 'email') {
      await this.mailer.send(delivery.target, emailContent(delivery.payload, delivery.output_tail, publicUrl), delivery.id);
      return;
    }
    const body = webhookBody(delivery.payload, publicUrl);
    const headers: Record<string, string> = { 'x-quire-delivery': delivery.id };
    if (delivery.secret_name) {
      // The value stays here: never logged, stored or put in an error.
      const { values, missing } = this.secrets.resolve([delivery.secret_name]);
      if (missing.length) throw new DeliveryError(`secret '${delivery.secret_name}' is not configured on this node (QUIRE_SECRET_<NAME> or QUIRE_SECRETS_FILE)`, true);
      headers['x-quire-signature'] = signature(body, values[delivery.secret_name]!);
    }
    await postWebhook(delivery.target, body, headers);
  }
}
