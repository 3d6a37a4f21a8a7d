// Reads the literal text around each `{{value}}` to know where it lands: in `shell` mode,
// what quoting surrounds it; in `url` mode, which part of the URL it fills. Values inside a
// block are read as if the block ran once; a block must leave the shell quoting as it found it.
import { urlPosition, type UrlPosition } from './escaping.js';
import { SHELL_HAZARD_MESSAGES, ShellScanner } from './shell-context.js';
import {
  locationOf,
  SourceText,
  type BlockStatement,
  type ContentStatement,
  type MustacheStatement,
  type Program,
} from './template-ast.js';
import type { RenderMode, TemplateIssue } from './template.types.js';

/** What the escaping of one mustache needs to know besides the mode. */
export interface UrlSlot {
  position: UrlPosition;
  /** The template text after the value, to join a base URL with what follows. */
  following: string;
}

export interface SlotScan {
  urlSlots: Map<MustacheStatement, UrlSlot>;
  issues: TemplateIssue[];
}

/** Follows the literal text through a template, one branch at a time. */
interface Tracker {
  feed(text: string): void;
  value(node: MustacheStatement): void;
  fork(): Tracker;
  /** The state a block must leave as it found it; '' when anything goes. */
  key(): string;
}

export function scanSlots(program: Program, source: SourceText, mode: RenderMode): SlotScan {
  const scan: SlotScan = { urlSlots: new Map(), issues: [] };
  const tracker = trackerFor(mode, source, scan);
  if (tracker) walk(program, tracker, scan);
  return scan;
}

function trackerFor(mode: RenderMode, source: SourceText, scan: SlotScan): Tracker | null {
  if (mode === 'shell') return new ShellTracker(new ShellScanner(), source, scan);
  if (mode === 'url') return new UrlTracker('', source, scan);
  return null;
}

function walk(program: Program, tracker: Tracker, scan: SlotScan): void {
  for (const node of program.body) {
    if (node.type === 'ContentStatement') tracker.feed((node as ContentStatement).value);
    else if (node.type === 'MustacheStatement') tracker.value(node as MustacheStatement);
    else if (node.type === 'BlockStatement') walkBlock(node as BlockStatement, tracker, scan);
  }
}

/** Each branch starts from the state before the block and must end in it. */
function walkBlock(block: BlockStatement, tracker: Tracker, scan: SlotScan): void {
  const before = tracker.key();
  for (const branch of [block.program, block.inverse]) {
    if (!branch) continue;
    const fork = tracker.fork();
    walk(branch, fork, scan);
    if (fork.key() !== before) {
      const name = block.path.original;
      scan.issues.push({
        ...locationOf(block),
        message: `quotes, backquotes, comments or here-documents opened inside {{#${name}}} must end inside it`,
        severity: 'error',
      });
    }
  }
}

function rawWarning(node: MustacheStatement, source: SourceText, scan: SlotScan): void {
  scan.issues.push({
    ...locationOf(node),
    message: `${source.text(node)} inserts raw text, not escaped: use {{...}} unless the text is trusted`,
    severity: 'warning',
  });
}

class ShellTracker implements Tracker {
  constructor(
    private readonly scanner: ShellScanner,
    private readonly source: SourceText,
    private readonly scan: SlotScan,
  ) {}

  feed(text: string): void {
    this.scanner.feed(text);
  }

  value(node: MustacheStatement): void {
    if (!node.escaped) rawWarning(node, this.source, this.scan);
    const hazard = node.escaped ? this.scanner.hazard() : null;
    if (hazard) {
      const message = `${this.source.text(node)} ${SHELL_HAZARD_MESSAGES[hazard]}`;
      this.scan.issues.push({ ...locationOf(node), message, severity: 'error' });
    }
    this.scanner.insertValue();
  }

  fork(): Tracker {
    return new ShellTracker(this.scanner.clone(), this.source, this.scan);
  }

  key(): string {
    return this.scanner.key();
  }
}

/** A stand-in for each kind of value, so the text before a later value keeps its shape. */
const PLACEHOLDERS: Readonly<Record<UrlPosition, string>> = {
  base: 'http://h',
  authority: 'h',
  path: 'p',
  query: 'q',
  fragment: 'f',
};

class UrlTracker implements Tracker {
  constructor(
    private text: string,
    private readonly source: SourceText,
    private readonly scan: SlotScan,
  ) {}

  feed(text: string): void {
    this.text += text;
  }

  value(node: MustacheStatement): void {
    if (!node.escaped) rawWarning(node, this.source, this.scan);
    const position = urlPosition(this.text);
    this.scan.urlSlots.set(node, { position, following: this.source.after(node) });
    this.text += PLACEHOLDERS[position];
  }

  fork(): Tracker {
    return new UrlTracker(this.text, this.source, this.scan);
  }

  key(): string {
    return '';
  }
}
