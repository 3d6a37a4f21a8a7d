// Named secrets, resolved when a step starts: from QUIRE_SECRET_<NAME> environment variables
// or from a secrets file (QUIRE_SECRETS_FILE: JSON object or KEY=VALUE lines). They reach steps
// as environment variables and `secrets.<name>` in templates; they are never stored, and every
// occurrence of a value in output is masked.
import { readFileSync } from 'node:fs';

export class SecretsProvider {
  private readonly values = new Map<string, string>();

  constructor(env: NodeJS.ProcessEnv = process.env) {
    for (const [key, value] of Object.entries(env)) {
      if (key.startsWith('QUIRE_SECRET_') && value) this.values.set(key.slice('QUIRE_SECRET_'.length).toLowerCase(), value);
    }
    if (env.QUIRE_SECRETS_FILE) this.loadFile(env.QUIRE_SECRETS_FILE);
  }

  private loadFile(path: string): void {
    const text = readFileSync(path, 'utf8');
    const trimmed = text.trim();
    const entries: [string, unknown][] = trimmed.startsWith('{')
      ? Object.entries(JSON.parse(trimmed) as Record<string, unknown>)
      : trimmed
          .split('\n')
          .map((line) => line.trim())
          .filter((line) => line && !line.startsWith('#') && line.includes('='))
          .map((line) => [line.slice(0, line.indexOf('=')).trim(), line.slice(line.indexOf('=') + 1).trim()]);
    for (const [name, value] of entries) if (typeof value === 'string' && value) this.values.set(name.toLowerCase(), value);
  }

  /** The named secrets, or an error naming those that are not configured. */
  resolve(names: string[]): { values: Record<string, string>; missing: string[] } {
    const values: Record<string, string> = {};
    const missing: string[] = [];
    for (const name of names) {
      const value = this.values.get(name.toLowerCase());
      if (value === undefined) missing.push(name);
      else values[name] = value;
    }
    return { values, missing };
  }

  /** The names of the configured secrets (lower case), never their values: what a `when` decided at job creation may know. */
  names(): Set<string> {
    return new Set(this.values.keys());
  }

  /** Every configured value, for masking: a secret must not leak even through a step that did not ask for it. */
  allValues(): string[] {
    return [...this.values.values()];
  }
}

/** `db_password` → `DB_PASSWORD`: how a secret appears in a step's environment. */
export function secretEnvName(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}
