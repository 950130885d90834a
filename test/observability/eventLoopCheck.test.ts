import { EventLoopCheck, Readiness } from '../../src/observability/readiness';

/** The instance's own event loop as a readiness check: overload counts, one long task does not. */
const busy = (ms: number) => {
  const until = Date.now() + ms;
  while (Date.now() < until);
};
const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('one long task leaves the instance ready', async () => {
  const readiness = new Readiness();
  const check = new EventLoopCheck(readiness, 50, 20, 3);
  try {
    await tick(30);
    busy(200);
    await tick(100);
    expect(readiness.report()).toMatchObject({ ready: true, checks: { eventLoop: { ok: true } } });
  } finally {
    check.close();
  }
});

test('a loop late at every sample makes the instance not ready, and it is ready again once the loop keeps up', async () => {
  const readiness = new Readiness();
  const check = new EventLoopCheck(readiness, 50, 20, 3);
  try {
    for (let i = 0; i < 6; i += 1) {
      await tick(1);
      busy(120);
    }
    await tick(1);
    expect(readiness.report()).toMatchObject({
      ready: false,
      status: 'not_ready',
      checks: { eventLoop: { ok: false } },
    });
    await tick(200);
    expect(readiness.report()).toMatchObject({ ready: true, checks: { eventLoop: { ok: true } } });
  } finally {
    check.close();
  }
});
