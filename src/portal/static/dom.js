// DOM building without innerHTML: every piece of text from the API goes through textContent
// (or a text node), so nothing the server returns is ever parsed as markup.

/**
 * h('a', { href: '#/jobs', class: 'link', onclick: fn }, 'text', child, [more, children])
 * Attributes: `class`, `text` (textContent), `on<event>` (listeners), `dataset`, booleans
 * (true sets the attribute empty, false/null/undefined leaves it out), anything else as-is.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'value' && 'value' in el) el.value = String(value);
    else if (key === 'checked' || key === 'selected') el[key] = !!value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** Sets text only when it changed (keeps screen readers and selections quiet). */
export function setText(el, text) {
  const value = text === null || text === undefined ? '' : String(text);
  if (el.textContent !== value) el.textContent = value;
}

let ids = 0;
export const uid = (prefix = 'id') => `${prefix}-${++ids}`;

/** 75 -> "1 m 15 s"; 3700 -> "1 h 01 m"; null -> "–" */
export function formatSeconds(value) {
  if (value === null || value === undefined || !Number.isFinite(Number(value))) return '–';
  let s = Math.max(0, Number(value));
  if (s < 10) return `${s.toFixed(s < 1 && s > 0 ? 1 : 0).replace(/\.0$/, '')} s`;
  s = Math.round(s);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} m`;
}

export function formatDate(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const sameDay = d.toDateString() === new Date().toDateString();
  return sameDay ? d.toLocaleTimeString() : d.toLocaleString();
}

/** "5 s ago", "3 m ago", or the date. */
export function formatAgo(iso) {
  if (!iso) return '–';
  const seconds = (Date.now() - new Date(iso).getTime()) / 1000;
  if (!Number.isFinite(seconds)) return String(iso);
  if (seconds < 5) return 'just now';
  if (seconds < 3600) return `${formatSeconds(seconds)} ago`;
  return formatDate(iso);
}

export function time(iso, format = formatDate) {
  return h('time', { datetime: iso ?? undefined, title: iso ? new Date(iso).toLocaleString() : undefined, text: format(iso) });
}

/** A state as a badge: the word itself is always shown, the colour only repeats it. */
export function badge(state) {
  const el = h('span', { class: 'badge' });
  setBadge(el, state);
  return el;
}

export function setBadge(el, state) {
  const value = state ?? 'unknown';
  setText(el, value);
  el.className = `badge state-${String(value).replace(/[^a-z0-9_-]/gi, '')}`;
}

export const shortId = (id) => (id ? String(id).slice(0, 8) : '');

/** Moves focus to the page's heading so keyboard and screen reader users start at the top. */
export function focusHeading(root) {
  const heading = root.querySelector('h1');
  if (!heading) return;
  heading.setAttribute('tabindex', '-1');
  heading.focus({ preventScroll: false });
}

/** Runs `render` (which replaces children of `container`) and puts the focus back where it was. */
export function focusKeep(container, render) {
  const active = document.activeElement;
  const inside = active && active !== document.body && container.contains(active);
  const key = inside ? (active.dataset?.key ?? active.id ?? '') : '';
  render();
  if (!key) return;
  const again = container.querySelector(`[data-key="${CSS.escape(key)}"]`) ?? (active.id ? document.getElementById(active.id) : null);
  again?.focus({ preventScroll: true });
}
