// Several statements of one transaction sent in one round trip (issue 9). node-postgres sends
// each query only after the previous one answered, and on this 2-core VM every round trip costs
// the worker a socket write and PostgreSQL a backend wake-up (a third of a draining worker's CPU
// was `writev`). The simple query protocol takes several statements in one message but no
// parameters, so each statement's values are inlined here as literals: every value is turned
// into the text node-postgres would send as that parameter (prepareValue) and quoted with
// escapeLiteral, so a value is always one literal wherever it came from.
import pg from 'pg';
import { createRequire } from 'node:module';

const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as { prepareValue(value: unknown): string | Buffer | null };

export interface Statement {
  text: string;
  values?: unknown[];
}

/** One statement's text with its `$n` parameters replaced by literals (see above). */
export function inlined({ text, values = [] }: Statement): string {
  return text.replace(/\$(\d+)/g, (whole, n: string) => {
    const i = Number(n) - 1;
    if (i >= values.length) throw new Error(`statement refers to ${whole} but has ${values.length} value(s)`);
    const value = prepareValue(values[i]);
    if (value === null) return 'NULL';
    if (typeof value !== 'string') throw new Error(`${whole}: binary values are not inlined`);
    return pg.escapeLiteral(value);
  });
}

interface SimpleClient {
  query(text: string): Promise<unknown>;
}

/** Sends the statements in one simple query; the rows of each, in order. */
export async function oneTrip(client: SimpleClient, statements: (Statement | string)[]): Promise<unknown[][]> {
  const text = statements.map((s) => (typeof s === 'string' ? s : inlined(s))).join(';\n');
  const results = await client.query(text);
  return ([] as { rows?: unknown[] }[]).concat(results as never).map((r) => r.rows ?? []);
}
