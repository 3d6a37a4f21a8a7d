#!/usr/bin/env node
// Entry point of the `quire` command; the compiled code lives in dist/ (built by `npm ci`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('quire is not built yet: run `npm run build` (npm ci does it too)');
  process.exit(1);
}
await import(main.href);
