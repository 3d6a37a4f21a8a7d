import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAt, JsonColumn, NullableDate } from '../db/columns.js';
import { JobEntity } from '../jobs/job.entity.js';

// One notification a job's end owes to one `notify` channel. Written in the transaction that
// ends the job, so a node dying right after leaves it to the senders of the others; its id is
// the X-Quire-Delivery header, the same on every attempt, so a receiver can drop a repeat.
@Entity('notification_deliveries')
// One per ending of the job (a resumed job that ends again owes again) and per `notify` entry.
@Index('uq_notification_deliveries_ending', ['job_id', 'job_ended_at', 'entry_index'], { unique: true })
// What every node's sender polls: the few deliveries still owed.
@Index('idx_notification_deliveries_due', ['next_attempt_at'], { where: `state = 'pending'` })
export class NotificationDeliveryEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'PK_notification_deliveries' }) id!: string;
  @Column({ type: 'uuid' }) job_id!: string;
  @ManyToOne(() => JobEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'job_id', foreignKeyConstraintName: 'FK_notification_deliveries_job' })
  job?: JobEntity;
  /** the job's date_done for this ending */
  @Column({ type: 'timestamptz' }) job_ended_at!: Date;
  /** 2i for the webhook of the book's `notify[i]`, 2i+1 for its email */
  @Column({ type: 'integer' }) entry_index!: number;
  @Column({ type: 'text' }) channel!: 'webhook' | 'email';
  /** the webhook URL, or the email addresses joined by commas */
  @Column({ type: 'text' }) target!: string;
  /** the name of the secret that signs a webhook; never its value */
  @Column({ type: 'text', nullable: true }) secret_name!: string | null;
  /** the outcome notified: done, error or cancel */
  @Column({ type: 'text' }) outcome!: string;
  /** the webhook body (without `url`, added when sending), fixed when the job ended */
  @JsonColumn() payload!: NotificationPayload;
  /** the end of the failing step's output, for emails */
  @Column({ type: 'text', nullable: true }) output_tail!: string | null;
  /** pending, sent, or failed (given up) */
  @Column({ type: 'text', default: 'pending' }) state!: 'pending' | 'sent' | 'failed';
  @Column({ type: 'integer', default: 0 }) attempts!: number;
  @Column({ type: 'text', nullable: true }) last_error!: string | null;
  /** due from then; a sender claiming it moves it a lease ahead, so a dead sender's claim lapses */
  @Column({ type: 'timestamptz', default: () => 'now()' }) next_attempt_at!: Date;
  /** the node that made the last attempt */
  @Column({ type: 'text', nullable: true }) locked_by!: string | null;
  @CreatedAt() date_created!: Date;
  @NullableDate() date_sent!: Date | null;
}

/** The JSON a webhook receives (DESIGN.md "Interfaces"), `url` added at sending. */
export interface NotificationPayload {
  job_id: string;
  state: string;
  title: string;
  message: string;
  book: string;
  action: string;
  deployment?: string;
  group?: string;
  cluster?: string;
  error: string | null;
  failed_step: string | null;
  at: string;
}
