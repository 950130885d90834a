import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Request } from 'express';
import { clientAddressKey } from '../../../src/http/middleware/clientAddress';
import { rateLimits } from '../../../src/http/middleware/rateLimits';
import { testConfig } from '../../support/app';
import { demoPng } from '../../../simulator/richReplies';
import { rawUpload } from '../../support/rawUpload';
import { bearer, startStack, type Stack } from '../../support/stack';
import { waitFor } from '../../support/wait';

/**
 * One client as every per-address limit and cap counts it (src/http/middleware/clientAddress.ts): IPv4 by its
 * address, IPv6 by its prefix (IPV6_PREFIX_LENGTH, /56 by default). Through a trusted proxy (TRUST_PROXY) with
 * IPv6 X-Forwarded-For, live streams (STREAMS_PER_IP) and uploads (UPLOADS_PER_IP) are capped per /56: other
 * addresses of the same /56 share the cap, another /56 has its own. Connections are capped by the socket's peer
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
    rateLimits(testConfig(env).limits).clientAddress({ ip } as Request);

  test('/56 unless set; the setting moves every per-address count with it', () => {
    expect(keyOf({}, '2001:db8:0:1ff::3')).toBe(keyOf({}, '2001:db8:0:100::1'));
    expect(keyOf({ IPV6_PREFIX_LENGTH: '64' }, '2001:db8:0:1ff::3')).not.toBe(
      keyOf({ IPV6_PREFIX_LENGTH: '64' }, '2001:db8:0:100::1'),
    );
    expect(keyOf({ IPV6_PREFIX_LENGTH: '64' }, '2001:db8:0:100::9')).toBe(clientAddressKey('2001:db8:0:100::1', 64));
    expect(keyOf({}, '203.0.113.7')).toBe('203.0.113.7');
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
      await waitFor(() => fs.readdirSync(dir).some((f) => f.startsWith('bff-upload-')), 5_000);
      expect(await upload(SAME_56[1]!)).toBe(429);
      expect(await upload(SAME_56[2]!)).toBe(429);
      expect(await upload(OTHER_56)).toBe(201);
    } finally {
      hog.socket.destroy();
    }
  });
});
