// `quire follow <job>` and `quire run ... --follow`: the job's live progress in a terminal, from
// the same socket.io events the portal gets. One line per step (state, elapsed/estimate), a
// progress bar with the ETA, output on demand. Resolves with the job's final state.
import { io } from 'socket.io-client';
import type { ApiClient } from './api-client.js';
import { describeBasis } from '../jobs/estimates.js';

interface StepLine {
  name: string;
  state: string;
  estimated_duration: number;
  date_started: string | null;
  duration: number | null;
  /** a waiting `manual` step's rendered instructions are in `outputs.instructions` */
  outputs?: { instructions?: unknown } | null;
}
interface JobSnapshot {
  id: string;
  state: string;
  book: string;
  deployment: string | null;
  steps: StepLine[];
  progress: { done_steps: number; total_steps: number; eta_s: number; eta_basis?: string; eta_runs?: number };
}
interface LiveEvent {
  seq: number;
  type: string;
  state?: string;
  step_name?: string;
  progress?: JobSnapshot['progress'];
  data?: { chunk?: string; error?: string };
}

const FINAL = ['done', 'error', 'cancel'];
const MARK: Record<string, string> = { done: '✔', error: '✖', cancel: '⊘', skipped: '–', running: '▶', retrying: '↻', waiting: '⏸', pending: '·' };

export function formatSeconds(seconds: number): string {
  // Rounded first: 119.6 s is 2m00s, not 1m60s.
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function progressBar(done: number, total: number, width = 24): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/** The lines of the display for one moment. */
export function renderJob(job: JobSnapshot, now = Date.now()): string[] {
  const lines = [`job ${job.id} ${job.book}${job.deployment ? ` on ${job.deployment}` : ''}: ${job.state}`];
  for (const step of job.steps) {
    const ticking = step.state === 'running' || step.state === 'waiting';
    const elapsed = step.duration ?? (step.date_started && ticking ? (now - Date.parse(step.date_started)) / 1000 : 0);
    const timing = step.state === 'pending' ? `est ${formatSeconds(step.estimated_duration)}` : `${formatSeconds(elapsed)}/${formatSeconds(step.estimated_duration)}`;
    lines.push(`  ${MARK[step.state] ?? '?'} ${step.name.padEnd(24)} ${step.state.padEnd(9)} ${timing}`);
    if (step.state === 'waiting') {
      // A person must answer: say what they are asked and how, so the terminal is not a dead end.
      const instructions = typeof step.outputs?.instructions === 'string' ? step.outputs.instructions : 'Acknowledge this step to continue.';
      lines.push(`      waiting for a person: ${instructions.replace(/\s+/g, ' ').trim()}`);
      lines.push(`      answer in the portal, or POST /api/jobs/${job.id}/steps/${step.name}/ack (or /reject)`);
    }
  }
  const { done_steps, total_steps, eta_s, eta_basis, eta_runs } = job.progress;
  const eta = FINAL.includes(job.state) ? '-' : `${formatSeconds(eta_s)} (${describeBasis(eta_basis, eta_runs)})`;
  lines.push(`  ${progressBar(done_steps, total_steps)} ${done_steps}/${total_steps} steps, ETA ${eta}`);
  return lines;
}

export async function followJob(api: ApiClient, token: string, jobId: string, options: { output?: boolean; write?: (s: string) => void } = {}): Promise<string> {
  const write = options.write ?? ((s: string) => process.stdout.write(s));
  const tty = process.stdout.isTTY && !options.output;
  let job = (await api.request<{ job: JobSnapshot }>('GET', `/api/jobs/${jobId}`)).job;
  let drawn = 0;
  const draw = () => {
    const lines = renderJob(job);
    // A display that shrank (a manual step answered) clears the lines it no longer uses.
    if (tty) while (lines.length < drawn) lines.push('');
    if (tty) write(`${drawn ? `\x1b[${drawn}A` : ''}${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n`);
    else write(`${lines.join('\n')}\n`);
    drawn = lines.length;
  };
  draw();
  if (FINAL.includes(job.state)) return job.state;
  const socket = io(api.baseUrl, { auth: { token }, transports: ['websocket'] });
  let lastSeq = 0;
  return new Promise<string>((resolve, reject) => {
    // Elapsed times move even when no event comes.
    const ticker = setInterval(() => tty && draw(), 1000);
    let ended = false;
    const end = (error: Error | null, state?: string) => {
      if (ended) return;
      ended = true;
      clearInterval(ticker);
      socket.close();
      if (error) reject(error);
      else resolve(state!);
    };
    // The final `job` event ends the follow even if no read shows it yet; an event that comes
    // while a read runs asks for one more read, so the last display is never older than it.
    let finalState: string | null = null;
    let refreshing = false;
    let again = false;
    const refresh = async () => {
      if (refreshing) {
        again = true;
        return;
      }
      refreshing = true;
      try {
        do {
          again = false;
          job = (await api.request<{ job: JobSnapshot }>('GET', `/api/jobs/${jobId}`)).job;
          if (!options.output) draw();
        } while (again && !ended);
        const state = FINAL.includes(job.state) ? job.state : finalState;
        if (state) {
          if (options.output) write(`${renderJob(job).join('\n')}\n`);
          end(null, state);
        }
      } catch (error) {
        end(error as Error);
      } finally {
        refreshing = false;
      }
    };
    const subscribe = () =>
      socket.emit('subscribe', { job: jobId, since: lastSeq }, (answer: { ok: boolean; error?: string; more?: boolean; last_seq?: number }) => {
        if (!answer?.ok) return end(new Error(`cannot follow the job live: ${answer?.error ?? 'subscribe refused'}`));
        lastSeq = Math.max(lastSeq, answer.last_seq ?? 0);
        // The replay stopped at the server's page limit: ask for the rest.
        if (answer.more) subscribe();
      });
    socket.on('connect', subscribe);
    // socket.io reconnects by itself after a network error, and we subscribe again from lastSeq;
    // it does not retry a refusal by the server (a bad or revoked token), so that ends the follow.
    socket.on('connect_error', (error) => {
      if (!socket.active) end(new Error(`cannot follow the job live: ${error.message}`));
    });
    socket.on('disconnect', (reason) => {
      if (reason === 'io server disconnect' && !ended) setTimeout(() => !ended && socket.connect(), 1000);
    });
    socket.on('deploy_event', (event: LiveEvent) => {
      lastSeq = Math.max(lastSeq, event.seq);
      if (event.type === 'output') {
        if (options.output && event.data?.chunk) write(event.data.chunk);
        return;
      }
      if (options.output && event.type === 'step') write(`--- ${event.step_name}: ${event.state}${event.data?.error ? ` (${event.data.error})` : ''}\n`);
      if (event.type === 'job' && FINAL.includes(event.state ?? '')) finalState = event.state!;
      void refresh();
    });
  });
}
