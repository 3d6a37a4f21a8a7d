import { Cluster, inventory, sleep, until } from './engine-cluster.mjs';
const cluster = await Cluster.start({ name: 'lat', books: { 'inventory.yaml': inventory('b', 50), 'h.book.yaml': `name: b.h\nkind: b\naction: h\nunique: none\nsteps:\n  - { name: s1, kind: handler, handler: demo.plan-layout }\n` }, env: { QUIRE_CHANNELS: 'default:64' } });
try {
  await cluster.serve();
  const w = await cluster.worker('w1');
  await sleep(500);
  const ids = [];
  for (let i = 0; i < 200; i++) { const t = Date.now(); ids.push([await cluster.trigger(`d${1 + (i % 50)}`, 'h'), Date.now() - t]); await sleep(50); }
  await until('done', async () => Number((await cluster.db.query(`SELECT count(*) n FROM jobs WHERE state='done'`)).rows[0].n) === 200, 60000);
  const all = (await cluster.db.query(`SELECT EXTRACT(EPOCH FROM date_running - date_created)*1000 AS run FROM jobs`)).rows.map((r) => Number(r.run)).sort((a, b) => a - b);
  const apis = ids.map((x) => x[1]).sort((a, b) => a - b);
  const q = (a, p) => a[Math.min(a.length - 1, Math.floor((a.length * p) / 100))].toFixed(1);
  console.log(`running p50 ${q(all, 50)} p90 ${q(all, 90)} p99 ${q(all, 99)} max ${q(all, 100)} | api p50 ${q(apis, 50)} p90 ${q(apis, 90)} p99 ${q(apis, 99)} max ${q(apis, 100)}`);
  const { rows } = await cluster.db.query(`SELECT id, EXTRACT(EPOCH FROM date_scheduled - date_created)*1000 AS sched, EXTRACT(EPOCH FROM date_running - date_created)*1000 AS run, date_created FROM jobs ORDER BY date_running - date_created DESC LIMIT 0`);
  const api = new Map(ids);
  for (const r of rows) console.log(r.id, 'sched', Number(r.sched).toFixed(1), 'running', Number(r.run).toFixed(1), 'api ms', api.get(r.id), r.date_created.toISOString());
  await w.kill('SIGTERM');
} finally { await cluster.close(); }
