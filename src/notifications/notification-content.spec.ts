import { createHmac } from 'node:crypto';
import { buildPayload, emailContent, outputTail, signature, webhookBody } from './notification-content.js';

const job = {
  id: 'j1',
  book_name: 'shop.deploy',
  action: 'deploy',
  scope: 'deployment',
  context: { deployment: { name: 'shop-web' }, group: { name: 'prod' }, cluster: { name: 'eu' } },
};
const at = new Date('2026-01-02T03:04:05.000Z');

describe('notification content', () => {
  it('names the action, target and outcome, and the failing step', () => {
    const payload = buildPayload(job, 'error', { at, error: 'step migrate failed: exit code 3', failedStep: 'migrate' });
    expect(payload).toEqual({
      job_id: 'j1',
      state: 'error',
      title: 'deploy on shop-web failed',
      message: "Job j1 (book shop.deploy) failed at step 'migrate': step migrate failed: exit code 3",
      book: 'shop.deploy',
      action: 'deploy',
      deployment: 'shop-web',
      group: 'prod',
      cluster: 'eu',
      error: 'step migrate failed: exit code 3',
      failed_step: 'migrate',
      at: '2026-01-02T03:04:05.000Z',
    });
    expect(buildPayload({ ...job, scope: 'cluster' }, 'done', { at, error: null, failedStep: null })).toMatchObject({
      title: 'deploy on eu succeeded',
      cluster: 'eu',
    });
  });

  it('signs the exact body with the named secret', () => {
    const body = webhookBody(buildPayload(job, 'done', { at, error: null, failedStep: null }), 'https://q.example/');
    expect(JSON.parse(body).url).toBe('https://q.example/#/jobs/j1');
    expect(signature(body, 'k')).toBe(`sha256=${createHmac('sha256', 'k').update(body).digest('hex')}`);
  });

  it('mails the step, its error, the end of its output and a link', () => {
    const payload = buildPayload(job, 'error', { at, error: 'boom', failedStep: 'migrate' });
    const { subject, text } = emailContent(payload, outputTail('a\nb\nlast line\n', 2), 'https://q.example');
    expect(subject).toBe('[quire] deploy on shop-web failed');
    expect(text).toContain('Failing step: migrate');
    expect(text).toContain('Error: boom');
    expect(text).toContain('  b\n  last line');
    expect(text).not.toContain('  a\n');
    expect(text).toContain('https://q.example/#/jobs/j1');
  });
});
