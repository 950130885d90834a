import zlib from 'node:zlib';
import { FIXTURE_GENESYS, scrubRecording, type RecordedDefinition } from './nockBack';

/** What the recorder writes when someone records against a real org (shapes as nock 14 outputs them). */
describe('scrubRecording', () => {
  const real = {
    clientId: '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9',
    clientSecret: 'Real-Client-Secret-kJ83hsd92kLmZ0qP',
    deploymentId: '11111111-2222-4333-8444-555555555555',
    regionDomain: 'mypurecloud.com',
  };
  const gzipHex = (body: unknown) => [zlib.gzipSync(Buffer.from(JSON.stringify(body))).toString('hex')];

  const recorded: RecordedDefinition[] = [
    {
      scope: 'https://login.mypurecloud.com:443',
      method: 'POST',
      path: '/oauth/token',
      body: 'grant_type=client_credentials',
      status: 200,
      response: gzipHex({ access_token: 'REAL-ACCESS-TOKEN-abc123', token_type: 'bearer', expires_in: 86399 }),
      rawHeaders: {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'set-cookie': 'session=REALCOOKIE',
      },
      reqheaders: { authorization: `Basic ${Buffer.from(`${real.clientId}:${real.clientSecret}`).toString('base64')}` },
      responseIsBinary: false,
    },
    {
      scope: `https://api.mypurecloud.com:443`,
      method: 'GET',
      path: `/api/v2/webdeployments/deployments/${real.deploymentId}`,
      body: '',
      status: 200,
      response: {
        id: real.deploymentId,
        status: 'Active',
        jwt: 'eyJhbGciOi.REAL.JWT',
        nested: [{ token: 'REAL-NESTED-TOKEN' }],
      },
      rawHeaders: { 'content-type': 'application/json', 'inin-correlation-id': 'c0ffee00-0000-4000-8000-000000000000' },
    },
    {
      scope: 'http://127.0.0.1:53211',
      method: 'GET',
      path: '/readyz',
      body: '',
      status: 200,
      response: { status: 'ready' },
    },
  ];

  const scrubbed = scrubRecording(recorded, real);
  const text = JSON.stringify(scrubbed);

  it('leaves no token, JWT, cookie, credential or real identifier behind', () => {
    for (const secret of [
      'REAL-ACCESS-TOKEN',
      'REAL.JWT',
      'REAL-NESTED-TOKEN',
      'REALCOOKIE',
      real.clientSecret,
      real.clientId,
      real.deploymentId,
      'mypurecloud.com:',
      'Basic ',
    ]) {
      expect(text).not.toContain(secret);
    }
  });

  it('keeps the recording replayable: decompressed JSON, fixture ids and region, correlation ids kept, loopback dropped', () => {
    expect(scrubbed).toHaveLength(2);
    const [token, deployment] = scrubbed;
    expect(token).toMatchObject({
      scope: 'https://login.mypurecloud.ie:443',
      body: 'grant_type=client_credentials',
      response: { access_token: 'scrubbed-access-token-1', token_type: 'bearer', expires_in: 86399 },
      rawHeaders: { 'content-type': 'application/json' },
    });
    expect(token!.rawHeaders).not.toHaveProperty('content-encoding');
    expect(deployment).toMatchObject({
      scope: 'https://api.mypurecloud.ie:443',
      path: `/api/v2/webdeployments/deployments/${FIXTURE_GENESYS.deploymentId}`,
      response: {
        id: FIXTURE_GENESYS.deploymentId,
        status: 'Active',
        jwt: 'scrubbed-jwt-2',
        nested: [{ token: 'scrubbed-token-3' }],
      },
      rawHeaders: { 'inin-correlation-id': 'c0ffee00-0000-4000-8000-000000000000' },
    });
  });
});
