// Jobs, newest first, filtered by deployment and state (the filters live in the address).
import { h, badge, time, formatAgo, formatSeconds, shortId, focusKeep } from './dom.js';
import { get, q, serialReads } from './api.js';

const STATES = ['draft', 'scheduled', 'running', 'done', 'error', 'cancel'];
const LIMITS = ['25', '50', '100', '200', '500'];

export function mountJobs(root, { query }) {
  const filters = {
    deployment: query.deployment ?? '',
    state: query.state ?? '',
    limit: LIMITS.includes(query.limit) ? query.limit : '50',
  };
  const deploymentSelect = h(
    'select',
    { id: 'filter-deployment', name: 'deployment' },
    h('option', { value: '', text: 'All deployments' }),
  );
  if (filters.deployment) deploymentSelect.append(h('option', { value: filters.deployment, text: filters.deployment, selected: true }));
  const stateSelect = h(
    'select',
    { id: 'filter-state', name: 'state' },
    h('option', { value: '', text: 'Any state' }),
    STATES.map((s) => h('option', { value: s, text: s, selected: s === filters.state })),
  );
  const limitSelect = h(
    'select',
    { id: 'filter-limit', name: 'limit' },
    LIMITS.map((n) => h('option', { value: n, text: n, selected: n === filters.limit })),
  );
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter jobs' },
    h('div', { class: 'field' }, h('label', { for: 'filter-deployment', text: 'Deployment' }), deploymentSelect),
    h('div', { class: 'field' }, h('label', { for: 'filter-state', text: 'State' }), stateSelect),
    h('div', { class: 'field' }, h('label', { for: 'filter-limit', text: 'Show' }), limitSelect),
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
    Object.assign(filters, { deployment: deploymentSelect.value, state: stateSelect.value, limit: limitSelect.value });
    history.replaceState(null, '', `#/jobs${q({ ...filters, limit: filters.limit === '50' ? '' : filters.limit })}`);
    refresh();
  };
  function reset() {
    deploymentSelect.value = '';
    stateSelect.value = '';
    limitSelect.value = '50';
    apply();
  }
  form.addEventListener('submit', apply);
  for (const select of [deploymentSelect, stateSelect, limitSelect]) select.addEventListener('change', apply);

  const status = h('p', { class: 'muted', role: 'status', text: 'Loading…' });
  const results = h('div', { class: 'jobs-results' });
  root.append(h('div', { class: 'page-head' }, h('h1', { text: 'Jobs' })), form, status, results);

  let destroyed = false;
  let timer = null;

  get('/api/deployments')
    .then(({ deployments }) => {
      if (destroyed) return;
      for (const d of [...deployments].sort((a, b) => a.name.localeCompare(b.name))) {
        if (d.name === filters.deployment) continue;
        deploymentSelect.append(h('option', { value: d.name, text: d.name }));
      }
    })
    .catch(() => {});

  const refresh = serialReads(
    () =>
      get(`/api/jobs${q(filters)}`)
        .then(({ jobs }) => {
          if (destroyed) return;
          const what = [filters.state && `state ${filters.state}`, filters.deployment && `deployment ${filters.deployment}`]
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
                  'aria-label': `Job ${shortId(job.id)}: ${job.action} on ${job.deployment ?? job.scope}`,
                },
                h('code', { text: shortId(job.id) }),
              ),
            ),
            cell('Action', h('strong', { text: job.action }), ' ', h('span', { class: 'muted', text: job.book })),
            cell('Target', job.deployment ?? job.scope),
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
    },
  };
}
