// Preloaded into a worker by bench/profile-job.mjs (NODE_OPTIONS=--import): counts the
// statements this process sends through pg, by their first words, and writes the counts to
// $QUIRE_COUNT_FILE on SIGUSR2 (the bench asks) so it can divide them by the jobs drained.
// createRequire from the project root: the same pg module TypeORM loads.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../package.json', import.meta.url));
const pg = require('pg');
const counts = new Map();
const original = pg.Client.prototype.query;
pg.Client.prototype.query = function (config, ...rest) {
  const text = typeof config === 'string' ? config : (config && config.text) || '';
  // A copy, not a slice: V8 keeps a slice's whole source string alive, and a batch of writes
  // (src/db/write-batcher.ts) is a new text every time, kilobytes each.
  const key = [...text.trim().replace(/\s+/g, ' ').slice(0, 60)].join('');
  counts.set(key, (counts.get(key) ?? 0) + 1);
  return original.call(this, config, ...rest);
};
process.on('SIGUSR2', () => writeFileSync(process.env.QUIRE_COUNT_FILE, JSON.stringify(Object.fromEntries(counts))));
