// Schedules: one row per book entry and target, with next and last run (linking its job);
// operators run one now, admins switch it on and off and override its times.
import { h, time, formatAgo, formatDate, shortId, focusKeep } from './dom.js';
import { api, get, post, q, serialReads, session } from './api.js';
import { toast } from './toasts.js';

const KINDS = ['every', 'at', 'cron'];

/** `every 2s`, `at 02:00, 14:30`, `cron 0 3 * * 1` */
function describe(spec) {
  if (!spec) return '';
  if (spec.every !== undefined) return `every ${spec.every}`;
  if (spec.cron !== undefined) return `cron ${spec.cron}`;
  return `at ${[].concat(spec.at).join(', ')}`;
}

export function mountSchedules(root, { query }) {
  const filters = { deployment: query.deployment ?? '', book: query.book ?? '' };
  const status = h('p', { class: 'muted', role: 'status', text: 'Loading…' });
  const results = h('div', { class: 'jobs-results' });
  root.append(
    h('div', { class: 'page-head' }, h('h1', { text: 'Schedules' })),
    h('p', {
      class: 'muted',
      text: 'Made from the schedules: entries of the books, one per entry and target. Times are shown in your browser\u2019s time zone.',
    }),
    status,
    results,
  );

  let destroyed = false;

  const refresh = serialReads(
    () =>
      get(`/api/schedules${q(filters)}`)
        .then(({ schedules }) => {
          if (destroyed) return;
          status.textContent = `${schedules.length} schedule${schedules.length === 1 ? '' : 's'}`;
          status.className = 'muted';
          focusKeep(results, () =>
            results.replaceChildren(
              schedules.length ? table(schedules) : h('p', { class: 'empty', text: 'No schedules: add schedules: entries to a book.' }),
            ),
          );
        })
        .catch((error) => {
          if (destroyed) return;
          status.textContent = `Could not load the schedules: ${error.message}`;
          status.className = 'error-text';
        }),
    () => destroyed,
  );

  async function change(schedule, body, done) {
    try {
      await api('PATCH', `/api/schedules/${encodeURIComponent(schedule.id)}`, body);
      toast({ title: done, message: `${schedule.book} on ${schedule.target.name}`, kind: 'success' });
    } catch (error) {
      toast({ title: 'Not changed', message: error.message, kind: 'error' });
    }
    await refresh();
  }

  async function runNow(schedule) {
    try {
      const { body } = await post(`/api/schedules/${encodeURIComponent(schedule.id)}/run`);
      toast({
        title: body.created ? 'Job created' : 'A job is already running',
        message: `${schedule.action} on ${schedule.target.name}`,
        kind: 'success',
        link: { href: `#/jobs/${encodeURIComponent(body.job.id)}`, text: `Open job ${shortId(body.job.id)}` },
      });
    } catch (error) {
      toast({ title: 'Not run', message: error.message, kind: 'error' });
    }
    await refresh();
  }

  /** A small form: every/at/cron and its value; Save sets the override, Clear drops it. */
  function overrideForm(schedule) {
    const id = `override-${schedule.id}`;
    const current = schedule.override ?? {};
    const kind = KINDS.find((k) => current[k] !== undefined) ?? 'every';
    const select = h(
      'select',
      { id: `${id}-kind`, 'aria-label': 'Override kind', dataset: { key: `${id}-kind` } },
      KINDS.map((k) => h('option', { value: k, text: k, selected: k === kind })),
    );
    const input = h('input', {
      id: `${id}-value`,
      'aria-label': 'Override value',
      dataset: { key: `${id}-value` },
      placeholder: '30m · 02:00, 14:30 · 0 3 * * 1',
      value: current[kind] === undefined ? '' : [].concat(current[kind]).join(', '),
      size: 14,
    });
    const form = h(
      'form',
      { class: 'inline-form', 'aria-label': `Override for ${schedule.target.name}` },
      select,
      ' ',
      input,
      ' ',
      h('button', { type: 'submit', class: 'button-secondary', text: 'Override', dataset: { key: `${id}-save` } }),
      schedule.override
        ? h('button', {
            type: 'button',
            class: 'button-secondary',
            text: 'Clear',
            dataset: { key: `${id}-clear` },
            onclick: () => change(schedule, { override: null }, 'Override cleared'),
          })
        : null,
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const raw = input.value.trim();
      const value =
        select.value === 'at'
          ? raw
              .split(',')
              .map((t) => t.trim())
              .filter(Boolean)
          : raw;
      void change(schedule, { override: { [select.value]: value } }, 'Override saved');
    });
    return form;
  }

  function table(schedules) {
    const head = ['Book', 'Target', 'When', 'Next run', 'Last run', session.canOperate ? 'Actions' : null].filter(Boolean);
    const cell = (label, ...content) => h('td', { dataset: { label } }, h('div', { class: 'cell' }, ...content));
    return h(
      'table',
      { class: 'jobs-table schedules-table' },
      h('caption', { class: 'visually-hidden', text: 'Schedules by book and target' }),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          head.map((t) => h('th', { scope: 'col', text: t })),
        ),
      ),
      h(
        'tbody',
        {},
        schedules.map((s) =>
          h(
            'tr',
            { dataset: { schedule: s.id } },
            cell('Book', h('strong', { text: s.action ?? '' }), ' ', h('span', { class: 'muted', text: s.book })),
            cell('Target', s.target.name ?? s.target.id),
            cell(
              'When',
              s.override
                ? h('span', {}, describe(s.override), ' ', h('span', { class: 'muted', text: `(override; book: ${describe(s.spec)})` }))
                : describe(s.spec),
            ),
            cell('Next run', s.enabled ? time(s.next_run_at, formatDate) : h('span', { class: 'badge state-cancel', text: 'disabled' })),
            cell(
              'Last run',
              s.last_run_at ? time(s.last_run_at, formatAgo) : h('span', { class: 'muted', text: 'never' }),
              s.last_job_id
                ? [' ', h('a', { href: `#/jobs/${encodeURIComponent(s.last_job_id)}`, text: `job ${shortId(s.last_job_id)}` })]
                : null,
              s.last_result && s.last_result !== 'created' ? [' ', h('span', { class: 'muted', text: s.last_result })] : null,
              s.last_error ? h('span', { class: 'error-text cell-error', text: s.last_error }) : null,
            ),
            session.canOperate
              ? cell(
                  'Actions',
                  h('button', { type: 'button', text: 'Run now', dataset: { key: `run-${s.id}` }, onclick: () => runNow(s) }),
                  ' ',
                  h('button', {
                    type: 'button',
                    class: 'button-secondary',
                    text: s.enabled ? 'Disable' : 'Enable',
                    'aria-pressed': String(s.enabled),
                    dataset: { key: `toggle-${s.id}` },
                    onclick: () => change(s, { enabled: !s.enabled }, s.enabled ? 'Schedule disabled' : 'Schedule enabled'),
                  }),
                  overrideForm(s),
                )
              : null,
          ),
        ),
      ),
    );
  }

  // A new job may be a schedule's: its last and next run moved.
  let timer = null;
  function onGlobalEvent(event) {
    if (event.type !== 'job') return;
    clearTimeout(timer);
    timer = setTimeout(refresh, 500);
  }

  refresh();
  return {
    refresh,
    onGlobalEvent,
    destroy() {
      destroyed = true;
      clearTimeout(timer);
    },
  };
}
