// Deployments grouped by cluster and group, one page at a time (GET /api/fleet pages and filters
// in SQL, so 10,000 deployments cost one page): state, last error, last job, the job that set
// the state with its params (the current release), and the actions its state allows.
import { h, badge, time, formatAgo, focusKeep, shortId, clear } from './dom.js';
import { get, q, serialReads, session } from './api.js';
import { booksFor } from './inventory.js';

const PAGE = 50;

export function mountDeployments(root, { query = {} } = {}) {
  const filters = {
    q: query.q ?? '',
    cluster: query.cluster ?? '',
    group: query.group ?? '',
    kind: query.kind ?? '',
    state: query.state ?? '',
    attention: query.attention === 'true' ? 'true' : '',
    offset: Number.isInteger(Number(query.offset)) && Number(query.offset) > 0 ? Number(query.offset) : 0,
  };
  const field = (id, label, control) => h('div', { class: 'field' }, h('label', { for: id, text: label }), control);
  const text = h('input', { id: 'fleet-q', type: 'search', name: 'q', value: filters.q, placeholder: 'name contains…', autocomplete: 'off' });
  const select = (id, name, any) => h('select', { id, name }, h('option', { value: '', text: any }));
  const cluster = select('fleet-cluster', 'cluster', 'All clusters');
  const group = select('fleet-group', 'group', 'All groups');
  const kind = select('fleet-kind', 'kind', 'All kinds');
  const state = h('input', { id: 'fleet-state', type: 'text', name: 'state', value: filters.state, placeholder: 'e.g. deployed', autocomplete: 'off' });
  const attention = h('input', { id: 'fleet-attention', type: 'checkbox', name: 'attention', checked: filters.attention === 'true' });
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter deployments' },
    field('fleet-q', 'Search', text),
    field('fleet-cluster', 'Cluster', cluster),
    field('fleet-group', 'Group', group),
    field('fleet-kind', 'Kind', kind),
    field('fleet-state', 'State', state),
    h('div', { class: 'field field-check' }, attention, h('label', { for: 'fleet-attention', text: 'Needs attention' })),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', text: 'Apply' })),
  );
  const status = h('p', { class: 'muted', role: 'status', text: 'Loading…' });
  const content = h('div', { class: 'deployments' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of deployments' });
  root.append(h('div', { class: 'page-head' }, h('h1', { text: 'Deployments' })), form, status, content, pager);

  let destroyed = false;
  let timer = null;
  let typing = null;
  // Books, clusters and groups change rarely: read once per visit, not on every refresh.
  let books = [];
  const lists = Promise.all([
    get('/api/books').then((b) => b.books ?? []),
    get('/api/clusters').then((b) => b.clusters ?? []),
    get('/api/groups').then((b) => b.groups ?? []),
  ]).then(([bookList, clusters, groups]) => {
    books = bookList;
    const byName = (a, b) => String(a.name).localeCompare(String(b.name));
    for (const c of clusters.sort(byName)) cluster.append(h('option', { value: c.name, text: c.name, selected: c.name === filters.cluster }));
    const clusterName = new Map(clusters.map((c) => [c.id, c.name]));
    for (const g of groups.sort(byName)) {
      const value = `${clusterName.get(g.cluster_id) ?? ''}/${g.name}`;
      group.append(h('option', { value: g.id, text: value, selected: g.id === filters.group || g.name === filters.group }));
    }
    for (const k of [...new Set(bookList.filter((b) => (b.scope ?? 'deployment') === 'deployment').map((b) => b.kind))].sort())
      kind.append(h('option', { value: k, text: k, selected: k === filters.kind }));
  });

  const apply = (event, keepOffset = false) => {
    event?.preventDefault();
    Object.assign(filters, {
      q: text.value.trim(),
      cluster: cluster.value,
      group: group.value,
      kind: kind.value,
      state: state.value.trim(),
      attention: attention.checked ? 'true' : '',
    });
    if (!keepOffset) filters.offset = 0;
    history.replaceState(null, '', `#/deployments${q({ ...filters, offset: filters.offset || '' })}`);
    refresh();
  };
  form.addEventListener('submit', apply);
  for (const control of [cluster, group, kind, attention]) control.addEventListener('change', apply);
  for (const control of [text, state])
    control.addEventListener('input', () => {
      clearTimeout(typing);
      typing = setTimeout(apply, 300);
    });

  const refresh = serialReads(
    async () => {
      try {
        await lists;
        const page = await get(`/api/fleet${q({ ...filters, offset: filters.offset || '', limit: PAGE })}`);
        if (destroyed) return;
        focusKeep(content, () => render(page));
        renderPager(page);
        const shown = page.deployments.length;
        status.className = 'muted';
        status.textContent = page.total
          ? `${page.offset + 1}–${page.offset + shown} of ${page.total} deployment${page.total === 1 ? '' : 's'}`
          : 'No deployments match.';
      } catch (error) {
        if (destroyed) return;
        status.hidden = false;
        status.textContent = `Could not load the deployments: ${error.message}`;
        status.className = 'error-text';
      }
    },
    () => destroyed,
  );

  function renderPager(page) {
    clear(pager);
    if (page.total <= page.limit) return;
    const go = (offset) => {
      filters.offset = Math.max(0, offset);
      apply(null, true);
      root.querySelector('h1')?.scrollIntoView({ block: 'start' });
    };
    const pages = Math.ceil(page.total / page.limit);
    const current = Math.floor(page.offset / page.limit) + 1;
    pager.append(
      h('button', { type: 'button', class: 'button-secondary', text: '← Previous', disabled: page.offset === 0, onclick: () => go(page.offset - page.limit) }),
      h('span', { class: 'muted', text: `Page ${current} of ${pages}` }),
      h('button', {
        type: 'button',
        class: 'button-secondary',
        text: 'Next →',
        disabled: page.offset + page.limit >= page.total,
        onclick: () => go(page.offset + page.limit),
      }),
    );
  }

  function render(page) {
    const nodes = [];
    const scopeJob = new Map((page.scope_jobs ?? []).map((j) => [`${j.scope}:${j.target_id}`, j]));
    if (page.total === 0 && !Object.values(filters).some(Boolean)) {
      nodes.push(
        h('p', {
          class: 'empty',
          text: 'No clusters or deployments yet. Add them to inventory.yaml in the books directory, or through the API.',
        }),
      );
    }
    // The page comes sorted by cluster, group and name: sections follow it.
    let section = null;
    let block = null;
    let clusterKey = null;
    let groupKey = null;
    for (const d of page.deployments) {
      const ck = d.cluster?.id ?? 'none';
      if (ck !== clusterKey) {
        clusterKey = ck;
        groupKey = null;
        const titleId = `cluster-${ck}`;
        section = h(
          'section',
          { class: 'cluster', 'aria-labelledby': titleId },
          h(
            'div',
            { class: 'section-head' },
            d.cluster
              ? h('h2', { id: titleId }, h('span', { class: 'eyebrow', text: 'cluster' }), ' ', d.cluster.name)
              : h('h2', { id: titleId, text: 'Not in a cluster' }),
            d.cluster ? actionLinks(booksFor(books, 'cluster', d.cluster), 'cluster', d.cluster.name, `cluster ${d.cluster.name}`) : null,
            d.cluster ? lastJobLine(scopeJob.get(`cluster:${d.cluster.id}`)) : null,
          ),
        );
        nodes.push(section);
      }
      const gk = d.group?.id ?? `none-${ck}`;
      if (gk !== groupKey) {
        groupKey = gk;
        const titleId = `group-${gk}`;
        block = h('ul', { class: 'cards' });
        section.append(
          h(
            'section',
            { class: 'group', 'aria-labelledby': titleId },
            h(
              'div',
              { class: 'section-head' },
              h('h3', { id: titleId }, d.group ? [h('span', { class: 'eyebrow', text: 'group' }), ' ', d.group.name] : 'no group'),
              d.group ? actionLinks(booksFor(books, 'group', d.group), 'group', d.group.name, `group ${d.group.name}`) : null,
              d.group ? lastJobLine(scopeJob.get(`group:${d.group.id}`)) : null,
            ),
            block,
          ),
        );
      }
      block.append(h('li', {}, card(d)));
    }
    content.replaceChildren(...nodes);
  }

  function card(deployment) {
    const titleId = `dep-${deployment.id}`;
    // Only what the deployment's state allows (allowed_from); the rest would be refused (409).
    const runnable = booksFor(books, 'deployment', deployment).filter(
      (b) => !Array.isArray(b.allowed_from) || b.allowed_from.includes(deployment.state),
    );
    const release = deployment.state_job?.params && Object.keys(deployment.state_job.params).length ? deployment.state_job.params : null;
    return h(
      'article',
      { class: 'card deployment', 'aria-labelledby': titleId },
      h(
        'header',
        { class: 'card-head' },
        h('h4', { id: titleId, text: deployment.name }),
        badge(deployment.state),
        deployment.waiting ? h('span', { class: 'badge state-waiting', text: 'waiting for a person' }) : null,
      ),
      h(
        'dl',
        { class: 'facts' },
        h('div', {}, h('dt', { text: 'Kind' }), h('dd', { text: deployment.kind })),
        h(
          'div',
          {},
          h('dt', { text: 'State set by' }),
          h('dd', {}, deployment.state_job ? jobSummary(deployment.state_job) : h('span', { class: 'muted', text: 'no job yet' })),
        ),
        release
          ? h(
              'div',
              { class: 'card-release' },
              h('dt', { text: 'Release' }),
              h('dd', {}, h('code', { text: Object.entries(release).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ') })),
            )
          : null,
        h('div', {}, h('dt', { text: 'Last job' }), h('dd', {}, deployment.last_job ? jobSummary(deployment.last_job) : h('span', { class: 'muted', text: 'none yet' }))),
        deployment.last_error
          ? h(
              'div',
              { class: 'last-error' },
              h('dt', { text: 'Last error' }),
              h('dd', { class: 'error-text', text: deployment.last_error }),
            )
          : null,
      ),
      h(
        'footer',
        { class: 'card-actions' },
        actionLinks(runnable, 'deployment', deployment.name, deployment.name),
        h('a', {
          href: `#/jobs?target=${encodeURIComponent(deployment.name)}`,
          class: 'link-quiet',
          dataset: { key: `jobs-${deployment.id}` },
          'aria-label': `Jobs of ${deployment.name}`,
          text: 'Jobs',
        }),
      ),
    );
  }

  function lastJobLine(job) {
    return job ? h('p', { class: 'group-last' }, h('span', { class: 'muted', text: 'Last job: ' }), jobSummary(job)) : null;
  }

  function jobSummary(job) {
    return h(
      'span',
      { class: 'job-summary' },
      h(
        'a',
        {
          href: `#/jobs/${encodeURIComponent(job.id)}`,
          dataset: { key: `job-${job.id}` },
          title: `${job.action} job ${shortId(job.id)}, ${job.state ?? 'done'}`,
        },
        job.action,
        ' ',
        h('span', { class: 'muted', text: `#${shortId(job.id)}` }),
      ),
      ' ',
      badge(job.state ?? 'done'),
      ' ',
      time(job.date_done ?? job.date_running ?? job.date_created, formatAgo),
    );
  }

  function actionLinks(bookList, scope, target, what) {
    if (!session.canOperate || bookList.length === 0) return null;
    return h(
      'ul',
      { class: 'actions', 'aria-label': `Actions on ${what}` },
      bookList.map((book) =>
        h(
          'li',
          {},
          h('a', {
            // A destructive book (`confirm: true`) looks like one, and its form asks for the name.
            class: book.confirm ? 'button button-small button-danger' : 'button button-small',
            href: `#/run/${scope}/${encodeURIComponent(target)}/${encodeURIComponent(book.action)}`,
            dataset: { key: `run-${scope}-${target}-${book.action}` },
            title: book.description ?? undefined,
            'aria-label': `${book.action} ${what}`,
            text: book.confirm ? `${book.action}…` : book.action,
          }),
        ),
      ),
    );
  }

  function onGlobalEvent(event) {
    // Only outcomes change what the cards show; one read per burst of events.
    if (event.type !== 'job' || !['done', 'error', 'cancel', 'running'].includes(event.state)) return;
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
      clearTimeout(typing);
    },
  };
}
