// The REST API: every call carries the session's token; errors become ApiError with the
// API's `{ error, message, details }`.

const TOKEN_KEY = 'quire.token';
const ROLE_KEY = 'quire.role';

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
  /** 'operator' when the token may trigger, cancel and resume; 'viewer' when it may only read. */
  get role() {
    return sessionStorage.getItem(ROLE_KEY) ?? 'operator';
  },
  set role(value) {
    if (value) sessionStorage.setItem(ROLE_KEY, value);
    else sessionStorage.removeItem(ROLE_KEY);
  },
  get canOperate() {
    return this.role !== 'viewer';
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(ROLE_KEY);
  },
};

/**
 * The server's clock, for elapsed times of running steps: the Date header of API answers
 * (second resolution, so differences under two seconds are taken as none).
 */
let skewMs = 0;
function noteServerDate(header) {
  const server = header ? Date.parse(header) : NaN;
  if (!Number.isFinite(server)) return;
  const skew = server - Date.now();
  skewMs = Math.abs(skew) < 2000 ? 0 : skew;
}
export const serverNow = () => Date.now() + skewMs;

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error ?? 'error';
    this.details = Array.isArray(body?.details) ? body.details : [];
  }
}

/** Called with the ApiError whenever the API answers 401: the session is over. */
let onUnauthorized = () => {};
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

export async function api(method, path, body, { token = session.token, quiet401 = false } = {}) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: {
        accept: 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch (error) {
    throw new ApiError(0, { error: 'network', message: `cannot reach the service (${error.message})` });
  }
  noteServerDate(response.headers.get('date'));
  const text = await response.text();
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = { message: text.slice(0, 300) };
  }
  if (!response.ok) {
    const error = new ApiError(response.status, parsed);
    if (response.status === 401 && !quiet401) onUnauthorized(error);
    throw error;
  }
  return { status: response.status, body: parsed };
}

/**
 * A view's refresh: one read at a time, and one more after it when asked meanwhile, since the
 * read in flight may predate the change that asked (its answer could be older than events the
 * view applied since). `read` returns a promise; `stopped()` says the view is gone.
 */
export function serialReads(read, stopped) {
  let loading = null;
  let again = false;
  const refresh = () => {
    if (loading) {
      again = true;
      return loading;
    }
    loading = Promise.resolve()
      .then(read)
      .finally(() => {
        loading = null;
        if (again && !stopped()) {
          again = false;
          void refresh();
        }
      });
    return loading;
  };
  return refresh;
}

export const get = (path, options) => api('GET', path, undefined, options).then((r) => r.body);
export const post = (path, body = {}, options) => api('POST', path, body, options);

export const q = (params) => {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
};

/** The token's role, as `GET /api/me` tells any valid token (viewer, operator or admin). */
export async function probeRole(token) {
  const { body } = await api('GET', '/api/me', undefined, { token, quiet401: true });
  return body.role;
}
