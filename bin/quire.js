#!/usr/bin/env -S node --max-semi-space-size=2 --heap-growing-percent=50
// Entry point of the `quire` command; the compiled code lives in dist/ (built by `npm ci`).
//
// --max-semi-space-size=2 (MB; Node 20's default lets it grow to 16): a busy worker's young
// generation grew to 32 MB, a third of its memory. Capped, a worker draining 2,000 jobs peaked
// at 125-139 MB against 168-174 MB, with the same CPU per job (1.73-1.85 ms against
// 1.73-1.88; bench/peers.mjs measures it, issue 9).
//
// --heap-growing-percent=50: the old generation may grow to 1.5× what survived the last full
// collection before the next one (V8 picks up to 4× by itself when it allocates fast). A worker's
// live heap is 30-40 MB, but draining 6,000 one-step jobs its heap grew to 113-122 MB and its
// RSS to 174-194 MB; with this flag, 119 MB at most (115 with 25), with no more CPU per job
// (1.50 against 1.83-1.86 ms, bench/profile-job.mjs).
//
// The flags live here alone: `npm start` runs this file as a program, and the benchmarks start
// `quire` with the flags of this line.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('quire is not built yet: run `npm run build` (npm ci does it too)');
  process.exit(1);
}
await import(main.href);
