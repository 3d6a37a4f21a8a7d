// The two outbound channels. Each attempt either returns (delivered) or throws a DeliveryError
// that says whether trying again may help. Neither ever sees a job's worker: sending happens
// after the job's end committed, on whichever node claims the delivery.
import nodemailer, { type Transporter } from 'nodemailer';
import { DeliveryError, webhookStatus } from './delivery-retry.js';

const WEBHOOK_TIMEOUT_MS = 10_000;

export async function postWebhook(url: string, body: string, headers: Record<string, string>): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'quire-notifications', ...headers },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new DeliveryError(`POST failed: ${cause?.code ?? cause?.message ?? (error as Error).message}`, true);
  }
  // Drain the body so the connection can be reused; a receiver's answer is not read otherwise.
  await response.arrayBuffer().catch(() => undefined);
  const verdict = webhookStatus(response.status);
  if (verdict !== 'sent') throw new DeliveryError(`receiver answered ${response.status}`, verdict === 'retry');
}

export class Mailer {
  private transport: Transporter | null = null;

  constructor(
    private readonly smtpUrl: string | undefined,
    private readonly from: string,
  ) {}

  async send(to: string, content: { subject: string; text: string }, messageId: string): Promise<void> {
    // Retried: the setting may be fixed, and another node may have it.
    if (!this.smtpUrl) throw new DeliveryError('QUIRE_SMTP_URL is not set on this node', true);
    this.transport ??= nodemailer.createTransport(this.smtpUrl);
    try {
      await this.transport.sendMail({ from: this.from, to, subject: content.subject, text: content.text, messageId: `<${messageId}@quire>` });
    } catch (error) {
      // SMTP 5xx is a refusal that will not change (an unknown mailbox); 4xx and a lost
      // connection may pass.
      const code = (error as { responseCode?: number }).responseCode;
      const text = (error as Error).message.replace(/\/\/[^@/\s]*@/g, '//***@');
      throw new DeliveryError(`SMTP: ${text}`, !(code !== undefined && code >= 500));
    }
  }

  close(): void {
    this.transport?.close();
  }
}
