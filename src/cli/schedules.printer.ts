// `quire schedules`: one line per schedule, with what fires it and its next and last run.
import { describeSpec } from '../scheduler/schedule-times.js';
import type { ScheduleView } from '../scheduler/schedules.service.js';
import { tableLines } from './table.js';

export function scheduleLines(schedules: ScheduleView[], now = new Date()): string[] {
  if (schedules.length === 0) return ['no schedules (books with `schedules:` entries make them, one per target)'];
  const rows = schedules.map((s) => [
    s.id.slice(0, 8),
    s.book,
    s.target.name ?? s.target.id,
    s.override ? `${describeSpec(s.override)} (override; book: ${describeSpec(s.spec)})` : describeSpec(s.spec),
    s.enabled ? 'on' : 'off',
    s.enabled ? when(s.next_run_at, now) : '-',
    s.last_run_at
      ? `${when(s.last_run_at, now)} ${s.last_result ?? ''}${s.last_job_id ? ` job ${s.last_job_id}` : ''}${s.last_error ? `: ${s.last_error}` : ''}`
      : 'never',
  ]);
  const header = ['ID', 'BOOK', 'TARGET', 'SPEC', 'ENABLED', 'NEXT RUN', 'LAST RUN'];
  return tableLines(header, rows);
}

/** An ISO time with how far it is from now: `2026-01-01 03:15:00Z (in 2h 5m)`. */
function when(iso: string | null, now: Date): string {
  if (!iso) return '-';
  const at = new Date(iso);
  const seconds = Math.round((at.getTime() - now.getTime()) / 1000);
  return `${at
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z')} (${seconds >= 0 ? `in ${span(seconds)}` : `${span(-seconds)} ago`})`;
}

function span(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
  ] as const) {
    if (seconds >= size) {
      parts.push(`${Math.floor(seconds / size)}${unit}`);
      seconds %= size;
    }
  }
  return parts.slice(0, 2).join(' ');
}
