import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGenesysHttp } from '../../../src/genesys/restClient';
import { TokenCache } from '../../../src/genesys/platform/tokenCache';
import { registry } from '../../../src/observability/metrics';
import { captureLogger } from '../../support/app';

/** genesys_bff_oauth_token_refreshes_total{result} and genesys_bff_genesys_errors_total count each token request by what Genesys answered. */
async function count(name: string, labels: Record<string, string>): Promise<number> {
  const metric = await registry.getSingleMetric(name)!.get();
  return metric.values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))?.value ?? 0;
}

test('a refused, a failed and a successful token request are each counted by result', async () => {
  const answers = [
    { status: 401, body: { error: 'invalid_client' } },
    { status: 503, body: {} },
    { status: 200, body: { access_token: 'a-token', expires_in: 3600 } },
  ];
  const server = http.createServer((req, res) => {
    req.resume();
    const answer = answers.shift()!;
    res.writeHead(answer.status, { 'Content-Type': 'application/json' }).end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const genesysHttp = createGenesysHttp({ timeoutMs: 5000 });
  const before = {
    refused: await count('genesys_bff_oauth_token_refreshes_total', { result: 'refused' }),
    failed: await count('genesys_bff_oauth_token_refreshes_total', { result: 'failed' }),
    success: await count('genesys_bff_oauth_token_refreshes_total', { result: 'success' }),
    e401: await count('genesys_bff_genesys_errors_total', { code: '401' }),
    e503: await count('genesys_bff_genesys_errors_total', { code: '503' }),
  };
  const cache = new TokenCache({
    loginUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    clientId: 'id',
    clientSecret: 'secret',
    http: genesysHttp.axios,
    logger: captureLogger().logger,
    sleep: async () => undefined,
    recheckAfterMs: 0,
  });
  try {
    await expect(cache.getToken()).rejects.toMatchObject({ code: 'upstream_unavailable' });
    // The refusal's cool-down is 0: the next call asks again, meets the 503, retries and gets the token.
    await expect(cache.getToken()).resolves.toBe('a-token');
    expect({
      refused: (await count('genesys_bff_oauth_token_refreshes_total', { result: 'refused' })) - before.refused,
      failed: (await count('genesys_bff_oauth_token_refreshes_total', { result: 'failed' })) - before.failed,
      success: (await count('genesys_bff_oauth_token_refreshes_total', { result: 'success' })) - before.success,
      e401: (await count('genesys_bff_genesys_errors_total', { code: '401' })) - before.e401,
      e503: (await count('genesys_bff_genesys_errors_total', { code: '503' })) - before.e503,
    }).toEqual({ refused: 1, failed: 1, success: 1, e401: 1, e503: 1 });
  } finally {
    cache.close();
    genesysHttp.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
