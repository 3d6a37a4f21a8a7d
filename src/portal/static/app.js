// Quire portal: sign in with a token, hash routes, one socket.io connection for the lists and
// notifications (plus one per open job page), polling the REST API every 2 s whenever the live
// connection is not there.
import { session, whenUnauthorized, fetchRole, get } from './api.js';
import { h, clear, setText, focusHeading } from './dom.js';
import { LiveChannel } from './live.js';
import { notificationToast, toast } from './toasts.js';
import { mountSignIn } from './view-signin.js';
import { mountDeployments } from './view-deployments.js';
import { mountRun } from './view-run.js';
import { mountJobs } from './view-jobs.js';
import { mountJob } from './view-job.js';
import { mountSchedules } from './view-schedules.js';

const POLL_MS = 2000;

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const account = document.getElementById('account');
const connection = document.getElementById('connection');

let view = null;
let global = null;
let pollTimer = null;

const routes = [
  { pattern: /^#\/deployments\/?$/, nav: 'deployments', mount: mountDeployments },
  {
    pattern: /^#\/run\/(deployment|group|cluster)\/([^/]+)\/([^/]+)$/,
    nav: 'deployments',
    mount: mountRun,
    params: (m) => ({ scope: m[1], target: decodeURIComponent(m[2]), action: decodeURIComponent(m[3]) }),
  },
  { pattern: /^#\/jobs\/?$/, nav: 'jobs', mount: mountJobs },
  { pattern: /^#\/jobs\/([^/]+)$/, nav: 'jobs', mount: mountJob, params: (m) => ({ id: decodeURIComponent(m[1]) }) },
  { pattern: /^#\/schedules\/?$/, nav: 'schedules', mount: mountSchedules },
];

function parseHash() {
  const raw = location.hash || '#/deployments';
  const [path, search = ''] = raw.split('?');
  return { path, query: Object.fromEntries(new URLSearchParams(search)) };
}

export const ctx = {
  main,
  get global() {
    return global;
  },
  navigate(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
  /** A status line for the live connection of the page being shown. */
  connectionChanged() {
    renderConnection();
  },
};

function renderConnection() {
  const channel = view?.channel ?? global;
  const status = !session.token ? null : (channel?.status ?? 'connecting');
  connection.hidden = !status;
  if (!status) return;
  const label = {
    live: 'Live',
    connecting: 'Connecting…',
    offline: 'Reconnecting · polling every 2 s',
    unavailable: 'Polling every 2 s',
    unauthorized: 'Live updates refused · polling',
    closed: 'Polling every 2 s',
  }[status];
  connection.className = `connection connection-${status}`;
  connection.title = channel?.error ?? '';
  setText(connection, label ?? status);
}

function renderChrome() {
  clear(nav);
  clear(account);
  if (!session.token) return;
  const current = routes.find((r) => r.pattern.test(parseHash().path))?.nav;
  const link = (href, text, key) => h('a', { href, text, 'aria-current': current === key ? 'page' : undefined });
  nav.append(
    h(
      'ul',
      {},
      h('li', {}, link('#/deployments', 'Deployments', 'deployments')),
      h('li', {}, link('#/jobs', 'Jobs', 'jobs'), waitingLink),
      h('li', {}, link('#/schedules', 'Schedules', 'schedules')),
    ),
  );
  const role = session.role;
  account.append(
    h('span', { class: 'role', text: role === 'viewer' ? 'viewer (read only)' : role === 'unknown' ? 'signed in' : role }),
    h('button', { type: 'button', class: 'button-secondary', onclick: signOut, text: 'Sign out' }),
  );
}

// Jobs waiting for a person, beside "Jobs" in the navigation; read on sign-in and after job events.
const waitingLink = h('a', { class: 'nav-count', href: '#/jobs?attention=true', hidden: true });
let waitingTimer = null;
async function refreshWaiting() {
  if (!session.token) return;
  try {
    const { waiting } = await get('/api/jobs/summary');
    waitingLink.hidden = !waiting;
    setText(waitingLink, String(waiting ?? 0));
    waitingLink.setAttribute('aria-label', `${waiting} job${waiting === 1 ? '' : 's'} waiting for a person`);
    waitingLink.title = waitingLink.getAttribute('aria-label');
  } catch {
    /* the count is a hint; the pages say the rest */
  }
}
// At most one read per half second, and never postponed: a debounce that restarted on every
// event never read at all while other jobs kept sending events (a flaky browser test).
const refreshWaitingSoon = () => {
  if (waitingTimer) return;
  waitingTimer = setTimeout(() => {
    waitingTimer = null;
    void refreshWaiting();
  }, 500);
};

function startGlobal() {
  global?.close();
  global = new LiveChannel({
    token: session.token,
    onEvent: (event) => {
      if (event.type === 'job') view?.onGlobalEvent?.(event);
      if (event.type === 'job' || ['waiting', 'done', 'error', 'cancel'].includes(event.state)) refreshWaitingSoon();
    },
    onNotification: notificationToast,
    onStatus: () => {
      renderConnection();
      if (global?.status === 'unauthorized') checkToken();
    },
    // Read the count again once the subscription is live: a manual step that began waiting
    // between the sign-in's read and the subscription sent its event to nobody here, and the
    // count stayed stale until some other job moved (a browser test failed so on a loaded box).
    onCaughtUp: () => {
      view?.refresh?.();
      refreshWaitingSoon();
    },
  });
  // Job and step events: the views refresh on job events and toasts ride on them; output chunks stay on job pages.
  // Step events too: a manual step that starts (or stops) waiting changes the count of jobs
  // waiting for a person, and its job emits no job event then.
  global.subscribe({ all: true, types: ['job', 'step'] });
  global.start();
}

/** socket.io refused the token: ask the API whether the session is still valid. */
async function checkToken() {
  try {
    await get('/api/clusters');
  } catch {
    /* a 401 signs out through whenUnauthorized */
  }
}

function startPolling() {
  clearInterval(pollTimer);
  pollTimer = setInterval(() => {
    if (!view || document.hidden) return;
    const channel = view.channel ?? global;
    if (!channel || channel.status !== 'live') view.refresh?.();
  }, POLL_MS);
}

function route() {
  view?.destroy?.();
  view = null;
  clear(main);
  renderChrome();
  if (!session.token) {
    view = mountSignIn(main, { onSignedIn: signedIn });
    renderConnection();
    document.title = 'Sign in · Quire';
    return;
  }
  const { path, query } = parseHash();
  if (path === '#' || path === '#/' || !location.hash) return ctx.navigate('#/deployments');
  const match = routes.map((r) => ({ r, m: r.pattern.exec(path) })).find((x) => x.m);
  if (!match) {
    main.append(
      h('h1', { text: 'Page not found' }),
      h('p', {}, 'Nothing lives at this address. ', h('a', { href: '#/deployments', text: 'Back to deployments' })),
    );
    focusHeading(main);
    return;
  }
  const params = { ...(match.r.params?.(match.m) ?? {}), query };
  view = match.r.mount(main, params, ctx) ?? null;
  renderConnection();
  document.title = `${main.querySelector('h1')?.textContent ?? 'Quire'} · Quire`;
  focusHeading(main);
}

async function signedIn(token) {
  session.token = token;
  session.role = await fetchRole(token).catch(() => 'unknown');
  startGlobal();
  void refreshWaiting();
  if (!location.hash || location.hash === '#/' || location.hash === '#/signin') ctx.navigate('#/deployments');
  else route();
  toast({
    title: 'Signed in',
    message: session.canOperate ? 'You may trigger, cancel and resume jobs.' : 'Read only: this token may watch but not act.',
    kind: 'success',
    ttl: 3000,
  });
}

function signOut(message) {
  session.clear();
  global?.close();
  global = null;
  route();
  if (typeof message === 'string') toast({ title: 'Signed out', message, kind: 'error' });
}

whenUnauthorized((error) => {
  if (session.token) signOut(`The API refused the token: ${error.message}`);
});

window.addEventListener('hashchange', route);

if (session.token) {
  startGlobal();
  void refreshWaiting();
}
startPolling();
route();
