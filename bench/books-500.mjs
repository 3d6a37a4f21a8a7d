#!/usr/bin/env node
// How long validating and compiling a 500-step book takes (issue 2), beside the floor of just
// parsing its YAML with the `yaml` package in the same process. Needs `npm run build`.
//   node bench/books-500.mjs [--steps 500] [--rounds 5]
import { parseDocument } from 'yaml';
import { validateBookSource } from '../dist/src/books/book-validator.js';
import { compileJob } from '../dist/src/jobs/job-compiler.js';
import { handlerRegistry } from '../dist/src/steps/demo.handlers.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const STEPS = arg('steps', 500);
const ROUNDS = arg('rounds', 5);

const steps = Array.from({ length: STEPS }, (_, i) => {
  const previous = i > 0 ? ` {{steps.s${i - 1}.output.mark}}` : '';
  return `  - name: s${i}
    kind: shell
    description: step ${i} of {{deployment.name}}
    serialize:
      dir: "/srv/{{deployment.name}}/{{params.release}}/${i}"
      replicas: "{{params.replicas}}"
    run: "echo {{step.data.dir}} {{deployment.vars.host}}${previous} && echo ::output mark=m${i}"
    estimated_duration: ${1 + (i % 7)}s
    retry: { max_attempts: 2, delay: 1s }`;
});
const source = `name: big.deploy
kind: big
action: deploy
params:
  type: object
  properties:
    release: { type: string, default: "1.0" }
    replicas: { type: integer, default: 2 }
steps:
${steps.join('\n')}
`;
const ctx = { handlers: handlerRegistry.handlerNames(), serializeHandlers: handlerRegistry.serializerNames() };
const time = (fn) => {
  const t0 = performance.now();
  const result = fn();
  return { ms: performance.now() - t0, result };
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const parse = [];
const validate = [];
const compile = [];
let book;
for (let round = 0; round < ROUNDS; round++) {
  parse.push(time(() => parseDocument(source).toJS()).ms);
  const v = time(() => validateBookSource('big.book.yaml', source, ctx));
  if (v.result.problems.length) throw new Error(v.result.problems.map((p) => p.message).join('\n'));
  book = v.result.book;
  validate.push(v.ms);
  const t0 = performance.now();
  await compileJob({
    bookVersion: { id: `v${round}`, name: book.name, hash: 'h'.repeat(64), author_version: null, definition: book },
    target: {
      deployment: { id: '00000000-0000-4000-8000-000000000001', name: 'web-1', kind: 'big', vars: { host: '10.0.0.1' }, state: 'draft' },
      group: null,
      cluster: null,
    },
    params: {},
    triggeredBy: 'bench',
    history: new Map(),
    learnMinSamples: 3,
    handlers: handlerRegistry,
  });
  compile.push(performance.now() - t0);
}
console.log(`a ${STEPS}-step book (${source.length} bytes, ${source.split('\n').length} lines), median of ${ROUNDS} rounds (first round ${validate[0].toFixed(0)} ms cold):`);
console.log(`  yaml parse only (floor):   ${median(parse).toFixed(1)} ms`);
console.log(`  validate (both phases):    ${median(validate).toFixed(1)} ms   (${(median(validate) / median(parse)).toFixed(1)}× the bare parse)`);
console.log(`  compile into a job:        ${median(compile).toFixed(1)} ms`);
