// Trigger an action: a form generated from the book's `params` schema. The API checks the
// values; a 400 puts each problem next to its field.
import { h, setText, badge, clear } from './dom.js';
import { get, post, session } from './api.js';
import { loadRecord, findBook } from './inventory.js';
import { schemaForm } from './schema-form.js';
import { toast } from './toasts.js';

const PLURAL = { deployment: 'deployments', group: 'groups', cluster: 'clusters' };

/** The book's schema with the given values as its defaults: a re-run starts from the old job's params. */
function prefilled(schema, values) {
  if (!schema || typeof schema !== 'object' || !values || typeof schema.properties !== 'object') return schema;
  const properties = { ...schema.properties };
  for (const [name, value] of Object.entries(values)) if (properties[name]) properties[name] = { ...properties[name], default: value };
  return { ...schema, properties };
}

export function mountRun(root, { scope, target, action, query = {} }, ctx) {
  const heading = h('h1', {}, h('span', { text: action }), h('span', { class: 'muted', text: ` · ${target}` }));
  const body = h('div', { class: 'run' }, h('p', { class: 'muted', role: 'status', text: 'Loading…' }));
  root.append(
    h(
      'nav',
      { class: 'breadcrumbs', 'aria-label': 'Breadcrumbs' },
      h('a', { href: '#/deployments', text: 'Deployments' }),
      h('span', { 'aria-hidden': 'true', text: ' / ' }),
      h('span', { text: `${action} ${target}` }),
    ),
    h('div', { class: 'page-head' }, heading),
    body,
  );
  let destroyed = false;

  loadRecord(scope, target)
    .then(async ({ record, books }) => {
      if (destroyed) return;
      if (!record) return show(h('p', { class: 'error-text', text: `No ${scope} named '${target}' is visible to this token.` }));
      const book = findBook(books, scope, record, action);
      if (!book) return show(h('p', { class: 'error-text', text: `No book implements '${action}' for this ${scope}.` }));
      // The YAML source gives the fields in the order the author wrote them.
      const source = await get(`/api/books/${encodeURIComponent(book.name)}`)
        .then((b) => b.book?.source)
        .catch(() => undefined);
      // ?from=<job>: a re-run, its params prefilled.
      const from = query.from ? await get(`/api/jobs/${encodeURIComponent(query.from)}`).then((b) => b.job).catch(() => null) : null;
      if (destroyed) return;
      show(...form(record, book, source, from));
    })
    .catch((error) => !destroyed && show(h('p', { class: 'error-text', text: `Could not load: ${error.message}` })));

  function show(...nodes) {
    clear(body).append(...nodes);
  }

  function form(record, book, source, from) {
    const fields = schemaForm(prefilled(book.params, from?.params), { source });
    // A destructive book (`confirm: true`) runs only once the person typed the target's name.
    const confirmId = 'run-confirm';
    const confirmInput = book.confirm ? h('input', { id: confirmId, type: 'text', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'run-confirm-hint' }) : null;
    const confirmBox = book.confirm
      ? h(
          'div',
          { class: 'field confirm-field' },
          h('label', { for: confirmId, text: `Type ${record.name} to confirm` }),
          h('p', { id: 'run-confirm-hint', class: 'hint warning', text: `${action} is destructive: it cannot be undone from here.` }),
          confirmInput,
        )
      : null;
    const summary = h('div', { class: 'form-errors', role: 'alert', tabindex: '-1', hidden: true });
    const submit = h('button', { type: 'submit', class: book.confirm ? 'button-danger' : undefined, text: `Run ${action}` });
    const confirmed = () => !book.confirm || confirmInput.value.trim() === record.name;
    if (confirmInput) {
      submit.disabled = true;
      confirmInput.addEventListener('input', () => (submit.disabled = !confirmed()));
    }
    const allowed = Array.isArray(book.allowed_from) ? book.allowed_from : null;
    const refused = scope === 'deployment' && allowed && !allowed.includes(record.state);
    const formEl = h(
      'form',
      { class: 'card run-form', novalidate: true, 'aria-labelledby': 'run-params' },
      h('h2', { id: 'run-params', text: 'Parameters' }),
      from ? h('p', { class: 'muted', text: `Re-run of job ${from.id.slice(0, 8)}: its params are filled in.` }) : null,
      summary,
      fields.element,
      confirmBox,
      h('div', { class: 'form-actions' }, submit, h('a', { href: '#/deployments', class: 'button button-secondary', text: 'Back' })),
    );
    formEl.addEventListener('submit', async (event) => {
      event.preventDefault();
      summary.hidden = true;
      clear(summary);
      if (!confirmed()) return report(`Type ${record.name} to confirm.`, [], 0);
      const { params, problems } = fields.read();
      if (problems.length) return report('Some values cannot be sent:', fields.showErrors(problems), problems.length);
      fields.clearErrors();
      submit.disabled = true;
      setText(submit, 'Starting…');
      try {
        const { status, body: answer } = await post(
          `/api/${PLURAL[scope]}/${encodeURIComponent(record.name)}/actions/${encodeURIComponent(action)}`,
          { params },
        );
        if (destroyed) return;
        const job = answer.job;
        if (status === 200 || answer.created === false)
          toast({ title: 'Already running', message: `A ${action} job with the same params is live; showing it.`, kind: 'info' });
        else toast({ title: `${action} started`, message: `${book.name} on ${record.name}`, kind: 'success' });
        ctx.navigate(`#/jobs/${encodeURIComponent(job.id)}`);
      } catch (error) {
        if (destroyed) return;
        const rest = error.status === 400 ? fields.showErrors(error.details) : error.details;
        // `unique`: a live job of this book with other params; say so and link to it.
        const live = error.status === 409 ? error.details.find((d) => d.job_id && d.field === 'params') : null;
        if (live) {
          summary.append(
            h(
              'p',
              {},
              `A ${action} job is already live on ${record.name} with other params (${JSON.stringify(live.params)}): `,
              h('a', { href: `#/jobs/${encodeURIComponent(live.job_id)}`, text: `job ${live.job_id.slice(0, 8)}` }),
              '. Wait for it to end or cancel it, then run again.',
            ),
          );
          summary.hidden = false;
          summary.focus();
          return;
        }
        const title =
          error.status === 400
            ? 'The API did not accept these parameters.'
            : error.status === 403
              ? `Not allowed: ${error.message}`
              : error.status === 409
                ? `Refused in this state: ${error.message}`
                : error.message;
        report(title, error.status === 400 ? rest : [], error.status === 400 ? error.details.length - rest.length : 0);
      } finally {
        submit.disabled = !confirmed();
        setText(submit, `Run ${action}`);
      }
    });

    function report(title, rest, nextToFields) {
      summary.append(h('p', { text: title }));
      if (nextToFields)
        summary.append(
          h('p', {
            class: 'muted',
            text: `${nextToFields} problem${nextToFields === 1 ? ' is' : 's are'} shown next to the field${nextToFields === 1 ? '' : 's'}.`,
          }),
        );
      if (rest.length)
        summary.append(
          h(
            'ul',
            {},
            rest.map((d) => h('li', { text: d.message ?? String(d.field) })),
          ),
        );
      summary.hidden = false;
      if (!nextToFields) summary.focus();
    }

    const about = h(
      'section',
      { class: 'card about', 'aria-labelledby': 'run-about' },
      h('h2', { id: 'run-about', text: 'Book' }),
      book.description ? h('p', { text: book.description }) : null,
      h(
        'dl',
        { class: 'facts' },
        h('div', {}, h('dt', { text: 'Book' }), h('dd', {}, h('code', { text: book.name }), book.version ? ` v${book.version}` : '')),
        h(
          'div',
          {},
          h('dt', { text: scope === 'deployment' ? 'Deployment' : scope }),
          h('dd', {}, record.name, scope === 'deployment' ? [' ', badge(record.state)] : null),
        ),
        allowed ? h('div', {}, h('dt', { text: 'Allowed from' }), h('dd', { text: allowed.join(', ') })) : null,
      ),
      refused
        ? h('p', {
            class: 'warning',
            text: `This ${scope} is '${record.state}': the book runs only from ${allowed.join(', ')}; the API will refuse it.`,
          })
        : null,
      !session.canOperate ? h('p', { class: 'warning', text: 'This token is read only: the API will refuse to start the job.' }) : null,
      Array.isArray(book.steps) && book.steps.length
        ? h(
            'details',
            { class: 'book-steps' },
            h('summary', { text: `${book.steps.length} step${book.steps.length === 1 ? '' : 's'}` }),
            h(
              'ol',
              {},
              book.steps.map((s) =>
                h(
                  'li',
                  {},
                  h('strong', { text: s.name }),
                  h('span', { class: 'muted', text: ` ${s.kind}` }),
                  s.description ? h('span', { text: ` · ${s.description}` }) : null,
                ),
              ),
            ),
          )
        : null,
    );
    return [h('div', { class: 'run-layout' }, formEl, about)];
  }

  return {
    destroy() {
      destroyed = true;
    },
  };
}
