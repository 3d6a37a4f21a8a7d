// Sign in with an API token (`quire token create`, or the first admin token in .quire/admin-token).
import { h, setText } from './dom.js';
import { get } from './api.js';

export function mountSignIn(root, { onSignedIn }) {
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
    spellcheck: 'false',
    'aria-describedby': 'token-hint token-error',
  });
  const error = h('p', { id: 'token-error', class: 'field-error', hidden: true });
  const button = h('button', { type: 'submit', text: 'Sign in' });
  const form = h(
    'form',
    { class: 'card signin', novalidate: true },
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'token', text: 'API token' }),
      input,
      h('p', {
        id: 'token-hint',
        class: 'field-hint',
        text: 'Kept in this browser tab only (session storage) until you sign out or close it.',
      }),
      error,
    ),
    h('div', { class: 'form-actions' }, button),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    error.hidden = true;
    input.removeAttribute('aria-invalid');
    if (!token) return fail('Enter a token.');
    button.disabled = true;
    setText(button, 'Signing in…');
    try {
      await get('/api/clusters', { token, quiet401: true });
      await onSignedIn(token);
    } catch (e) {
      fail(e.status === 401 ? `The API refused this token: ${e.message}` : e.message);
    } finally {
      button.disabled = false;
      setText(button, 'Sign in');
    }
  });
  function fail(message) {
    setText(error, message);
    error.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  }
  root.append(
    h(
      'section',
      { class: 'signin-page', 'aria-labelledby': 'signin-title' },
      h('h1', { id: 'signin-title', text: 'Sign in to Quire' }),
      h(
        'p',
        { class: 'muted' },
        'Paste an API token. The first start of the service writes an admin token to ',
        h('code', { text: '.quire/admin-token' }),
        '; an admin creates more with ',
        h('code', { text: 'quire token create --role operator' }),
        '.',
      ),
      form,
    ),
  );
  input.focus();
  return { destroy() {} };
}
