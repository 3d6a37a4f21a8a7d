// Jobs, newest first, filtered by text, action, target, state, date and "needs attention"
// (failed, or waiting for a person); the filters live in the address.
import { h, badge, time, formatAgo, formatSeconds, shortId, focusKeep } from './dom.js';
import { get, q, serialReads } from './api.js';
import { targetText } from './view-job.js';

const STATES = ['draft', 'scheduled', 'running', 'done', 'error', 'cancel'];
const LIMITS = ['25', '50', '100', '200', '500'];

export function mountJobs(root, { query }) {
  const filters = {
    q: query.q ?? '',
    action: query.action ?? '',
    // `deployment=` is what older links carry: a target by name.
    target: query.target ?? query.deployment ?? '',
    state: query.state ?? '',
    since: /^\d{4}-\d{2}-\d{2}$/.test(query.since ?? '') ? query.since : '',
    attention: query.attention === 'true' ? 'true' : '',
    limit: LIMITS.includes(query.limit) ? query.limit : '50',
  };
  const input = (id, name, value, extra = {}) => h('input', { id, name, value, autocomplete: 'off', ...extra });
  const search = input('filter-q', 'q', filters.q, { type: 'search', placeholder: 'id, book, target, who, error…' });
  const actionInput = input('filter-action', 'action', filters.action, { type: 'text', list: 'filter-actions' });
  const actions = h('datalist', { id: 'filter-actions' });
  const targetInput = input('filter-target', 'target', filters.target, { type: 'text', list: 'filter-targets' });
  const targets = h('datalist', { id: 'filter-targets' });
  const stateSelect = h(
    'select',
    { id: 'filter-state', name: 'state' },
    h('option', { value: '', text: 'Any state' }),
    STATES.map((s) => h('option', { value: s, text: s, selected: s === filters.state })),
  );
  const sinceInput = input('filter-since', 'since', filters.since, { type: 'date' });
  const attention = h('input', { id: 'filter-attention', type: 'checkbox', name: 'attention', checked: filters.attention === 'true' });
  const limitSelect = h(
    'select',
    { id: 'filter-limit', name: 'limit' },
    LIMITS.map((n) => h('option', { value: n, text: n, selected: n === filters.limit })),
  );
  const field = (id, label, control) => h('div', { class: 'field' }, h('label', { for: id, text: label }), control);
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter jobs' },
    field('filter-q', 'Search', search),
    field('filter-action', 'Action', actionInput),
    field('filter-target', 'Target', targetInput),
    field('filter-state', 'State', stateSelect),
    field('filter-since', 'Since', sinceInput),
    h('div', { class: 'field field-check' }, attention, h('label', { for: 'filter-attention', text: 'Needs attention' })),
    field('filter-limit', 'Show', limitSelect),
    actions,
    targets,
    h(
      'div',
      { class: 'form-actions' },
      h('button', { type: 'submit', text: 'Apply' }),
      h('button', { type: 'button', class: 'button-secondary', text: 'Reset', onclick: reset }),
    ),
  );
  // Filters apply in place (the address follows without a new page), so the focus stays put.
  const apply = (event) => {
    event?.preventDefault();
    Object.assign(filters, {
      q: search.value.trim(),
      action: actionInput.value.trim(),
      target: targetInput.value.trim(),
      state: stateSelect.value,
      since: sinceInput.value,
      attention: attention.checked ? 'true' : '',
      limit: limitSelect.value,
    });
    history.replaceState(null, '', `#/jobs${q({ ...filters, limit: filters.limit === '50' ? '' : filters.limit })}`);
    refresh();
  };
  function reset() {
    for (const el of [search, actionInput, targetInput, sinceInput]) el.value = '';
    stateSelect.value = '';
    attention.checked = false;
    limitSelect.value = '50';
    apply();
  }
  let typing = null;
  form.addEventListener('submit', apply);
  for (const el of [stateSelect, limitSelect, sinceInput, attention]) el.addEventListener('change', apply);
  for (const el of [search, actionInput, targetInput])
    el.addEventListener('input', () => {
      clearTimeout(typing);
      typing = setTimeout(apply, 300);
    });

  const status = h('p', { class: 'muted', role: 'status', text: 'Loading…' });
  const results = h('div', { class: 'jobs-results' });
  root.append(h('div', { class: 'page-head' }, h('h1', { text: 'Jobs' })), form, status, results);

  let destroyed = false;
  let timer = null;

  // Suggestions for the action and target fields (the books' actions, the fleet's first page).
  Promise.all([get('/api/books'), get('/api/fleet?limit=200')])
    .then(([{ books }, { deployments }]) => {
      if (destroyed) return;
      for (const a of [...new Set(books.map((b) => b.action))].sort()) actions.append(h('option', { value: a }));
      for (const d of deployments) targets.append(h('option', { value: d.name }));
    })
    .catch(() => {});

  const refresh = serialReads(
    () =>
      get(`/api/jobs${q({ ...filters, since: filters.since ? new Date(`${filters.since}T00:00:00`).toISOString() : '' })}`)
        .then(({ jobs }) => {
          if (destroyed) return;
          const what = [
            filters.q && `"${filters.q}"`,
            filters.action && `action ${filters.action}`,
            filters.target && `target ${filters.target}`,
            filters.state && `state ${filters.state}`,
            filters.since && `since ${filters.since}`,
            filters.attention && 'needing attention',
          ]
            .filter(Boolean)
            .join(', ');
          status.textContent = `${jobs.length} job${jobs.length === 1 ? '' : 's'}${what ? ` (${what})` : ''}`;
          status.className = 'muted';
          focusKeep(results, () =>
            results.replaceChildren(jobs.length ? table(jobs) : h('p', { class: 'empty', text: 'No jobs match these filters.' })),
          );
        })
        .catch((error) => {
          if (destroyed) return;
          status.textContent = `Could not load the jobs: ${error.message}`;
          status.className = 'error-text';
        }),
    () => destroyed,
  );

  function table(jobs) {
    const head = ['Job', 'Action', 'Target', 'State', 'Created', 'Took', 'By'];
    return h(
      'table',
      { class: 'jobs-table' },
      h('caption', { class: 'visually-hidden', text: 'Jobs, newest first' }),
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
        jobs.map((job) => {
          const took = job.date_running
            ? ((job.date_done ? Date.parse(job.date_done) : Date.now()) - Date.parse(job.date_running)) / 1000
            : null;
          // One wrapper per cell: on a phone each cell is a label/value row.
          const cell = (label, ...content) => h('td', { dataset: { label } }, h('div', { class: 'cell' }, ...content));
          return h(
            'tr',
            {},
            cell(
              'Job',
              h(
                'a',
                {
                  href: `#/jobs/${encodeURIComponent(job.id)}`,
                  dataset: { key: `job-${job.id}` },
                  'aria-label': `Job ${shortId(job.id)}: ${job.action} on ${targetText(job)}`,
                },
                h('code', { text: shortId(job.id) }),
              ),
            ),
            cell('Action', h('strong', { text: job.action }), ' ', h('span', { class: 'muted', text: job.book })),
            cell('Target', targetText(job)),
            cell('State', badge(job.state), job.error ? h('span', { class: 'error-text cell-error', text: job.error }) : null),
            cell('Created', time(job.date_created, formatAgo)),
            cell('Took', took === null ? '–' : formatSeconds(took)),
            cell('By', h('span', { class: 'muted', text: job.triggered_by ?? '' })),
          );
        }),
      ),
    );
  }

  function onGlobalEvent(event) {
    if (event.type !== 'job') return;
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  }

  refresh();
  return {
    refresh,
    onGlobalEvent,
    destroy() {
      destroyed = true;
      clearTimeout(timer);
      clearTimeout(typing);
    },
  };
}
