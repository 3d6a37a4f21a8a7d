// The fleet at a glance (issue 10): one page of deployments, filtered, each with its last job
// and the job that set its current state (its "current release"). Paged in SQL and joined to
// jobs only for the page, so 10,000 deployments cost one page's worth of index reads.
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Principal } from '../auth/principal.js';

export interface FleetFilter {
  cluster?: string;
  group?: string;
  kind?: string;
  state?: string;
  /** part of the deployment's name */
  q?: string;
  /** a last error, or a job waiting for a person */
  attention?: boolean;
  offset?: number;
  limit?: number;
}

interface FleetRow {
  id: string;
  name: string;
  kind: string;
  state: string;
  last_error: string | null;
  vars: Record<string, unknown>;
  group_id: string | null;
  group_name: string | null;
  cluster_id: string | null;
  cluster_name: string | null;
  waiting: boolean;
  lj_id: string | null;
  lj_action: string;
  lj_book: string;
  lj_state: string;
  lj_created: Date;
  lj_running: Date | null;
  lj_done: Date | null;
  sj_id: string | null;
  sj_action: string;
  sj_book: string;
  sj_params: Record<string, unknown>;
  sj_sets_state: string;
  sj_done: Date | null;
}

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

@Injectable()
export class FleetService {
  constructor(private readonly dataSource: DataSource) {}

  async page(filter: FleetFilter, principal?: Principal) {
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (value: unknown) => `$${args.push(value)}`;
    if (principal?.clusterIds) where.push(`d.cluster_id = ANY(${arg(principal.clusterIds)}::uuid[])`);
    if (filter.cluster) where.push(`(c.name = ${arg(filter.cluster)} OR c.id::text = ${arg(filter.cluster)})`);
    if (filter.group) where.push(`(g.name = ${arg(filter.group)} OR g.id::text = ${arg(filter.group)})`);
    if (filter.kind) where.push(`d.kind = ${arg(filter.kind)}`);
    if (filter.state) where.push(`d.state = ${arg(filter.state)}`);
    if (filter.q) where.push(`d.name ILIKE ${arg(`%${filter.q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`)}`);
    if (filter.attention) where.push(`(d.last_error IS NOT NULL OR ${WAITING})`);
    const from = `FROM deployments d LEFT JOIN deployment_groups g ON g.id = d.group_id LEFT JOIN clusters c ON c.id = d.cluster_id
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`;
    const limit = Math.min(Math.max(filter.limit ?? 50, 1), 200);
    const offset = Math.max(filter.offset ?? 0, 0);
    const [{ total }] = (await this.dataSource.query(`SELECT count(*)::int AS total ${from}`, args)) as [{ total: number }];
    const rows = (await this.dataSource.query(
      `WITH page AS (
         SELECT d.id, d.name, d.kind, d.state, d.last_error, d.vars, d.group_id, g.name AS group_name, d.cluster_id, c.name AS cluster_name
         ${from}
         ORDER BY c.name NULLS LAST, g.name NULLS LAST, d.name
         LIMIT ${arg(limit)} OFFSET ${arg(offset)})
       SELECT d.*, ${WAITING} AS waiting,
         lj.id AS lj_id, lj.action AS lj_action, lj.book_name AS lj_book, lj.state AS lj_state,
         lj.date_created AS lj_created, lj.date_running AS lj_running, lj.date_done AS lj_done,
         sj.id AS sj_id, sj.action AS sj_action, sj.book_name AS sj_book, sj.params AS sj_params, sj.sets_state AS sj_sets_state, sj.date_done AS sj_done
       FROM page d
       LEFT JOIN LATERAL (SELECT * FROM jobs j WHERE j.deployment_id = d.id ORDER BY j.date_created DESC LIMIT 1) lj ON true
       LEFT JOIN LATERAL (SELECT * FROM jobs j WHERE j.deployment_id = d.id AND j.state = 'done' AND j.sets_state IS NOT NULL
                          ORDER BY j.date_done DESC LIMIT 1) sj ON true
       ORDER BY d.cluster_name NULLS LAST, d.group_name NULLS LAST, d.name`,
      args,
    )) as FleetRow[];
    return { total, offset, limit, deployments: rows.map(view), scope_jobs: await this.scopeJobs(rows) };
  }

  /** The last job of each group and cluster on the page (group and cluster books). */
  private async scopeJobs(rows: FleetRow[]) {
    const groups = [...new Set(rows.map((r) => r.group_id).filter(Boolean))];
    const clusters = [...new Set(rows.map((r) => r.cluster_id).filter(Boolean))];
    if (!groups.length && !clusters.length) return [];
    const jobs = (await this.dataSource.query(
      `SELECT DISTINCT ON (scope, COALESCE(group_id, cluster_id)) id, action, book_name, state, scope, group_id, cluster_id, date_created, date_running, date_done
       FROM jobs WHERE (scope = 'group' AND group_id = ANY($1::uuid[])) OR (scope = 'cluster' AND cluster_id = ANY($2::uuid[]))
       ORDER BY scope, COALESCE(group_id, cluster_id), date_created DESC`,
      [groups, clusters],
    )) as {
      id: string;
      action: string;
      book_name: string;
      state: string;
      scope: string;
      group_id: string | null;
      cluster_id: string | null;
      date_created: Date;
      date_running: Date | null;
      date_done: Date | null;
    }[];
    return jobs.map((j) => ({
      id: j.id,
      action: j.action,
      book: j.book_name,
      state: j.state,
      scope: j.scope,
      target_id: j.scope === 'group' ? j.group_id : j.cluster_id,
      date_created: iso(j.date_created),
      date_running: iso(j.date_running),
      date_done: iso(j.date_done),
    }));
  }
}

/**
 * A job of the deployment waits for a person. Read from the running jobs (a manual step's job
 * stays `running`), a handful, each checked by its steps' index: the old form, a join per
 * deployment, was planned at a cost that switched on PostgreSQL's JIT, and `attention=true`
 * over 10,000 deployments took 504 ms p50, 285 ms of it compiling (bench/fleet.mjs).
 */
const WAITING = `d.id IN (SELECT w.deployment_id FROM jobs w WHERE w.state = 'running' AND w.deployment_id IS NOT NULL
  AND EXISTS (SELECT 1 FROM job_steps s WHERE s.job_id = w.id AND s.state = 'waiting'))`;

function view(r: FleetRow) {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    state: r.state,
    last_error: r.last_error,
    vars: r.vars,
    group: r.group_id ? { id: r.group_id, name: r.group_name } : null,
    cluster: r.cluster_id ? { id: r.cluster_id, name: r.cluster_name } : null,
    waiting: r.waiting,
    last_job: r.lj_id
      ? {
          id: r.lj_id,
          action: r.lj_action,
          book: r.lj_book,
          state: r.lj_state,
          date_created: iso(r.lj_created),
          date_running: iso(r.lj_running),
          date_done: iso(r.lj_done),
        }
      : null,
    // The job that set the current state, and with what: the deployment's current release.
    state_job: r.sj_id
      ? { id: r.sj_id, action: r.sj_action, book: r.sj_book, params: r.sj_params, sets_state: r.sj_sets_state, date_done: iso(r.sj_done) }
      : null,
  };
}
