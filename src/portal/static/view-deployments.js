// Deployments grouped by cluster and group: state, last error, last job, and their actions.
import { h, badge, time, formatAgo, focusKeep, shortId } from './dom.js';
import { get, serialReads, session } from './api.js';
import { loadInventory, booksFor } from './inventory.js';

export function mountDeployments(root) {
  const status = h('p', { class: 'muted', role: 'status', text: 'Loading…' });
  const content = h('div', { class: 'deployments' });
  root.append(h('div', { class: 'page-head' }, h('h1', { text: 'Deployments' })), status, content);

  let destroyed = false;
  let timer = null;

  const refresh = serialReads(
    async () => {
      try {
        const [inventory, jobs] = await Promise.all([loadInventory(), get('/api/jobs?limit=500').then((b) => b.jobs ?? [])]);
        if (destroyed) return;
        const lastJob = new Map();
        for (const job of jobs) if (job.deployment_id && !lastJob.has(job.deployment_id)) lastJob.set(job.deployment_id, job);
        const groupJob = new Map();
        for (const job of jobs) {
          const key = job.scope === 'group' ? `g:${job.group_id}` : job.scope === 'cluster' ? `c:${job.cluster_id}` : null;
          if (key && !groupJob.has(key)) groupJob.set(key, job);
        }
        focusKeep(content, () => render(inventory, lastJob, groupJob));
        status.hidden = true;
      } catch (error) {
        if (destroyed) return;
        status.hidden = false;
        status.textContent = `Could not load the deployments: ${error.message}`;
        status.className = 'error-text';
      }
    },
    () => destroyed,
  );

  function render({ clusters, groups, deployments, books }, lastJob, groupJob) {
    const nodes = [];
    const sections = clusters.map((cluster) => ({
      cluster,
      groups: groups
        .filter((g) => g.cluster_id === cluster.id)
        .map((group) => ({ group, deployments: deployments.filter((d) => d.group_id === group.id) })),
      loose: deployments.filter((d) => d.cluster_id === cluster.id && !d.group_id),
    }));
    const known = new Set(clusters.map((c) => c.id));
    const orphans = deployments.filter((d) => !d.cluster_id || !known.has(d.cluster_id));

    if (deployments.length === 0 && clusters.length === 0) {
      nodes.push(
        h('p', {
          class: 'empty',
          text: 'No clusters or deployments yet. Add them to inventory.yaml in the books directory, or through the API.',
        }),
      );
    }
    for (const { cluster, groups: clusterGroups, loose } of sections) {
      const titleId = `cluster-${cluster.id}`;
      const count = clusterGroups.reduce((n, g) => n + g.deployments.length, loose.length);
      const section = h(
        'section',
        { class: 'cluster', 'aria-labelledby': titleId },
        h(
          'div',
          { class: 'section-head' },
          h('h2', { id: titleId }, h('span', { class: 'eyebrow', text: 'cluster' }), ' ', cluster.name),
          h('span', { class: 'muted', text: `${count} deployment${count === 1 ? '' : 's'}` }),
          actionLinks(booksFor(books, 'cluster', cluster), 'cluster', cluster.name, `cluster ${cluster.name}`),
          lastJobLine(groupJob.get(`c:${cluster.id}`)),
        ),
      );
      for (const { group, deployments: members } of clusterGroups) {
        section.append(groupBlock(group.name, group, members, books, lastJob, groupJob.get(`g:${group.id}`)));
      }
      if (loose.length) section.append(groupBlock('no group', null, loose, books, lastJob));
      nodes.push(section);
    }
    if (orphans.length) {
      nodes.push(
        h(
          'section',
          { class: 'cluster', 'aria-labelledby': 'cluster-none' },
          h('div', { class: 'section-head' }, h('h2', { id: 'cluster-none', text: 'Not in a cluster' })),
          groupBlock('no group', null, orphans, books, lastJob),
        ),
      );
    }
    content.replaceChildren(...nodes);
  }

  function groupBlock(title, group, members, books, lastJob, groupLast) {
    const titleId = group ? `group-${group.id}` : `group-none-${members[0]?.cluster_id ?? 'none'}`;
    return h(
      'section',
      { class: 'group', 'aria-labelledby': titleId },
      h(
        'div',
        { class: 'section-head' },
        h('h3', { id: titleId }, group ? [h('span', { class: 'eyebrow', text: 'group' }), ' ', title] : title),
        group ? actionLinks(booksFor(books, 'group', group), 'group', group.name, `group ${group.name}`) : null,
        group ? lastJobLine(groupLast) : null,
      ),
      members.length
        ? h(
            'ul',
            { class: 'cards' },
            members.map((d) => h('li', {}, card(d, books, lastJob.get(d.id)))),
          )
        : h('p', { class: 'muted', text: 'No deployments in this group.' }),
    );
  }

  function card(deployment, books, job) {
    const titleId = `dep-${deployment.id}`;
    return h(
      'article',
      { class: 'card deployment', 'aria-labelledby': titleId },
      h('header', { class: 'card-head' }, h('h4', { id: titleId, text: deployment.name }), badge(deployment.state)),
      h(
        'dl',
        { class: 'facts' },
        h('div', {}, h('dt', { text: 'Kind' }), h('dd', { text: deployment.kind })),
        h('div', {}, h('dt', { text: 'Last job' }), h('dd', {}, job ? jobSummary(job) : h('span', { class: 'muted', text: 'none yet' }))),
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
        actionLinks(booksFor(books, 'deployment', deployment), 'deployment', deployment.name, deployment.name),
        h('a', {
          href: `#/jobs?deployment=${encodeURIComponent(deployment.name)}`,
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
          'aria-label': `${job.action} job ${shortId(job.id)}, ${job.state}`,
        },
        job.action,
        ' ',
        h('span', { class: 'muted', text: `#${shortId(job.id)}` }),
      ),
      ' ',
      badge(job.state),
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
            class: 'button button-small',
            href: `#/run/${scope}/${encodeURIComponent(target)}/${encodeURIComponent(book.action)}`,
            dataset: { key: `run-${scope}-${target}-${book.action}` },
            title: book.description ?? undefined,
            'aria-label': `${book.action} ${what}`,
            text: book.action,
          }),
        ),
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
