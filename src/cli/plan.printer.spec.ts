import { printPlan } from './plan.printer.js';

const step = (name: string, extra: Record<string, unknown>) => ({
  position: 0,
  name,
  kind: 'shell',
  state: 'pending',
  estimated_duration: 2,
  estimate_source: 'book',
  estimate_runs: 0,
  run_chance: 1,
  timeout: 20,
  data: {},
  starts_after_s: 0,
  rendered: {},
  ...extra,
});

describe('quire plan', () => {
  it('says where each estimate and the ETA come from, and which steps will not run', () => {
    const lines: string[] = [];
    printPlan(
      {
        book: 'app.deploy',
        book_version: '1.0.0',
        action: 'deploy',
        deployment: 'web',
        params: {},
        skip_reason: null,
        eta_s: 3.5,
        eta_basis: 'learned',
        eta_runs: 12,
        locks: [],
        steps: [
          step('install', { estimate_source: 'history', estimate_runs: 12, estimated_duration: 3 }),
          step('notify', { run_chance: 0 }),
          step('verify', { estimate_source: 'history', estimate_runs: 20, estimated_duration: 1, run_chance: 0.5 }),
        ],
      },
      (line) => lines.push(line),
    );
    expect(lines.find((l) => l.includes('install'))).toContain('est 3s (learned from 12 runs)');
    expect(lines.find((l) => l.includes('notify'))).toContain('est 2s (book estimate)');
    expect(lines.find((l) => l.includes('notify'))).toContain('will be skipped');
    expect(lines.find((l) => l.includes('verify'))).toContain('runs in 50% of recent jobs');
    expect(lines.at(-1)).toBe('eta: 3.5s (learned from 12 runs)');
  });
});
