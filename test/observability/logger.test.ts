import fs from 'node:fs';
import { createLogger } from '../../src/observability/logger';
import { inDeployment } from '../../src/observability/deploymentContext';
import { runWithContext } from '../../src/observability/requestContext';

/**
 * What every log line carries (docs/operations.md#traces, README's logging):
 * the deployment its work is for, the request it was written for, its trace
 * when it has one, and no secret under a key known to hold one.
 */
function capture() {
  let text = '';
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => void (text += line) } });
  const lines = () =>
    text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, text: () => text };
}

test('a line written while serving a request names the request, and its trace when it has one; a line outside any request names neither', () => {
  const { logger, lines } = capture();
  runWithContext({ requestId: 'req-1' }, () => logger.info('untraced request'));
  runWithContext(
    { requestId: 'req-2', trace: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' } },
    () => logger.info('traced request'),
  );
  logger.info('background work');

  expect(lines().map(({ msg, requestId, trace_id, span_id }) => ({ msg, requestId, trace_id, span_id }))).toEqual([
    { msg: 'untraced request', requestId: 'req-1', trace_id: undefined, span_id: undefined },
    {
      msg: 'traced request',
      requestId: 'req-2',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: '00f067aa0ba902b7',
    },
    { msg: 'background work', requestId: undefined, trace_id: undefined, span_id: undefined },
  ]);
});

test('a line names the deployment its work is for, through what the work awaits, once; the process’s own none', async () => {
  const { logger, lines, text } = capture();
  await inDeployment('brand-b', async () => {
    logger.child({ component: 'guest-api' }).info('serving brand b');
    await new Promise((resolve) => setTimeout(resolve, 1));
    runWithContext({ requestId: 'req-b' }, () => logger.info('a request of brand b'));
  });
  inDeployment('brand-a', () => logger.info('serving brand a'));
  logger.info('background work');
  expect(lines().map(({ msg, deployment, requestId }) => ({ msg, deployment, requestId }))).toEqual([
    { msg: 'serving brand b', deployment: 'brand-b', requestId: undefined },
    { msg: 'a request of brand b', deployment: 'brand-b', requestId: 'req-b' },
    { msg: 'serving brand a', deployment: 'brand-a', requestId: undefined },
    { msg: 'background work', deployment: undefined, requestId: undefined },
  ]);
  // Written once on each line as it goes out, a child logger's line too.
  for (const line of text().trim().split('\n'))
    expect(line.match(/"deployment":/g)?.length ?? 0).toBeLessThanOrEqual(1);
});

test('a value under a key that holds a secret is replaced, at the top and one level down', () => {
  const { logger, lines } = capture();
  logger.info(
    {
      sessionToken: 'st-secret',
      genesys: { access_token: 'at-secret' },
      req: { headers: { authorization: 'Bearer h-secret' } },
    },
    'with secrets',
  );
  expect(lines()[0]).toMatchObject({
    sessionToken: '[redacted]',
    genesys: { access_token: '[redacted]' },
    req: { headers: { authorization: '[redacted]' } },
  });
  expect(JSON.stringify(lines())).not.toMatch(/-secret/);
});

test('without a destination, lines reach stdout in batches: once 4 KiB have gathered, else every 250 ms', () => {
  jest.useFakeTimers();
  const written: string[] = [];
  const write = jest.spyOn(fs, 'write').mockImplementation(((
    fd: number,
    data: string | Uint8Array,
    ...rest: unknown[]
  ) => {
    if (fd === 1) written.push(Buffer.from(data).toString('utf8'));
    (rest.at(-1) as (err: null, bytes: number) => void)(null, Buffer.byteLength(data));
  }) as unknown as typeof fs.write);
  try {
    const logger = createLogger({ level: 'info' });
    logger.info('first');
    logger.info('second');
    expect(written).toEqual([]);
    jest.advanceTimersByTime(250);
    expect(written).toHaveLength(1);
    expect(
      written[0]!
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { msg: string }).msg),
    ).toEqual(['first', 'second']);

    logger.info({ detail: 'x'.repeat(4096) }, 'long');
    expect(written).toHaveLength(2);
    expect(written[1]).toContain('"msg":"long"');
  } finally {
    write.mockRestore();
    jest.useRealTimers();
  }
});

describe('every key known to hold a secret is replaced', () => {
  const secretAt = (path: string[], value: string): Record<string, unknown> =>
    path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value) as Record<string, unknown>;
  const logged = (fields: Record<string, unknown>) => {
    const { logger, lines } = capture();
    logger.info(fields, 'with a secret');
    return lines()[0]!;
  };

  it.each([
    'req.headers.authorization',
    'req.headers.cookie',
    'req.headers.idempotency-key',
    'res.headers.set-cookie',
    'headers.authorization',
    'headers.Authorization',
    'headers.cookie',
    'clientSecret',
    'client_secret',
    'access_token',
    'accessToken',
    'sessionToken',
    'identityToken',
    'ticket',
    'jwt',
    'token',
  ])('at %s', (at) => {
    const path = at.split('.');
    const line = logged(secretAt(path, 'the-secret'));
    expect(line).toMatchObject(secretAt(path, '[redacted]'));
  });

  it.each([
    'authorization',
    'Authorization',
    'clientSecret',
    'access_token',
    'accessToken',
    'sessionToken',
    'identityToken',
    'ticket',
    'jwt',
    'token',
  ])('one level down under any key: %s', (key) => {
    const line = logged({ genesys: { [key]: 'the-secret', other: 'kept' } });
    expect(line).toMatchObject({ genesys: { [key]: '[redacted]', other: 'kept' } });
  });

  it('and a value under any other key is kept', () => {
    expect(logged({ conversationId: 'c-1', nested: { messageId: 'm-1' } })).toMatchObject({
      conversationId: 'c-1',
      nested: { messageId: 'm-1' },
    });
  });
});
