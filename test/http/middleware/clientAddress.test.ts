import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express, { type Request } from 'express';
import fc from 'fast-check';
import { clientAddressKey, forwardedClient } from '../../../src/http/middleware/clientAddress';
import { rateLimits } from '../../../src/http/middleware/rateLimits';
import { testConfig } from '../../support/app';
import { demoPng } from '../../../simulator/richReplies';
import { peExecutable } from '../../support/fileSamples';
import { rawUpload } from '../../support/rawUpload';
import { bearer, startStack, type Stack } from '../../support/stack';
import { EVENT_WAIT_MS, waitFor } from '../../support/wait';

/**
 * One client as every per-address limit and cap counts it (src/http/middleware/clientAddress.ts): IPv4 by its
 * address, IPv6 by its prefix (IPV6_PREFIX_LENGTH, /56 by default). Through a trusted proxy (TRUST_PROXY) with
 * IPv6 X-Forwarded-For, live streams (STREAMS_PER_IP) and uploads (UPLOADS_PER_IP) are capped per /56: other
 * addresses of the same /56 share the cap, another /56 has its own; so are connections (CONNECTIONS_PER_IP), as
 * the requests each forwarded client has in flight. A direct peer's connections are capped by the socket's peer
 * (test/http/server/connectionCaps.test.ts), keyed the same way.
 */

describe('the key of a client address', () => {
  test('IPv4 as it is, IPv4-mapped IPv6 as its IPv4 address', () => {
    expect(clientAddressKey('203.0.113.7', 56)).toBe('203.0.113.7');
    expect(clientAddressKey('::ffff:203.0.113.7', 56)).toBe('203.0.113.7');
  });

  test('IPv6 by its prefix: every address of one /56 is one client, another /56 another', () => {
    const key = clientAddressKey('2001:db8:0:100::1', 56);
    expect(clientAddressKey('2001:db8:0:1ff:ffff::2', 56)).toBe(key);
    expect(clientAddressKey('2001:db8:0:200::1', 56)).not.toBe(key);
  });

  test('the prefix is the setting: /64 tells two /64s of one /56 apart, /128 every address', () => {
    expect(clientAddressKey('2001:db8:0:100::1', 64)).not.toBe(clientAddressKey('2001:db8:0:101::1', 64));
    expect(clientAddressKey('2001:db8:0:100::1', 128)).not.toBe(clientAddressKey('2001:db8:0:100::2', 128));
  });
});

describe('the rate limits and the caps share one key, from IPV6_PREFIX_LENGTH', () => {
  const keyOf = (env: Record<string, string>, ip: string) =>
    rateLimits(testConfig(env).process.limits).clientAddress({ ip } as Request);

  test('/56 unless set; the setting moves every per-address count with it', () => {
    expect(keyOf({}, '2001:db8:0:1ff::3')).toBe(keyOf({}, '2001:db8:0:100::1'));
    expect(keyOf({ IPV6_PREFIX_LENGTH: '64' }, '2001:db8:0:1ff::3')).not.toBe(
      keyOf({ IPV6_PREFIX_LENGTH: '64' }, '2001:db8:0:100::1'),
    );
    expect(keyOf({ IPV6_PREFIX_LENGTH: '64' }, '2001:db8:0:100::9')).toBe(clientAddressKey('2001:db8:0:100::1', 64));
    expect(keyOf({}, '203.0.113.7')).toBe('203.0.113.7');
  });
});

describe('the client behind trusted proxies, as Express names it', () => {
  /** Express's own answer (req.ip, through proxy-addr) for the same peer, X-Forwarded-For and trust. */
  const expressIp = (peer: string, forwardedFor: string, trust: (address: string, hop: number) => boolean) => {
    const app = express();
    app.set('trust proxy', trust);
    const req = Object.assign(Object.create(app.request) as Request, {
      socket: { remoteAddress: peer },
      headers: { 'x-forwarded-for': forwardedFor },
    });
    return req.ip;
  };

  const ADDRESSES = ['203.0.113.7', '198.51.100.1', '10.0.0.1', '10.0.0.2', '2001:db8::1', '::1'];

  test('the first untrusted hop from the peer back, or the farthest given: as req.ip for any header and trust', () => {
    const hop = fc.record({
      address: fc.constantFrom(...ADDRESSES, ''),
      before: fc.constantFrom('', ' ', '  '),
      after: fc.constantFrom('', ' ', '  '),
    });
    fc.assert(
      fc.property(
        fc.constantFrom(...ADDRESSES),
        fc.array(hop, { maxLength: 6 }),
        fc.subarray(ADDRESSES),
        fc.nat({ max: 7 }),
        (peer, hops, trusted, deepest) => {
          const forwardedFor = hops.map((h) => h.before + h.address + h.after).join(',');
          const trust = (address: string, index: number) => trusted.includes(address) && index <= deepest;
          expect(forwardedClient(peer, forwardedFor, trust)).toBe(expressIp(peer, forwardedFor, trust));
        },
      ),
      { seed: 20_261_127, numRuns: 300 },
    );
  });

  test('asks trust about each hop with its index, nearest first, and stops at the first it does not trust', () => {
    const asked: Array<[string, number]> = [];
    const client = forwardedClient('10.0.0.1', '203.0.113.7, 198.51.100.1,10.0.0.2', (address, index) => {
      asked.push([address, index]);
      return address.startsWith('10.');
    });
    expect(client).toBe('198.51.100.1');
    expect(asked).toEqual([
      ['10.0.0.1', 0],
      ['10.0.0.2', 1],
      ['198.51.100.1', 2],
    ]);
  });
});

/** Three addresses of one /56 (2001:db8:0:100::/56), and one of another. */
const SAME_56 = ['2001:db8:0:100::1', '2001:db8:0:100::2', '2001:db8:0:1ff::3'];
const OTHER_56 = '2001:db8:0:200::1';

describe('live streams through a trusted proxy, per /56', () => {
  let stack: Stack;
  const open: AbortController[] = [];

  beforeAll(async () => {
    stack = await startStack({ env: { TRUST_PROXY: '1', STREAMS_PER_IP: '2' } });
  });

  afterAll(async () => {
    for (const c of open) c.abort();
    await stack.close();
  });

  async function stream(forwardedFor: string): Promise<number> {
    const { token } = await stack.newSession();
    const controller = new AbortController();
    open.push(controller);
    const res = await fetch(`${stack.service.url}/messages/stream`, {
      headers: { ...bearer(token), 'X-Forwarded-For': forwardedFor },
      signal: controller.signal,
    });
    if (res.status !== 200) await res.body?.cancel();
    return res.status;
  }

  test('a third stream from the same /56 is refused; one from another /56 is not', async () => {
    expect(await stream(SAME_56[0]!)).toBe(200);
    expect(await stream(SAME_56[1]!)).toBe(200);
    expect(await stream(SAME_56[2]!)).toBe(429);
    expect(await stream(OTHER_56)).toBe(200);
  });
});

describe('uploads through a trusted proxy, per /56', () => {
  const PNG = demoPng(8, 8);
  let stack: Stack;
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bff-address-'));
    stack = await startStack({
      env: { TRUST_PROXY: '1', UPLOADS_PER_IP: '1', UPLOAD_MIN_BYTES_PER_SECOND: '0', UPLOAD_TMP_DIR: dir },
    });
  });

  afterAll(async () => {
    await stack.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function upload(forwardedFor: string): Promise<number> {
    const form = new FormData();
    form.append('file', new File([new Uint8Array(PNG)], 'photo.png', { type: 'image/png' }));
    const res = await fetch(`${stack.service.url}/attachments`, {
      method: 'POST',
      headers: { ...bearer((await stack.newSession()).token), 'X-Forwarded-For': forwardedFor },
      body: form,
    });
    await res.body?.cancel();
    return res.status;
  }

  test('with the one slot held from one address of a /56, another address of it is refused, another /56 not', async () => {
    const hog = rawUpload(stack, (await stack.newSession()).token, {
      contentLength: 60_000,
      forwardedFor: SAME_56[0],
    });
    try {
      hog.write(PNG);
      await waitFor(() => fs.readdirSync(dir).some((f) => f.startsWith('bff-upload-')));
      expect(await upload(SAME_56[1]!)).toBe(429);
      expect(await upload(SAME_56[2]!)).toBe(429);
      expect(await upload(OTHER_56)).toBe(201);
    } finally {
      hog.socket.destroy();
    }
  });
});

describe('connections through a trusted proxy, per /56', () => {
  let stack: Stack;
  const open: AbortController[] = [];

  beforeAll(async () => {
    stack = await startStack({ env: { TRUST_PROXY: '1', CONNECTIONS_PER_IP: '2', STREAMS_PER_IP: '10' } });
  });

  afterAll(async () => {
    for (const c of open) c.abort();
    await stack.close();
  });

  /** A live stream forwarded for `forwardedFor`: its answer, held open until `controller` aborts it. */
  async function stream(forwardedFor: string) {
    const { token } = await stack.newSession();
    const controller = new AbortController();
    open.push(controller);
    const res = await fetch(`${stack.service.url}/messages/stream`, {
      headers: { ...bearer(token), 'X-Forwarded-For': forwardedFor },
      signal: controller.signal,
    });
    return { res, controller };
  }

  /** A quick request (GET /healthz) forwarded for `forwardedFor`: its status. */
  async function probe(forwardedFor: string): Promise<number> {
    const res = await fetch(`${stack.service.url}/healthz`, { headers: { 'X-Forwarded-For': forwardedFor } });
    await res.body?.cancel();
    return res.status;
  }

  test('two clients of one /56 hold its two places; a third request is refused, another /56 is not', async () => {
    const first = await stream(SAME_56[0]!);
    const second = await stream(SAME_56[1]!);
    expect([first.res.status, second.res.status]).toEqual([200, 200]);
    const over = await stream(SAME_56[2]!);
    expect(over.res.status).toBe(429);
    expect(over.res.headers.get('content-type')).toBe('application/problem+json');
    expect(over.res.headers.get('retry-after')).toBe('1');
    expect(await over.res.json()).toMatchObject({ code: 'rate_limited', detail: expect.stringMatching(/connections/) });
    expect(await probe(SAME_56[2]!)).toBe(429);
    const other = await stream(OTHER_56);
    expect(other.res.status).toBe(200);

    // An aborted stream gives its place back.
    first.controller.abort();
    await waitFor(async () => (await probe(SAME_56[2]!)) === 200, EVENT_WAIT_MS, 50);
    second.controller.abort();
    other.controller.abort();
  });

  test('finished requests and an upload refused mid-body give their places back', async () => {
    await waitFor(async () => (await probe(SAME_56[0]!)) === 200, EVENT_WAIT_MS, 50);
    for (let i = 0; i < 5; i++) expect(await probe(SAME_56[i % 3]!)).toBe(200);
    const held = await stream(SAME_56[0]!);
    expect(held.res.status).toBe(200);
    // A program found out by its first bytes (415) before the rest of its body arrives; the client never sends it.
    const refused = rawUpload(stack, (await stack.newSession()).token, {
      contentLength: 60_000,
      forwardedFor: SAME_56[1],
    });
    try {
      refused.write(peExecutable());
      refused.write(Buffer.alloc(2_000));
      expect(await refused.status()).toBe(415);
      await waitFor(async () => (await probe(SAME_56[2]!)) === 200, EVENT_WAIT_MS, 50);
      expect(await probe(OTHER_56)).toBe(200);
    } finally {
      refused.socket.destroy();
      held.controller.abort();
    }
  });
});
