import { describeSkip } from './skip-reason.js';

describe('describeSkip', () => {
  it('names a single reference and its value in plain words', () => {
    expect(describeSkip('{{params.fail_verify}}', 'false')).toBe('skipped: params.fail_verify is false');
    expect(describeSkip(' {{ deployment.vars.host }} ', '')).toBe('skipped: deployment.vars.host is empty');
    expect(describeSkip('{{params.count}}', '0')).toBe('skipped: params.count is 0');
  });

  it('quotes an expression whole instead of showing template source', () => {
    expect(describeSkip('{{not params.fail_verify}}', 'false')).toBe('skipped: (not params.fail_verify) is false');
    expect(describeSkip("{{eq deployment.vars.host '127.0.0.1'}}", 'false')).toBe(
      "skipped: (eq deployment.vars.host '127.0.0.1') is false",
    );
  });

  it('never shows what a secret rendered', () => {
    expect(describeSkip('{{secrets.demo_token}}', '')).toBe('skipped: secrets.demo_token is not set');
    expect(describeSkip("{{ne (default secrets.demo_token '') ''}}", 'false')).toBe(
      "skipped: (ne (default secrets.demo_token '') '') is false",
    );
    expect(describeSkip('run {{params.mode}} now', 'run  now')).toBe("skipped: its condition is 'run  now'");
  });

  it('keeps long values short', () => {
    expect(describeSkip('{{params.x}}', 'no'.repeat(100))).toBe(`skipped: params.x is '${'no'.repeat(40)}…'`);
  });
});
