import { assertJobTransition, assertStepTransition, canJobTransition, InvalidTransitionError, jobStatesLeadingTo } from './job-state.js';

describe('job state machine', () => {
  it('allows the normal path', () => {
    expect(() => {
      assertJobTransition('draft', 'scheduled');
      assertJobTransition('scheduled', 'running');
      assertJobTransition('running', 'done');
    }).not.toThrow();
  });
  it('refuses leaving done, and running a finished job again without resume', () => {
    expect(() => assertJobTransition('done', 'running')).toThrow(InvalidTransitionError);
    expect(canJobTransition('error', 'running')).toBe(false);
    expect(canJobTransition('error', 'scheduled')).toBe(true);
  });
  it('lists where a cancel may come from', () => {
    expect(jobStatesLeadingTo('cancel').sort()).toEqual(['draft', 'running', 'scheduled']);
  });
  it('guards step transitions', () => {
    expect(() => assertStepTransition('pending', 'done')).toThrow("a step cannot go from 'pending' to 'done'");
    expect(() => assertStepTransition('waiting', 'done')).not.toThrow();
  });
});
