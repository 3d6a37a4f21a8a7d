// Named secrets, resolved when a step starts: from QUIRE_SECRET_<NAME> environment variables
// or from a secrets file (QUIRE_SECRETS_FILE: JSON object or KEY=VALUE lines). They reach steps
// as environment variables and `secrets.<name>` in templates; they are never stored, and every
// occurrence of a value in output is masked.
//
// Steps run as the server's user, so a step can read the server's /proc/<pid>/environ: the
// process takes its secrets and credentials out of its environment once, at start
// (`processSecrets()`), and keeps them only in memory.
import { readFileSync } from 'node:fs';
import { eraseFromInitialEnviron, type EraseResult } from './initial-environ.js';

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

/** Credentials besides QUIRE_SECRET_*: what the server needs but no step may read. */
const CREDENTIAL_NAMES: readonly string[] = ['DATABASE_URL', 'QUIRE_SECRETS_FILE', 'QUIRE_SMTP_URL', 'PGPASSWORD'];

/** Credentials that libraries look up in process.env themselves, so they must stay there. */
const READ_BY_LIBRARIES: readonly string[] = ['PGPASSWORD'];

/** A variable that holds a secret or a credential (`QUIRE_TOKEN`, `*_PASSWORD`, ...). */
export function isCredentialName(name: string): boolean {
  return name.startsWith('QUIRE_SECRET_') || CREDENTIAL_NAMES.includes(name) || /(^|_)(TOKEN|PASSWORD|PASSWD|SECRET|API_KEY)$/.test(name);
}

export interface ProcessSecrets {
  /** the environment as this process started, credentials included: for `loadConfig` and the CLI's client */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** the names taken out of `process.env` */
  readonly removed: readonly string[];
  /** what became of them in /proc/self/environ */
  readonly environ: EraseResult;
  /** the named secrets for steps (the secrets file is read on first use) */
  readonly secrets: SecretsProvider;
}

let taken: ProcessSecrets | undefined;

/**
 * This process's secrets, read once: the first call copies the environment, deletes every
 * credential from `process.env` (so no child inherits it by accident) and erases it from the
 * initial environment block behind /proc/self/environ. `quire` calls it before anything else.
 */
export function processSecrets(): ProcessSecrets {
  if (taken) return taken;
  const env: Record<string, string | undefined> = { ...process.env };
  const removed = Object.keys(env).filter(isCredentialName);
  for (const name of removed) delete process.env[name];
  const environ = eraseFromInitialEnviron(isCredentialName);
  // The pg driver reads PGPASSWORD from process.env when it connects: it goes back, as a copy
  // on the heap (setenv), which /proc/<pid>/environ does not show; children get explicit envs.
  for (const name of READ_BY_LIBRARIES) if (env[name] !== undefined) process.env[name] = env[name];
  let secrets: SecretsProvider | undefined;
  taken = {
    env,
    removed,
    environ,
    get secrets() {
      secrets ??= new SecretsProvider(env);
      return secrets;
    },
  };
  return taken;
}
