// One job, live: each step's state, attempt, estimate against elapsed time, errors and output
// (following as it is printed), a progress bar with an ETA that counts down between events,
// and the cancel, resume, ack and reject buttons.
//
// The page has a socket.io connection of its own subscribed to this job with `since: 0`, so the
// server replays the job's stored events from its start (output chunks included) and then the
// live ones. A step's output is built from those chunks while it runs; the REST answer replaces
// it once the step has ended (the stored output is authoritative then). Without socket.io the
// page polls GET /api/jobs/{id} every 2 s (the app's poller calls refresh()).
import { h, append, setText, setBadge, badge, time, formatSeconds, formatDate, shortId, clear, uid } from './dom.js';
import { get, post, serialReads, session, serverNow } from './api.js';
import { LiveChannel } from './live.js';
import { toast } from './toasts.js';

const FINAL_JOB = ['done', 'error', 'cancel'];
const ENDED_STEP = ['done', 'error', 'cancel', 'skipped', 'retrying'];
const FINISHED_STEP = ['done', 'skipped', 'error', 'cancel'];
const MAX_OUTPUT = 200_000; // characters kept on the page per step

/** "1 ran · 1 failed · 7 skipped": what ran, then every other outcome that happened. */
export function outcomeText(c) {
  const ran = c.done + c.failed + c.ignored;
  const parts = [`${ran} ran`];
  if (c.failed) parts.push(`${c.failed} failed`);
  if (c.ignored) parts.push(`${c.ignored} ignored`);
  if (c.skipped) parts.push(`${c.skipped} skipped`);
  if (c.cancelled) parts.push(`${c.cancelled} cancelled`);
  return parts.join(' · ');
}
const STALE_LIVE_MS = 10_000; // offline longer than this: running output comes from REST too

const UUID_IN_TEXT = /\b([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b/;
const OUTPUT_LINE = /^::output ([A-Za-z0-9_.-]+)=(.*)$/;

/** A job's target as words: "shop-web", "group shop", "cluster eu-west". */
export function targetText(job) {
  const t = job.target ?? { scope: job.scope, name: job.deployment };
  if (!t.name) return t.scope ?? '';
  return t.scope === 'deployment' ? t.name : `${t.scope} ${t.name}`;
}

/**
 * Seconds a running step has left, honestly: its estimate while within it; past it, its
 * learned p90 (when the eta helper sends `estimate_p90`); past that too, a remainder that grows
 * with the overrun. Never below zero, and it grows while the step overruns.
 */
export function stepRemaining(step, elapsed) {
  const est = Number(step.estimated_duration) || 0;
  if (elapsed < est) return est - elapsed;
  const p90 = Number(step.estimate_p90);
  if (Number.isFinite(p90) && p90 > elapsed) return p90 - elapsed;
  // Overrun by o seconds: expect a quarter of the estimate plus √o more. It grows while the step
  // runs, yet slower than the step itself, so the bar (elapsed against elapsed + remainder) moves on.
  return Math.max(0.5, 0.25 * est + Math.sqrt(Math.max(0, elapsed - Math.max(est, Number.isFinite(p90) ? p90 : 0))));
}

/**
 * How much of a running step the bar shows: 90% of it across its estimate, then the last tenth
 * approached but never reached while it overruns. Continuous and rising, so the bar neither
 * freezes nor steps back when the estimate passes.
 */
export function stepShare(step, elapsed) {
  const est = Number(step.estimated_duration) || 1;
  const x = Math.max(0, elapsed) / est;
  return x <= 1 ? 0.9 * x : 0.9 + 0.09 * (1 - 1 / x);
}

/** "::output key=value" lines are outputs, shown apart from the log. */
export const withoutOutputLines = (text) =>
  text
    .split('\n')
    .filter((line) => !OUTPUT_LINE.test(line))
    .join('\n');

export function mountJob(root, { id: ref }, ctx) {
  // The address may hold a short id; the API answers with the full one, used from then on.
  let id = ref;
  const title = h('span', { text: `Job ${shortId(ref)}` });
  const jobBadge = badge('…');
  const crumbs = h(
    'nav',
    { class: 'breadcrumbs', 'aria-label': 'Breadcrumbs' },
    h('a', { href: '#/jobs', text: 'Jobs' }),
    h('span', { 'aria-hidden': 'true', text: ' / ' }),
    h('span', { text: shortId(ref) }),
  );
  const body = h('div', { class: 'job' }, h('p', { class: 'muted', role: 'status', text: 'Loading…' }));
  root.append(crumbs, h('div', { class: 'page-head' }, h('h1', {}, title, ' ', jobBadge)), body);

  let job = null;
  const steps = new Map(); // step id -> model
  let progress = null; // { done_steps, total_steps, eta_s, atServerMs }
  let destroyed = false;
  let refetchTimer = null;
  let caughtUp = false;
  let offlineSince = null;
  let channel = null;
  let ui = null;
  let lastAnnounced = '';
  const logs = { query: '', timestamps: false };

  // ---- data --------------------------------------------------------------------------------

  const refresh = serialReads(
    () =>
      get(`/api/jobs/${encodeURIComponent(id)}`)
        .then(({ job: fresh }) => {
          if (destroyed) return;
          id = fresh.id;
          if (!ui) build(fresh);
          applyRest(fresh);
          if (!channel) startLive();
        })
        .catch((error) => {
          if (destroyed) return;
          if (!ui) {
            clear(body).append(
              h('p', {
                class: 'error-text',
                role: 'alert',
                text:
                  error.status === 404
                    ? `No job ${ref} is visible to this token.`
                    : error.status === 409
                      ? `${error.message}`
                      : `Could not load the job: ${error.message}`,
              }),
            );
          } else flash(`Could not refresh: ${error.message}`, 'error');
        }),
    () => destroyed,
  );

  function refetchSoon() {
    if (!caughtUp) return; // the refetch after the replay covers it
    clearTimeout(refetchTimer);
    refetchTimer = setTimeout(refresh, 250);
  }

  function startLive() {
    channel = new LiveChannel({
      token: session.token,
      onEvent: applyEvent,
      onStatus: (status) => {
        if (status !== 'live') {
          caughtUp = false;
          offlineSince ??= Date.now();
        }
        ctx.connectionChanged();
      },
      onCaughtUp: () => {
        caughtUp = true;
        offlineSince = null;
        refresh();
      },
    });
    api.channel = channel;
    channel.subscribe({ job: id }, { since: 0 });
    channel.start();
    ctx.connectionChanged();
  }

  function applyRest(fresh) {
    const liveOutputUsable = !!channel && (channel.live || (offlineSince !== null && Date.now() - offlineSince < STALE_LIVE_MS));
    job = { ...job, ...fresh };
    delete job.steps;
    if (fresh.progress) setProgress(fresh.progress, serverNow());
    for (const rest of fresh.steps ?? []) {
      let model = steps.get(rest.id);
      if (!model) {
        model = { data: rest, output: '', chunks: [], source: 'rest', liveAttempt: null, final: false, overdue: null, ui: null };
        steps.set(rest.id, model);
      }
      model.data = { ...model.data, ...rest };
      if (rest.state === 'running') {
        const keepLive = model.source === 'live' && model.liveAttempt === rest.attempt && liveOutputUsable;
        model.final = false;
        if (!keepLive) setOutput(model, rest.output ?? '', 'rest');
      } else {
        model.final = ENDED_STEP.includes(rest.state);
        setOutput(model, rest.output ?? '', 'rest');
      }
      if (rest.state !== 'running') model.overdue = null;
    }
    render();
  }

  function applyEvent(event) {
    if (!ui || event.job_id !== job.id) return;
    if (event.progress) setProgress(event.progress, Date.parse(event.at) || serverNow());
    if (event.type === 'job') {
      const before = job.state;
      job.state = event.state ?? job.state;
      if (event.state === 'running' && !job.date_running) job.date_running = event.at;
      if (FINAL_JOB.includes(event.state)) {
        job.date_done = event.at;
        if (event.data?.error) job.error = event.data.error;
      }
      if (caughtUp && before !== job.state) announce(`Job ${job.state}.`);
      refetchSoon();
    } else if (event.type === 'step' || event.type === 'output' || event.type === 'overdue') {
      const model = stepOf(event);
      if (!model) {
        refetchSoon();
        return;
      }
      const s = model.data;
      if (event.type === 'step') {
        s.state = event.state ?? s.state;
        if (Number.isInteger(event.data?.attempt)) s.attempt = event.data.attempt;
        if (event.state === 'running') {
          s.date_started = event.at;
          s.date_finished = null;
          s.duration = null;
          s.error = null;
          model.overdue = null;
          model.final = false;
          model.liveAttempt = s.attempt;
          model.chunks = [];
          setOutput(model, '', 'live');
        } else if (ENDED_STEP.includes(event.state)) {
          s.date_finished = event.at;
          if (event.data?.duration !== undefined && event.data.duration !== null) s.duration = Number(event.data.duration);
          if (event.data?.error) {
            s.error = event.data.error;
            s.errors = [...(s.errors ?? []), { at: event.at, attempt: event.data.attempt ?? s.attempt, message: event.data.error }];
          } else if (event.state === 'done') s.error = null;
          if (event.data?.reason && event.state === 'skipped') s.error = event.data.reason;
          model.final = true;
          model.overdue = null;
        } else if (event.state === 'waiting') {
          s.outputs = { ...(s.outputs ?? {}), instructions: event.data?.instructions ?? s.outputs?.instructions };
        }
        if (caughtUp) announce(`Step ${s.name} ${s.state}.${progressSentence()}`);
        refetchSoon();
      } else if (event.type === 'output') {
        const chunk = typeof event.data?.chunk === 'string' ? event.data.chunk : '';
        // Every chunk of this attempt, replayed or live, with its time: the per-line timestamps.
        if (chunk) model.chunks.push({ at: event.at, text: chunk });
        // Output from REST already holds what the replay would repeat: only live chunks follow it.
        if (chunk && !model.final && (model.source === 'live' || caughtUp)) appendOutput(model, chunk);
      } else if (event.type === 'overdue') {
        model.overdue = event.data ?? {};
        if (caughtUp) announce(`Step ${s.name} is running over its ${event.data?.threshold === 'p90' ? 'usual time' : 'estimate'}.`);
      }
      updateStep(model);
    }
    renderJob();
    renderProgress();
  }

  function stepOf(event) {
    if (event.step_id && steps.has(event.step_id)) return steps.get(event.step_id);
    for (const model of steps.values()) if (model.data.name === event.step_name) return model;
    return null;
  }

  function setProgress(p, atServerMs) {
    // Events that do not say where the estimate comes from keep what the last answer said.
    progress = { eta_basis: progress?.eta_basis, eta_runs: progress?.eta_runs, ...p, eta_s: Number(p.eta_s) || 0, atServerMs };
  }

  /** Steps by outcome, as the server counted them (`progress.counts`, in the job and every event). */
  const counts = () => progress?.counts ?? { done: 0, failed: 0, ignored: 0, skipped: 0, cancelled: 0 };

  // ---- output ------------------------------------------------------------------------------

  function setOutput(model, text, source) {
    model.source = source;
    const value = text.length > MAX_OUTPUT ? `… (earlier output not shown)\n${text.slice(-MAX_OUTPUT)}` : text;
    if (model.output === value) return;
    model.output = value;
    if (model.ui) {
      const follow = atBottom(model.ui.pre);
      renderOutput(model);
      if (follow) model.ui.pre.scrollTop = model.ui.pre.scrollHeight;
      updateOutputBox(model);
    }
  }

  /** The log as shown: `::output` lines apart, filtered by the search, with times when asked. */
  function renderOutput(model) {
    const pre = model.ui.pre;
    const query = logs.query.toLowerCase();
    let lines;
    if (logs.timestamps && model.chunks.length) {
      lines = [];
      for (const chunk of model.chunks) {
        const stamp = new Date(chunk.at).toLocaleTimeString();
        for (const line of chunk.text.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1)) lines.push(`[${stamp}] ${line}`);
      }
    } else lines = model.output.split('\n');
    lines = lines.filter((line) => !OUTPUT_LINE.test(line.replace(/^\[[^\]]*\] /, '')));
    if (query) lines = lines.filter((line) => line.toLowerCase().includes(query));
    model.matches = query ? lines.length : null;
    pre.textContent = query ? lines.join('\n') + (lines.length ? '\n' : '') : lines.join('\n');
  }

  function appendOutput(model, chunk) {
    model.output += chunk;
    if (!model.ui) return;
    const pre = model.ui.pre;
    const follow = atBottom(pre);
    if (model.output.length > MAX_OUTPUT * 1.2) model.output = `… (earlier output not shown)\n${model.output.slice(-MAX_OUTPUT)}`;
    // The plain case appends; outputs, a search or timestamps redraw the whole log.
    if (model.output.length > MAX_OUTPUT || chunk.includes('::output') || logs.query || logs.timestamps) renderOutput(model);
    else pre.append(document.createTextNode(chunk));
    if (follow) pre.scrollTop = pre.scrollHeight;
    updateOutputBox(model);
  }

  const atBottom = (el) => el.scrollHeight - el.scrollTop - el.clientHeight < 24;

  function updateOutputBox(model) {
    const { outputBox, outputSummary } = model.ui;
    const has = model.output.length > 0;
    outputBox.hidden = !has && model.data.state !== 'running';
    const lines = has ? withoutOutputLines(model.output).split('\n').filter((l, i, all) => l !== '' || i < all.length - 1).length : 0;
    const found = model.matches !== null && model.matches !== undefined ? ` · ${model.matches} matching` : '';
    setText(outputSummary, has ? `Output (${lines} line${lines === 1 ? '' : 's'}${found})` : 'Output (nothing yet)');
    if (logs.query && model.matches) outputBox.open = true;
    // Outputs the step set (`::output key=value`, or a handler's result), and the jobs it triggered.
    const outputs = model.data.outputs && typeof model.data.outputs === 'object' ? Object.entries(model.data.outputs) : [];
    const shown = outputs.filter(([k]) => k !== 'instructions');
    const key = JSON.stringify(shown);
    if (model.ui.outputsKey !== key) {
      model.ui.outputsKey = key;
      model.ui.outputs.replaceChildren(
        ...shown.map(([k, v]) => {
          const text = typeof v === 'string' ? v : JSON.stringify(v);
          const jobId = k === 'job_id' && typeof v === 'string' ? v : null;
          return h(
            'div',
            {},
            h('dt', { text: k }),
            h('dd', {}, jobId ? h('a', { href: `#/jobs/${encodeURIComponent(jobId)}`, text: `job ${shortId(jobId)}` }) : h('code', { text })),
          );
        }),
      );
      model.ui.outputs.hidden = shown.length === 0;
    }
    // A trigger step says which job it made: a link, from the first line of its output.
    const triggered = model.data.kind === 'trigger' ? /triggered job ([0-9a-f-]{36})/.exec(model.output)?.[1] : null;
    if (triggered !== (model.ui.triggered ?? null)) {
      model.ui.triggered = triggered;
      model.ui.triggerLink.replaceChildren(
        ...(triggered ? ['Triggered ', h('a', { href: `#/jobs/${encodeURIComponent(triggered)}`, text: `job ${shortId(triggered)}` })] : []),
      );
      model.ui.triggerLink.hidden = !triggered;
    }
    model.ui.download.hidden = !has;
    // Open the output of the step that runs or failed, unless the user closed it.
    if (!model.ui.userToggled && (model.data.state === 'running' || model.data.state === 'error' || model.data.state === 'retrying')) {
      if (!outputBox.open) {
        outputBox.open = true;
        model.ui.pre.scrollTop = model.ui.pre.scrollHeight;
      }
    }
  }

  // ---- layout ------------------------------------------------------------------------------

  function build(fresh) {
    const bar = h('progress', {
      id: 'job-progress',
      max: 1000,
      value: 0,
      'aria-labelledby': 'job-progress-label',
      'aria-describedby': 'job-progress-text',
    });
    const progressText = h('p', { id: 'job-progress-text', class: 'progress-text' });
    const eta = h('span', { class: 'eta' });
    const announcer = h('div', { class: 'visually-hidden', 'aria-live': 'polite', 'aria-atomic': 'true' });
    const message = h('p', { class: 'action-message', role: 'status', hidden: true });
    const cancel = h('button', { type: 'button', class: 'button-danger', text: 'Cancel job', onclick: onCancel });
    const resume = h('button', { type: 'button', text: 'Resume job', onclick: onResume });
    const rerun = h('a', { class: 'button button-secondary', text: 'Re-run…', hidden: true });
    const controls = h('div', { class: 'controls', role: 'group', 'aria-label': 'Job actions' }, cancel, resume, rerun);
    const basis = h('p', { class: 'eta-basis muted' });
    const jump = h('button', { type: 'button', class: 'button-small button-secondary', text: 'Jump to running step', hidden: true, onclick: jumpToRunning });
    const search = h('input', { id: 'log-search', type: 'search', placeholder: 'Search all output', autocomplete: 'off' });
    const stamps = h('input', { id: 'log-times', type: 'checkbox' });
    search.addEventListener('input', () => {
      logs.query = search.value;
      for (const model of steps.values()) if (model.ui) (renderOutput(model), updateOutputBox(model));
    });
    stamps.addEventListener('change', () => {
      logs.timestamps = stamps.checked;
      for (const model of steps.values()) if (model.ui) renderOutput(model);
    });
    const toolbar = h(
      'div',
      { class: 'log-tools', role: 'search', 'aria-label': 'Output' },
      h('div', { class: 'field field-inline' }, h('label', { for: 'log-search', text: 'Search output' }), search),
      h('div', { class: 'field field-check' }, stamps, h('label', { for: 'log-times', text: 'Times per line' })),
      jump,
    );
    const related = h('ul', { class: 'related-jobs' });
    const activity = h('ol', { class: 'activity' });
    const gantt = h('div', { class: 'gantt', role: 'img' });
    const readOnly = h('p', { class: 'muted', text: 'This token is read only: cancel and resume need the operator role.' });
    const facts = h('dl', { class: 'facts facts-grid' });
    const error = h('p', { class: 'job-error error-text', hidden: true });
    const list = h('ol', { class: 'steps' });
    const summary = h(
      'section',
      { class: 'card job-summary-card', 'aria-labelledby': 'job-progress-label' },
      h('div', { class: 'progress-head' }, h('h2', { id: 'job-progress-label', text: 'Progress' }), eta),
      bar,
      progressText,
      basis,
      announcer,
      error,
      session.canOperate ? controls : readOnly,
      message,
    );
    clear(body).append(
      h(
        'div',
        { class: 'job-layout' },
        summary,
        h(
          'section',
          { class: 'card job-facts', 'aria-labelledby': 'job-facts-title' },
          h('h2', { id: 'job-facts-title', text: 'Details' }),
          facts,
          h('h3', { class: 'related-title', text: 'Related jobs' }),
          related,
        ),
        h(
          'section',
          { class: 'card job-timeline', 'aria-labelledby': 'job-timeline-title' },
          h('h2', { id: 'job-timeline-title', text: 'Timeline' }),
          gantt,
          h('h3', { text: 'Activity' }),
          activity,
        ),
        h(
          'section',
          { class: 'steps-section', 'aria-labelledby': 'steps-title' },
          h('h2', { id: 'steps-title', text: 'Steps' }),
          toolbar,
          list,
        ),
      ),
    );
    ui = { bar, progressText, eta, basis, announcer, message, cancel, resume, rerun, jump, facts, error, list, related, activity, gantt };
    title.textContent = `${fresh.action} · ${targetText(fresh)}`;
    document.title = `${fresh.action} ${targetText(fresh)} · Quire`;
    ticker = setInterval(tick, 1000);
  }

  function render() {
    renderJob();
    const ordered = [...steps.values()].sort((a, b) => a.data.position - b.data.position);
    for (const model of ordered) {
      if (!model.ui) buildStep(model);
      updateStep(model);
    }
    const wanted = ordered.map((m) => m.ui.li);
    if (wanted.some((li, i) => ui.list.children[i] !== li)) ui.list.replaceChildren(...wanted);
    renderProgress();
  }

  function renderJob() {
    setBadge(jobBadge, job.state);
    setText(title, `${job.action} · ${targetText(job)}`);
    ui.cancel.hidden = FINAL_JOB.includes(job.state);
    ui.resume.hidden = !(job.state === 'error' || job.state === 'cancel');
    // Re-run: the trigger form of this action on this target, with this job's params filled in.
    const t = job.target;
    ui.rerun.hidden = !FINAL_JOB.includes(job.state) || !t?.name;
    if (t?.name) ui.rerun.href = `#/run/${t.scope}/${encodeURIComponent(t.name)}/${encodeURIComponent(job.action)}?from=${encodeURIComponent(job.id)}`;
    renderRelated();
    renderActivity();
    renderGantt();
    ui.error.hidden = !job.error;
    ui.error.className = `job-error job-error-${job.state}`;
    setText(ui.error, job.error ?? '');
    // "Cancelling…" and the like are answered by the job's new state.
    if (shownFor && shownFor !== job.state && ui.message.classList.contains('action-info')) {
      ui.message.hidden = true;
      shownFor = null;
    }
    const rows = [
      ['Book', job.book],
      ['Target', job.target?.name ? `${job.target.name} (${job.target.scope})` : job.scope],
      ['Job id', job.id],
      ['Triggered by', triggeredBy(job.triggered_by)],
      ['Created', formatDate(job.date_created)],
      ['Started', formatDate(job.date_running)],
      ['Finished', formatDate(job.date_done)],
      [
        'Duration',
        job.date_running
          ? formatSeconds(((job.date_done ? Date.parse(job.date_done) : serverNow()) - Date.parse(job.date_running)) / 1000)
          : '–',
      ],
      [
        'Params',
        job.params && Object.keys(job.params).length
          ? Object.entries(job.params)
              .map(([k, v]) => `${k} = ${typeof v === 'string' ? v : JSON.stringify(v)}`)
              .join('\n')
          : '–',
      ],
    ];
    if (job.skip_reason) rows.push(['Skipped', job.skip_reason]);
    const facts = ui.facts;
    // Rebuilt only when the rows' shape changes (a link appears); otherwise texts are updated.
    const shape = rows.map(([k, v]) => `${k}:${v && typeof v === 'object' ? 'link' : 'text'}`).join('|');
    if (facts.dataset.shape !== shape) {
      facts.dataset.shape = shape;
      facts.replaceChildren(
        ...rows.map(([k, v]) =>
          h(
            'div',
            {},
            h('dt', { text: k }),
            h('dd', {}, v && typeof v === 'object' ? h('a') : k === 'Params' || k === 'Job id' ? h('code', { class: 'pre-line' }) : h('span')),
          ),
        ),
      );
    }
    rows.forEach(([, value], i) => {
      const el = facts.children[i].querySelector('dd > *');
      if (value && typeof value === 'object') {
        el.href = value.href;
        setText(el, value.text);
      } else setText(el, value ?? '–');
    });
  }

  /** `job:<id>` links to that job; `schedule:<id>` to the schedules; a token's name as it is. */
  function triggeredBy(by) {
    const jobId = /^job:([0-9a-f-]{36})$/.exec(by ?? '')?.[1];
    if (jobId) {
      const parent = job.parent?.id === jobId ? job.parent : null;
      return { href: `#/jobs/${encodeURIComponent(jobId)}`, text: parent ? `${parent.action} job ${shortId(jobId)} on ${targetText(parent)}` : `job ${shortId(jobId)}` };
    }
    if (/^schedule:/.test(by ?? '')) return { href: '#/schedules', text: by };
    return by;
  }

  function renderRelated() {
    const items = [
      ...(job.parent ? [['parent', job.parent]] : []),
      ...(Array.isArray(job.children) ? job.children.map((c) => ['child', c]) : []),
    ];
    const key = JSON.stringify(items.map(([k, j]) => [k, j.id, j.state]));
    if (ui.related.dataset.key === key) return;
    ui.related.dataset.key = key;
    ui.related.replaceChildren(
      ...(items.length
        ? items.map(([kind, j]) =>
            h(
              'li',
              {},
              h('span', { class: 'muted', text: kind === 'parent' ? 'Triggered by ' : 'Triggered ' }),
              h('a', { href: `#/jobs/${encodeURIComponent(j.id)}`, text: `${j.action} · ${targetText(j)}` }),
              ' ',
              h('code', { class: 'muted', text: shortId(j.id) }),
              ' ',
              badge(j.state),
            ),
          )
        : [h('li', { class: 'muted', text: 'None: no job triggered this one, and it triggered none.' })]),
    );
  }

  const ACTIVITY_WORDS = { triggered: 'triggered the job', cancelled: 'cancelled it', resumed: 'resumed it', acknowledged: 'acknowledged', rejected: 'rejected' };

  function renderActivity() {
    const entries = Array.isArray(job.activity) ? job.activity : [];
    const key = JSON.stringify(entries);
    if (ui.activity.dataset.key === key) return;
    ui.activity.dataset.key = key;
    ui.activity.replaceChildren(
      ...(entries.length
        ? entries.map((a) =>
            h(
              'li',
              { class: `activity-${a.what}` },
              time(a.at),
              ' ',
              h('strong', { text: a.by }),
              ` ${ACTIVITY_WORDS[a.what] ?? a.what}`,
              a.step ? [' step ', h('code', { text: a.step })] : null,
              a.note ? h('q', { class: 'activity-note', text: a.note }) : null,
            ),
          )
        : [h('li', { class: 'muted', text: 'Nothing recorded yet.' })]),
    );
  }

  /** Each step's run against its estimate, on one time axis from the job's start. */
  function renderGantt() {
    const all = [...steps.values()].map((m) => m.data).sort((a, b) => a.position - b.position);
    const start = Date.parse(job.date_running ?? '') || null;
    const now = job.date_done ? Date.parse(job.date_done) : serverNow();
    let planned = 0;
    const rows = all.map((s) => {
      const from = s.date_started && start ? (Date.parse(s.date_started) - start) / 1000 : null;
      const took = s.duration ?? (s.state === 'running' || s.state === 'waiting' ? elapsedOf(s) : null);
      const row = { s, from: from ?? planned, took, est: Number(s.estimated_duration) || 0, ran: from !== null };
      planned = Math.max(planned, row.from + (took ?? (s.state === 'skipped' ? 0 : row.est)));
      return row;
    });
    const span = Math.max(1, planned, start ? (now - start) / 1000 : 0, ...rows.map((r) => r.from + r.est));
    const pct = (v) => `${Math.max(0, Math.min(100, (v / span) * 100)).toFixed(2)}%`;
    ui.gantt.setAttribute('aria-label', `Steps against their estimates over ${formatSeconds(span)}`);
    ui.gantt.replaceChildren(
      ...rows.map((r) =>
        h(
          'div',
          { class: `gantt-row gantt-${r.s.state}` },
          h('span', { class: 'gantt-name', text: r.s.name }),
          h(
            'span',
            { class: 'gantt-track' },
            r.s.state === 'skipped' ? null : placed('gantt-estimate', pct(r.from), pct(r.est)),
            r.took !== null && r.ran ? placed('gantt-bar', pct(r.from), pct(r.took)) : null,
          ),
          h('span', {
            class: 'gantt-figure muted',
            text: r.s.state === 'skipped' ? 'skipped' : `${r.took !== null ? formatSeconds(r.took) : '–'} / est. ${formatSeconds(r.est)}`,
          }),
        ),
      ),
    );
  }

  /** A bar placed through the CSSOM: the CSP (style-src 'self') refuses style attributes. */
  function placed(cls, left, width) {
    const el = h('span', { class: cls });
    el.style.left = left;
    el.style.width = width;
    return el;
  }

  function jumpToRunning() {
    const current = ui.list.querySelector('li[aria-current="step"]');
    if (!current) return;
    current.scrollIntoView({ block: 'start' });
    current.querySelector('h3')?.setAttribute('tabindex', '-1');
    current.querySelector('h3')?.focus({ preventScroll: true });
  }

  function buildStep(model) {
    const s = model.data;
    const titleId = uid('step');
    const stateBadge = badge(s.state);
    const attempt = h('span', { class: 'attempt' });
    const timing = h('span', { class: 'timing' });
    const overdue = h('span', { class: 'overdue-tag', hidden: true, text: 'over its estimate' });
    const ignoredTag = h('span', { class: 'ignored-tag', hidden: true, text: 'ignored' });
    const errorText = h('p', { class: 'step-error-message error-text', hidden: true });
    const errorsList = h('ol', { class: 'errors' });
    const errorsSummary = h('summary');
    const errorsBox = h('details', { class: 'step-errors', hidden: true }, errorsSummary, errorsList);
    // role=log: a region that grows as the step prints (a bare <pre> may not carry aria-label).
    const pre = h('pre', { class: 'output', role: 'log', tabindex: '0', 'aria-label': `Output of ${s.name}` });
    const outputSummary = h('summary', { text: 'Output' });
    const download = h('button', { type: 'button', class: 'button-small button-secondary', text: 'Download output', onclick: () => void downloadOutput(model) });
    const outputBox = h('details', { class: 'step-output', hidden: true }, outputSummary, h('div', { class: 'output-tools' }, download), pre);
    const outputs = h('dl', { class: 'facts step-outputs', hidden: true, 'aria-label': `Outputs of ${s.name}` });
    const triggerLink = h('p', { class: 'step-trigger-link', hidden: true });
    const manual = h('div', { class: 'manual', hidden: true });
    const li = h(
      'li',
      { class: 'step', 'aria-labelledby': titleId },
      h(
        'div',
        { class: 'step-head' },
        h('h3', { id: titleId, class: 'step-name' }, h('span', { text: s.name }), h('span', { class: 'step-kind', text: s.kind })),
        stateBadge,
        ignoredTag,
        attempt,
      ),
      s.description ? h('p', { class: 'step-description muted', text: s.description }) : null,
      h('p', { class: 'step-meta' }, timing, ' ', overdue),
      errorText,
      triggerLink,
      outputs,
      errorsBox,
      manual,
      outputBox,
    );
    model.ui = {
      li,
      stateBadge,
      ignoredTag,
      attempt,
      timing,
      overdue,
      errorText,
      errorsList,
      errorsSummary,
      errorsBox,
      pre,
      outputSummary,
      outputBox,
      outputs,
      triggerLink,
      download,
      manual,
      userToggled: false,
      manualFor: null,
    };
    outputSummary.addEventListener('click', () => (model.ui.userToggled = true));
    renderOutput(model);
  }

  /** The step's stored output as a file (the whole stored tail, not what the page trimmed). */
  async function downloadOutput(model) {
    // An ended step's stored output, read now: the copy this page holds may predate its last
    // flush (the step's end event can arrive before the page's read of the ended job).
    let text = model.output;
    if (model.final) {
      const stored = await get(`/api/jobs/${encodeURIComponent(id)}`)
        .then(({ job }) => job.steps.find((step) => step.name === model.data.name)?.output)
        .catch(() => undefined);
      if (typeof stored === 'string') text = stored;
    }
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
    const a = h('a', { href: url, download: `job-${shortId(id)}-${model.data.name}.log` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  function updateStep(model) {
    const s = model.data;
    const u = model.ui;
    if (!u) return;
    setBadge(u.stateBadge, s.state);
    u.li.className = `step step-${s.state}${model.overdue || isOverdue(s) ? ' step-overdue' : ''}`;
    if (s.state === 'running' || s.state === 'waiting') u.li.setAttribute('aria-current', 'step');
    else u.li.removeAttribute('aria-current');
    setText(
      u.attempt,
      s.attempt > 0 ? `attempt ${s.attempt} of ${s.max_attempts ?? '?'}` : s.max_attempts > 1 ? `up to ${s.max_attempts} attempts` : '',
    );
    setText(u.timing, timingText(s));
    u.overdue.hidden = !(model.overdue || isOverdue(s));
    setText(u.overdue, model.overdue?.threshold === 'p90' ? 'slower than usual' : 'over its estimate');
    // A skip is a reason, not an error; a failure the book ignores is said to be ignored.
    const showError = s.error && s.state !== 'done';
    const ignored = s.state === 'error' && s.on_failure === 'ignore';
    u.errorText.hidden = !showError;
    u.errorText.className =
      s.state === 'skipped' ? 'step-skip-reason muted' : `step-error-message error-text${ignored ? ' step-error-ignored' : ''}`;
    setText(u.errorText, showError ? (ignored ? `Failed, ignored (on_failure: ignore): ${s.error}` : s.error) : '');
    u.ignoredTag.hidden = !ignored;
    const errors = Array.isArray(s.errors) ? s.errors : [];
    u.errorsBox.hidden = errors.length === 0;
    setText(u.errorsSummary, `Attempts and errors (${errors.length})`);
    if (u.errorsList.children.length !== errors.length) {
      u.errorsList.replaceChildren(
        ...errors.map((e) =>
          h(
            'li',
            {},
            h('span', { class: 'muted' }, `attempt ${e.attempt ?? '?'} · `, time(e.at)),
            ' ',
            h('span', { text: e.message ?? JSON.stringify(e) }),
          ),
        ),
      );
    }
    updateManual(model);
    updateOutputBox(model);
  }

  function updateManual(model) {
    const s = model.data;
    const u = model.ui;
    const waiting = s.state === 'waiting';
    u.manual.hidden = !waiting;
    if (!waiting) {
      if (u.manualFor) clear(u.manual);
      u.manualFor = null;
      return;
    }
    if (u.manualFor === s.attempt) return;
    u.manualFor = s.attempt;
    const instructions = s.outputs?.instructions ?? s.data?.instructions;
    const noteId = uid('note');
    // The note a person is typing outlives the box: a read that began before the step started
    // waiting hides the box for a moment and a later one builds it again (a browser test lost
    // "looks good" so), which must not throw the text away.
    if (model.noteDraft?.attempt !== s.attempt) model.noteDraft = { attempt: s.attempt, text: '' };
    const draft = model.noteDraft;
    const note = h('textarea', { id: noteId, rows: 2, maxlength: 2000, oninput: () => (draft.text = note.value) });
    note.value = draft.text;
    const ack = h('button', { type: 'button', text: 'Acknowledge', onclick: () => resolveManual(s, 'ack', note, [ack, reject]) });
    const reject = h('button', {
      type: 'button',
      class: 'button-danger',
      text: 'Reject',
      onclick: () => resolveManual(s, 'reject', note, [ack, reject]),
    });
    clear(u.manual);
    append(u.manual, [
      h(
        'p',
        { class: 'manual-title' },
        h('strong', { text: 'Waiting for a person. ' }),
        instructions ? h('span', { text: String(instructions) }) : null,
      ),
      session.canOperate
        ? [
            h('div', { class: 'field' }, h('label', { for: noteId, text: 'Note (optional)' }), note),
            h('div', { class: 'controls' }, ack, reject),
          ]
        : h('p', { class: 'muted', text: 'An operator must acknowledge or reject this step.' }),
    ]);
  }

  function timingText(s) {
    const est = `est. ${formatSeconds(s.estimated_duration)}${s.estimate_source === 'history' ? ' (learned)' : ''}`;
    if (s.state === 'running' || s.state === 'waiting')
      return `${formatSeconds(elapsedOf(s))} elapsed / ${est} · timeout ${formatSeconds(s.timeout)}`;
    if (s.duration !== null && s.duration !== undefined && s.state !== 'pending') return `took ${formatSeconds(s.duration)} / ${est}`;
    return `${est} · timeout ${formatSeconds(s.timeout)}`;
  }

  const elapsedOf = (s) => (s.date_started ? Math.max(0, (serverNow() - Date.parse(s.date_started)) / 1000) : 0);
  const isOverdue = (s) => s.state === 'running' && s.estimated_duration > 0 && elapsedOf(s) > s.estimated_duration;

  // ---- progress ----------------------------------------------------------------------------

  /**
   * Seconds left: the server's figure counted down since it was sent, but never below what is
   * honestly left: the pending steps' estimates plus the running step's remainder, which grows
   * while it overruns (stepRemaining). So the ETA never reaches a value known to be false.
   */
  function etaNow() {
    if (!progress) return null;
    const all = [...steps.values()].map((m) => m.data);
    const running = all.find((s) => s.state === 'running');
    const passed = job.state === 'running' && running ? (serverNow() - progress.atServerMs) / 1000 : 0;
    const countdown = progress.eta_s - Math.max(0, passed);
    const pending = all.filter((s) => s.state === 'pending' || s.state === 'retrying').reduce((n, s) => n + (Number(s.estimated_duration) || 0), 0);
    const floor = running ? pending + stepRemaining(running, elapsedOf(running)) : 0;
    return Math.max(0, countdown, floor);
  }

  function fraction() {
    const all = [...steps.values()].map((m) => m.data);
    if (job.state === 'done') return 1;
    if (all.length === 0) return 0;
    // An ended job that did not finish shows how much of it ran, never a full bar.
    if (job.state === 'error' || job.state === 'cancel') {
      const c = counts();
      return (c.done + c.failed + c.ignored) / all.length;
    }
    let done = all.filter((s) => FINISHED_STEP.includes(s.state)).length;
    const running = all.find((s) => s.state === 'running');
    if (running) done += stepShare(running, elapsedOf(running));
    return Math.min(1, done / all.length);
  }

  function progressSentence() {
    const all = [...steps.values()].map((m) => m.data);
    const done = all.filter((s) => FINISHED_STEP.includes(s.state)).length;
    if (FINAL_JOB.includes(job.state)) return '';
    const eta = etaNow();
    return ` ${done} of ${all.length} steps done${eta !== null ? `, about ${formatSeconds(eta)} left` : ''}.`;
  }

  function renderProgress() {
    if (!ui || !job) return;
    const all = [...steps.values()].map((m) => m.data);
    const done = all.filter((s) => FINISHED_STEP.includes(s.state)).length;
    const value = Math.round(fraction() * 1000);
    if (Number(ui.bar.value) !== value) ui.bar.value = value;
    ui.bar.className = `progress progress-${job.state}`;
    ui.bar.setAttribute(
      'aria-valuetext',
      `${Math.round(value / 10)}%, ${FINAL_JOB.includes(job.state) ? outcomeText(counts()) : `${done} of ${all.length} steps`}`,
    );
    const running = all.find((s) => s.state === 'running' || s.state === 'waiting');
    let text;
    let eta = '';
    const tally = counts();
    const took =
      job.date_running && job.date_done ? ` in ${formatSeconds((Date.parse(job.date_done) - Date.parse(job.date_running)) / 1000)}` : '';
    if (job.state === 'done')
      text = job.skip_reason
        ? `Done without running: ${job.skip_reason.replace(/^skipped: /, '')}.`
        : `Done: ${outcomeText(tally)}${took}.`;
    else if (job.state === 'error') text = `Failed${failedStep(all) ? ` at step ${failedStep(all).name}` : ''}: ${outcomeText(tally)}.`;
    else if (job.state === 'cancel') text = `Cancelled: ${outcomeText(tally)}.`;
    else {
      const left = etaNow();
      const where = running
        ? ` · ${running.state === 'waiting' ? 'waiting at' : 'running'} ${running.name}`
        : job.state === 'scheduled'
          ? ' · waiting for a worker'
          : '';
      text = `${done} of ${all.length} steps done${where}`;
      if (left !== null) eta = left > 0 ? `ETA ${formatSeconds(left)}` : 'ETA –';
    }
    setText(ui.progressText, text);
    setText(ui.eta, eta);
    // Where the estimate comes from, when the server says (the eta helper's `eta_basis`).
    const basis = progress?.eta_basis;
    const runs = Number(progress?.eta_runs);
    setText(
      ui.basis,
      FINAL_JOB.includes(job.state) || !basis
        ? ''
        : basis === 'book'
          ? 'ETA from the book estimate'
          : `ETA learned from ${Number.isFinite(runs) ? runs : 'earlier'} run${runs === 1 ? '' : 's'}`,
    );
    ui.jump.hidden = !running;
  }

  const failedStep = (all) => all.find((s) => s.state === 'error' && s.on_failure !== 'ignore') ?? all.find((s) => s.state === 'error');

  function tick() {
    if (!job || destroyed) return;
    for (const model of steps.values()) {
      if (model.data.state === 'running' || model.data.state === 'waiting') {
        setText(model.ui.timing, timingText(model.data));
        const over = !!model.overdue || isOverdue(model.data);
        model.ui.overdue.hidden = !over;
        model.ui.li.classList.toggle('step-overdue', over);
      }
    }
    renderProgress();
    if (!FINAL_JOB.includes(job.state)) renderJob();
  }
  let ticker = null;

  function announce(text) {
    if (!ui || text === lastAnnounced) return;
    lastAnnounced = text;
    setText(ui.announcer, text);
  }

  let shownFor = null;
  function flash(text, kind = 'info') {
    shownFor = job?.state ?? null;
    ui.message.hidden = false;
    ui.message.className = `action-message action-${kind}`;
    setText(ui.message, text);
  }

  // ---- actions -----------------------------------------------------------------------------

  async function act(button, label, path, body, done) {
    button.disabled = true;
    try {
      const answer = await post(path, body);
      if (answer.body?.job) applyRest(answer.body.job);
      done(answer);
    } catch (error) {
      const text = error.status === 403 ? `Not allowed: ${error.message}` : `${label} failed: ${error.message}`;
      flash(text, 'error');
      toast({ title: `${label} refused`, message: error.message, kind: 'error' });
    } finally {
      button.disabled = false;
    }
  }

  function onCancel() {
    if (!window.confirm(`Cancel this ${job.action} job? A running step is stopped.`)) return;
    act(ui.cancel, 'Cancel', `/api/jobs/${encodeURIComponent(id)}/cancel`, {}, ({ status }) =>
      flash(status === 202 ? 'Cancelling: the worker was asked to stop the job.' : 'Cancelled.', 'info'),
    );
  }

  function onResume() {
    act(ui.resume, 'Resume', `/api/jobs/${encodeURIComponent(id)}/resume`, {}, () =>
      flash('Resumed: the job runs again from the step that stopped it.', 'info'),
    );
  }

  function resolveManual(step, outcome, note, buttons) {
    if (outcome === 'reject' && !window.confirm(`Reject step ${step.name}? The job fails.`)) return;
    buttons.forEach((b) => (b.disabled = true));
    act(
      buttons[0],
      outcome === 'ack' ? 'Acknowledge' : 'Reject',
      `/api/jobs/${encodeURIComponent(id)}/steps/${encodeURIComponent(step.name)}/${outcome}`,
      note.value ? { note: note.value } : {},
      () => flash(outcome === 'ack' ? `Step ${step.name} acknowledged.` : `Step ${step.name} rejected.`, 'info'),
    ).finally(() => buttons.forEach((b) => (b.disabled = false)));
  }

  // ---- view interface ----------------------------------------------------------------------

  const api = {
    channel: null,
    refresh,
    destroy() {
      destroyed = true;
      clearInterval(ticker);
      clearTimeout(refetchTimer);
      channel?.close();
    },
  };
  refresh();
  return api;
}
