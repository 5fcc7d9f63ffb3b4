// The test runner's closing summary repeats each failed test's place, name and error, so the last
// lines of a run say what failed even when only they are kept (scripts/run-tests.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failureExcerpts, runnerCounts } from '../../scripts/run-tests.ts';

const OUTPUT = `▶ a suite
  ✔ fine (1ms)
  ✖ breaks (2ms)
ℹ tests 3
ℹ pass 1
ℹ fail 1
ℹ todo 1

✖ failing tests:

test at test/e2e/x.test.ts:10:3
✖ breaks (2ms)
  AssertionError [ERR_ASSERTION]: the app counts on
  + actual - expected

  + 3
  - 4

      at TestContext.<anonymous> (file:///tmp/x.test.ts:12:5)
      at Test.run (node:internal/test_runner/test:1402:25)

test at test/e2e/x.test.ts:20:3
⚠ not yet (1ms) # todo
  Error: later
      at TestContext.<anonymous> (file:///tmp/x.test.ts:21:5)
`;

test("failureExcerpts: each failed test's place, name and error without its stack; a todo's failure left out", () => {
  assert.deepEqual(failureExcerpts(OUTPUT), [
    'test at test/e2e/x.test.ts:10:3\n✖ breaks (2ms)\n  AssertionError [ERR_ASSERTION]: the app counts on\n  + actual - expected\n  + 3\n  - 4',
  ]);
  assert.equal(runnerCounts(OUTPUT).fail, 1);
});

test('failureExcerpts: nothing when nothing failed; a long error is cut to its first lines', () => {
  assert.deepEqual(failureExcerpts('ℹ tests 1\nℹ pass 1\n'), []);
  const long = `\n✖ failing tests:\n\ntest at a.ts:1:1\n✖ t\n${Array.from({ length: 30 }, (_, i) => `  line ${i}`).join('\n')}\n`;
  assert.equal(failureExcerpts(long)[0]!.split('\n').length, 8);
});
