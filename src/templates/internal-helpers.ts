// Helpers the engine inserts when it rewrites a template (template-rewrite.ts); authors cannot
// call them (names starting with `__` are refused). They carry what the rewrite knew about
// each value (mode, URL position, label, location) as hash arguments.
import type { HelperOptions } from 'handlebars';

import { escapeUrlValue, headerValue, shellWord, type UrlPosition } from './escaping.js';
import { TemplateError, type RenderMode } from './template.types.js';
import { outputPrefix } from '../steps/output/output-marker.js';

export const OUT_HELPER = '__quire_out';
export const DEFINED_HELPER = '__quire_defined';
export const CAPTURE_HELPER = '__quire_capture';
export const OUTPUT_MARKER_HELPER = '__quire_output_marker';

/** Where a value came from, for error messages. */
export interface ValueSite {
  /** The dotted path when the value is a plain reference. */
  path?: string;
  /** The expression as written, e.g. `{{upper x}}`. */
  label: string;
  line: number;
  col: number;
  /** The value went through `default`, so null and undefined render as ''. */
  optional: boolean;
}

export interface OutSite extends ValueSite {
  mode: RenderMode;
  position?: UrlPosition;
  following?: string;
}

/** Holds the value of a single-mustache template rendered with its type kept. */
export interface Capture {
  value: unknown;
}

export const internalHelpers = {
  /** Writes one value, escaped for the mode (and URL position) of its place. */
  [OUT_HELPER](value: unknown, options: HelperOptions): string {
    const site = options.hash as OutSite;
    const text = toText(value, site);
    try {
      return escapeFor(text, site);
    } catch (error) {
      throw located(error, site);
    }
  },

  /** Passes a value an expression reads through, refusing one that does not exist. */
  [DEFINED_HELPER](value: unknown, options: HelperOptions): unknown {
    if (value === undefined) throw notDefined(options.hash as ValueSite);
    return value;
  },

  /** Keeps the value itself instead of writing it, for `renderValue`. */
  [CAPTURE_HELPER](value: unknown, options: HelperOptions): string {
    const site = options.hash as ValueSite;
    if (value === undefined && !site.optional) throw notDefined(site);
    (options.data as { quireCapture: Capture }).quireCapture.value = value ?? null;
    return '';
  },

  /** Stands for an `::output ` the author wrote: the attempt's tokenised marker (output-marker.ts). */
  [OUTPUT_MARKER_HELPER](options: HelperOptions): string {
    return outputPrefix((options.data as { quireOutputToken: string }).quireOutputToken);
  },
};

/**
 * The text of a value: strings as they are, numbers and booleans via String, structures as
 * JSON. Absent values are '' only when optional; a non-optional null is the JSON `null`.
 */
export function toText(value: unknown, site: ValueSite): string {
  if (value === undefined || value === null) {
    if (site.optional) return '';
    if (value === undefined) throw notDefined(site);
    return 'null';
  }
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value) ?? '';
}

function escapeFor(text: string, site: OutSite): string {
  switch (site.mode) {
    case 'shell':
      return shellWord(text);
    case 'url':
      return escapeUrlValue(text, site.position ?? 'path', site.following ?? '');
    case 'header':
      return headerValue(text);
    case 'text':
    case 'json':
      // Not HTML: text is used as is, and a JSON leaf is serialized by its caller.
      return text;
  }
}

function notDefined(site: ValueSite): TemplateError {
  const message = site.path ? `${site.path} is not defined` : `${site.label} has no value`;
  return new TemplateError(message, site.path, site.line, site.col);
}

function located(error: unknown, site: ValueSite): TemplateError {
  const message = error instanceof Error ? error.message : String(error);
  return new TemplateError(`${site.label} at line ${site.line}, col ${site.col}: ${message}`, site.path, site.line, site.col);
}
