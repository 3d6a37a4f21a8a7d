// The contract between the template engine and its users (book validator, job compiler,
// step runner). Implemented in template-engine.ts.

/**
 * Where a rendered value lands; decides its escaping (BOOKS.md section 5).
 * - `text`: plain text (description, instructions, env values, argv elements, cwd, lock keys).
 * - `shell`: a `run` command line; every `{{value}}` becomes exactly one POSIX sh word.
 * - `url`: a URL; values are checked or percent-encoded by their position in it.
 * - `json`: a string leaf of a structured value (body, serialize, params of a trigger);
 *   a leaf that is exactly one `{{expr}}` keeps the value's JSON type.
 * - `header`: an HTTP header value; CR and LF are refused.
 */
export type RenderMode = 'text' | 'shell' | 'url' | 'json' | 'header';

/** A path a template reads, e.g. `{{deployment.vars.host}}` → ['deployment','vars','host']. */
export interface TemplateReference {
  path: string[];
  /** 1-based line and column of the `{{` inside the template source. */
  line: number;
  col: number;
  /** true when the reference is the first argument of `default`, so absence is allowed. */
  optional: boolean;
  /** true when found inside a block (`#each`, `#with`), where it is relative to the block's context. */
  inBlock: boolean;
}

/** A problem in a template's text, located inside the template source (1-based). */
export interface TemplateIssue {
  line: number;
  col: number;
  message: string;
  severity: 'error' | 'warning';
}

export interface RenderContext {
  deployment?: { id: string; name: string; kind: string; vars: Record<string, unknown>; state?: string };
  group?: { id: string; name: string; vars: Record<string, unknown> } | null;
  cluster?: { id: string; name: string; vars: Record<string, unknown> } | null;
  params?: Record<string, unknown>;
  job?: { id: string; action: string; triggered_by: string };
  book?: { name: string; version: string };
  step?: { data: Record<string, unknown> };
  steps?: Record<string, { output: Record<string, unknown> }>;
  secrets?: Record<string, string>;
}

/** Raised by rendering; `path` names the missing reference when that is the cause. */
export class TemplateError extends Error {
  constructor(
    message: string,
    readonly path?: string,
    readonly line?: number,
    readonly col?: number,
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}

/** A template that does not parse; `reason` says why, without the position the fields hold. */
export class TemplateSyntaxError extends TemplateError {
  constructor(
    readonly reason: string,
    line: number,
    col: number,
  ) {
    super(`template syntax error at line ${line}, col ${col}: ${reason}`, undefined, line, col);
    this.name = 'TemplateSyntaxError';
  }
}
