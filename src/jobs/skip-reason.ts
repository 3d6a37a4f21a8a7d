// Why a `when` skipped something, in words a person reads on the job page: the template's
// source and its raw rendering ("when '{{not params.x}}' rendered 'false'") read like an error
// and, in the portal, were shown as one.

const SOLE_MUSTACHE = /^\s*\{\{~?\s*([^{}]+?)\s*~?\}\}\s*$/;
const PLAIN_PATH = /^[A-Za-z_][\w-]*(\.[\w-]+)*$/;
const MAX_VALUE = 80;

/**
 * `skipped: params.fail_verify is false` for a `when` that is one reference; an expression is
 * quoted whole, without its braces: `skipped: (not params.fail_verify) is false`. A secret
 * reference is never followed by its value (a helper over a secret yields only its result).
 */
export function describeSkip(when: string, rendered: string): string {
  const expression = SOLE_MUSTACHE.exec(when)?.[1]?.trim();
  const value = describeValue(rendered);
  if (expression && PLAIN_PATH.test(expression)) {
    if (expression.startsWith('secrets.')) return `skipped: ${expression} is not set`;
    return `skipped: ${expression} is ${value}`;
  }
  if (expression) return `skipped: (${expression}) is ${value}`;
  // Text around the mustaches: what it rendered is all there is to say (masked by the caller).
  return `skipped: its condition is ${value}`;
}

function describeValue(rendered: string): string {
  const text = rendered.trim();
  if (text === '') return 'empty';
  if (text === 'false' || text === '0' || text === 'null' || text === 'undefined') return text === 'undefined' ? 'not set' : text;
  return `'${text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE)}…` : text}'`;
}
