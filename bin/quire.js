#!/usr/bin/env -S node --max-semi-space-size=2
// Entry point of the `quire` command; the compiled code lives in dist/ (built by `npm ci`).
//
// --max-semi-space-size=2 (MB; Node 20's default lets it grow to 16): a busy worker's young
// generation grew to 32 MB, a third of its memory. Capped, a worker draining 2,000 jobs peaked
// at 125-139 MB against 168-174 MB, with the same CPU per job (1.73-1.85 ms against
// 1.73-1.88; bench/peers.mjs measures it, issue 9). The flag lives here alone: `npm start`
// runs this file as a program, and the benchmarks start `quire` with the flags of this line.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('quire is not built yet: run `npm run build` (npm ci does it too)');
  process.exit(1);
}
await import(main.href);
