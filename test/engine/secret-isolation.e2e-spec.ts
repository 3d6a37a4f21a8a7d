// A step sees only the secrets it lists (BOOKS.md section 4, issue 8 item 5). Filtering the
// step's own environment is not enough: a step runs as the server's user and may read any
// process's /proc/<pid>/environ, the server's included. So a real `quire serve` (engine on) and
// a `quire worker`, both started with QUIRE_SECRET_DEMO_TOKEN and DATABASE_URL, each run a step
// that lists no secret and dumps every environment it can read, `env` and `cat /proc/*/environ`,
// into files (not its output: the masker would hide the value there and prove nothing). Neither
// value may appear in them; the dump must hold the server's and the worker's entries (so their
// environments were really read).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QuireCluster, inventory } from '../support/processes.js';

const SECRET = 'demo-token-e2e-5b0d7a91';

const book = `name: svc.snoop
kind: svc
action: snoop
unique: none
steps:
  - name: snoop
    kind: shell
    run: >-
      env > {{deployment.vars.markers}}/{{job.id}}.env;
      for f in /proc/[0-9]*/environ; do tr '\\000' '\\n' < "$f" 2>/dev/null; done > {{deployment.vars.markers}}/{{job.id}}.proc;
      cat /proc/*/environ > /dev/null 2>&1; echo dumped
  - name: listed
    kind: shell
    secrets: [demo_token]
    run: 'printf %s "$DEMO_TOKEN" > {{deployment.vars.markers}}/{{job.id}}.listed'
`;

describe('engine: a step cannot read secrets it did not list', () => {
  let cluster: QuireCluster | undefined;

  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it.each(['serve', 'worker'] as const)('keeps the value out of every environment a step of `quire %s` can read', async (role) => {
    cluster = await QuireCluster.start({
      books: { 'inventory.yaml': inventory('svc', 1), 'svc.snoop.book.yaml': book },
      env: { QUIRE_SECRET_DEMO_TOKEN: SECRET },
    });
    // either the serve process runs the job, or (its engine off) the worker does
    await cluster.serve({ engine: role === 'serve', name: 'snoop-serve' });
    if (role === 'worker') await cluster.worker('snoop-worker');
    const jobId = await cluster.trigger('d1', 'snoop');
    const job = await cluster.finished(jobId, 45_000);
    expect({ state: job.state, error: job.error }).toEqual({ state: 'done', error: null });

    const env = readFileSync(join(cluster.markers, `${jobId}.env`), 'utf8');
    const proc = readFileSync(join(cluster.markers, `${jobId}.proc`), 'utf8');
    // The dump holds the engine's own environment (what proves it was readable) ...
    expect(proc).toContain(`QUIRE_WORKER_ID=snoop-${role}`);
    expect(proc).toContain(`QUIRE_BOOKS_DIR=${cluster.booksDir}`);
    // ... but neither the secret nor the database credentials, in any process's block.
    for (const [what, text] of Object.entries({ env, proc })) {
      expect({ what, secret: text.includes(SECRET) }).toEqual({ what, secret: false });
      expect({ what, database_url: text.includes(cluster.database.url) }).toEqual({ what, database_url: false });
    }
    // (by name only in the step's own environment: other test runs on this machine have theirs)
    expect(env.split('\n').filter((l) => /^(QUIRE_SECRET_|DATABASE_URL=)/.test(l))).toEqual([]);
    // The engine still has the secret, loaded once and kept in memory: a step that lists it gets it.
    expect(readFileSync(join(cluster.markers, `${jobId}.listed`), 'utf8')).toBe(SECRET);
    expect(cluster.logs(200)).not.toContain(SECRET);
  }, 90_000);
});
