// Toasts: short messages in a polite live region (errors stay until dismissed).
import { h } from './dom.js';

const TTL_MS = 6000;

function region() {
  return document.getElementById('toasts');
}

/** kind: 'info' | 'success' | 'error'; link: { href, text } */
export function toast({ title, message = '', kind = 'info', link = null, ttl = kind === 'error' ? 0 : TTL_MS }) {
  const container = region();
  if (!container) return;
  const close = h('button', { type: 'button', class: 'toast-close', 'aria-label': `Dismiss: ${title}`, text: '×' });
  const el = h(
    'div',
    { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : undefined },
    h(
      'div',
      { class: 'toast-body' },
      h('strong', { class: 'toast-title', text: title }),
      message ? h('p', { class: 'toast-message', text: message }) : null,
      link ? h('a', { href: link.href, text: link.text }) : null,
    ),
    close,
  );
  const remove = () => el.remove();
  close.addEventListener('click', remove);
  let timer = ttl ? setTimeout(remove, ttl) : null;
  // Keep it while the pointer or the keyboard is on it.
  const hold = () => timer && clearTimeout(timer);
  const release = () => ttl && (timer = setTimeout(remove, ttl / 2));
  el.addEventListener('mouseenter', hold);
  el.addEventListener('focusin', hold);
  el.addEventListener('mouseleave', release);
  el.addEventListener('focusout', release);
  container.append(el);
  while (container.children.length > 5) container.firstElementChild.remove();
}

const shown = new Set();
const openedAt = Date.now();

/** A `notification` from socket.io: shown once, and not for outcomes from before the page opened. */
export function notificationToast(notification) {
  if (!notification) return;
  const key = notification.seq ?? `${notification.job_id}:${notification.state}`;
  if (shown.has(key)) return;
  shown.add(key);
  const at = notification.at ? Date.parse(notification.at) : Date.now();
  if (Number.isFinite(at) && at < openedAt - 5000) return;
  const kind = notification.state === 'done' ? 'success' : notification.state === 'error' ? 'error' : 'info';
  toast({
    title: notification.title ?? `job ${notification.state}`,
    message: notification.message ?? '',
    kind,
    link: notification.job_id ? { href: `#/jobs/${encodeURIComponent(notification.job_id)}`, text: 'Open the job' } : null,
  });
}
