import { ErrorCode } from '../common/errors.js';
import { BookValidationPool, PER_TOKEN_LIMIT } from './book-validation.pool.js';

const BOOK = 'name: a.b\nkind: a\naction: b\nsteps:\n  - { name: one, kind: shell, run: "true" }\n';

describe('BookValidationPool', () => {
  const pool = new BookValidationPool();
  afterAll(() => pool.close());

  it('validates on its thread and refuses a token past its limit with too_many_requests', async () => {
    const mine = Array.from({ length: PER_TOKEN_LIMIT + 1 }, () => pool.validate(BOOK, 'a.b.book.yaml', 'token-1').then((r) => r, (e: unknown) => e));
    const theirs = pool.validate('name: [', 'bad.yaml', 'token-2');
    const results = await Promise.all(mine);
    expect(results.slice(0, PER_TOKEN_LIMIT)).toEqual(Array(PER_TOKEN_LIMIT).fill({ problems: [], book: { name: 'a.b', kind: 'a', action: 'b' } }));
    expect(results[PER_TOKEN_LIMIT]).toMatchObject({ code: ErrorCode.TooManyRequests });
    expect((await theirs).problems.length).toBeGreaterThan(0);
    // the limit is of validations at once: once answered, the token may validate again
    expect((await pool.validate(BOOK, 'a.b.book.yaml', 'token-1')).problems).toEqual([]);
  }, 30_000);
});
