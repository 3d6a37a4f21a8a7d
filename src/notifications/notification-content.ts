// What a notification says: the webhook body, its signature, an email's subject and text.
// Pure functions of the delivery row, so every attempt of one delivery sends the same bytes.
import { createHmac } from 'node:crypto';
import type { NotificationPayload } from './notification-delivery.entity.js';

export type Outcome = 'done' | 'error' | 'cancel';

const OUTCOME_WORDS: Record<string, string> = { done: 'succeeded', error: 'failed', cancel: 'was cancelled' };

export interface EndedJob {
  id: string;
  book_name: string;
  action: string;
  scope: string;
  context: { deployment?: { name: string } | null; group?: { name: string } | null; cluster?: { name: string } | null } | null;
}

/** The target a person knows the job by: its deployment, group or cluster name. */
export function targetNames(job: EndedJob): Pick<NotificationPayload, 'deployment' | 'group' | 'cluster'> {
  const c = job.context ?? {};
  if (job.scope === 'group') return { group: c.group?.name ?? undefined, cluster: c.cluster?.name ?? undefined };
  if (job.scope === 'cluster') return { cluster: c.cluster?.name ?? undefined };
  return { deployment: c.deployment?.name ?? undefined, group: c.group?.name ?? undefined, cluster: c.cluster?.name ?? undefined };
}

/** The body fixed when the job ends (the `url` is added when sending, from QUIRE_PUBLIC_URL). */
export function buildPayload(
  job: EndedJob,
  outcome: Outcome,
  ended: { at: Date; error: string | null; failedStep: string | null },
): NotificationPayload {
  const names = targetNames(job);
  const target = names.deployment ?? names.group ?? names.cluster ?? job.id;
  const title = `${job.action} on ${target} ${OUTCOME_WORDS[outcome] ?? outcome}`;
  const where = ended.failedStep ? ` at step '${ended.failedStep}'` : '';
  const message =
    outcome === 'done'
      ? `Job ${job.id} (book ${job.book_name}) ran ${job.action} on ${target} to the end.`
      : `Job ${job.id} (book ${job.book_name}) ${OUTCOME_WORDS[outcome]}${where}${ended.error ? `: ${ended.error}` : '.'}`;
  return {
    job_id: job.id,
    state: outcome,
    title,
    message,
    book: job.book_name,
    action: job.action,
    ...names,
    error: ended.error,
    failed_step: ended.failedStep,
    at: ended.at.toISOString(),
  };
}

/** The job's page in the portal. */
export function jobUrl(publicUrl: string, jobId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/#/jobs/${encodeURIComponent(jobId)}`;
}

/** The exact bytes POSTed: the stored payload with the job's link. */
export function webhookBody(payload: NotificationPayload, publicUrl: string): string {
  return JSON.stringify({ ...payload, url: jobUrl(publicUrl, payload.job_id) });
}

/** `sha256=<hex HMAC-SHA256 of the raw body>`, keyed by the channel's named secret. */
export function signature(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** Subject names the action, the target and the outcome; the text the step, error, output and link. */
export function emailContent(payload: NotificationPayload, outputTail: string | null, publicUrl: string): { subject: string; text: string } {
  const lines = [payload.message, ''];
  if (payload.failed_step) lines.push(`Failing step: ${payload.failed_step}`);
  if (payload.error) lines.push(`Error: ${payload.error}`);
  if (outputTail) lines.push('', 'End of its output:', ...outputTail.replace(/\n$/, '').split('\n').map((l) => `  ${l}`));
  lines.push('', `Book: ${payload.book}`, `Ended: ${payload.at}`, `Job: ${jobUrl(publicUrl, payload.job_id)}`);
  return { subject: `[quire] ${payload.title}`, text: `${lines.join('\n')}\n` };
}

/** The last `maxLines` lines of a step's stored output, at most `maxChars`. */
export function outputTail(output: string | null | undefined, maxLines = 30, maxChars = 4000): string | null {
  if (!output) return null;
  const lines = output.replace(/\n$/, '').split('\n').slice(-maxLines).join('\n');
  return lines.length > maxChars ? lines.slice(-maxChars) : lines;
}
