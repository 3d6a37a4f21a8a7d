import { formatSeconds, progressBar, renderJob } from './follow.js';

describe('the follow display', () => {
  it('formats durations for people', () => {
    expect([formatSeconds(5), formatSeconds(90), formatSeconds(3720)]).toEqual(['5s', '1m30s', '1h02m']);
  });
  it('rounds before splitting into minutes and hours', () => {
    expect([formatSeconds(59.6), formatSeconds(119.6), formatSeconds(3599.6)]).toEqual(['1m00s', '2m00s', '1h00m']);
  });
  it('draws a progress bar', () => {
    expect(progressBar(1, 4, 8)).toBe('[##......]');
    expect(progressBar(0, 0, 4)).toBe('[####]');
  });
  it('shows one line per step with state and elapsed/estimate, then the bar and ETA', () => {
    const now = Date.parse('2026-01-01T00:00:10Z');
    const lines = renderJob(
      {
        id: 'j1',
        state: 'running',
        book: 'app.deploy',
        deployment: 'web',
        progress: { done_steps: 1, total_steps: 3, eta_s: 25 },
        steps: [
          { name: 'a', state: 'done', estimated_duration: 5, date_started: null, duration: 4 },
          { name: 'b', state: 'running', estimated_duration: 20, date_started: '2026-01-01T00:00:05Z', duration: null },
          { name: 'c', state: 'pending', estimated_duration: 10, date_started: null, duration: null },
        ],
      },
      now,
    );
    expect(lines[0]).toBe('job j1 app.deploy on web: running');
    expect(lines[1]).toMatch(/✔ a\s+done\s+4s\/5s/);
    expect(lines[2]).toMatch(/▶ b\s+running\s+5s\/20s/);
    expect(lines[3]).toMatch(/· c\s+pending\s+est 10s/);
    expect(lines[4]).toContain('1/3 steps, ETA 25s (book estimate)');
  });
  it('says where the ETA comes from when it was learned', () => {
    const lines = renderJob({
      id: 'j3',
      state: 'running',
      book: 'app.deploy',
      deployment: 'web',
      progress: { done_steps: 0, total_steps: 1, eta_s: 3, eta_basis: 'learned', eta_runs: 12 },
      steps: [{ name: 'a', state: 'pending', estimated_duration: 3, date_started: null, duration: null }],
    });
    expect(lines[2]).toContain('ETA 3s (learned from 12 runs)');
  });
  it('tells what a waiting manual step asks of a person, and how to answer', () => {
    const now = Date.parse('2026-01-01T00:01:00Z');
    const lines = renderJob(
      {
        id: 'j2',
        state: 'running',
        book: 'app.destroy',
        deployment: 'web',
        progress: { done_steps: 0, total_steps: 1, eta_s: 300 },
        steps: [
          { name: 'confirm', state: 'waiting', estimated_duration: 300, date_started: '2026-01-01T00:00:00Z', duration: null, outputs: { instructions: 'Check web\nthen say yes' } },
        ],
      },
      now,
    );
    expect(lines[1]).toMatch(/⏸ confirm\s+waiting\s+1m00s\/5m00s/);
    expect(lines[2]).toBe('      waiting for a person: Check web then say yes');
    expect(lines[3]).toBe('      answer in the portal, or POST /api/jobs/j2/steps/confirm/ack (or /reject)');
  });
});
