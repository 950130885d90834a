import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { IDENTITY_SECRET, PAGE_ORIGIN, type Stack, startStack } from '../support/stack';

/**
 * docs/api.md's backend example for identity tokens, run as pasted: a Node
 * ES module next to the project's node_modules (for `jose`), with
 * IDENTITY_JWT_SECRET set. The token it mints must start a session whose
 * claims became locked attributes, against a service configured with the
 * issuer and audience the example names.
 */
const ROOT = path.resolve(__dirname, '../..');

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());

function apiDocBlock(containing: string): string {
  const doc = fs.readFileSync(path.join(ROOT, 'docs/api.md'), 'utf8');
  const block = [...doc.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes(containing));
  if (!block) throw new Error(`no docs/api.md js block contains ${containing}`);
  return block;
}

test("docs/api.md's identity-token example mints a token that starts a verified session", async () => {
  expect([stack.config.deployments[0]!.identity?.issuer, stack.config.deployments[0]!.identity?.audience]).toEqual([
    'https://shop.example.com',
    'genesys-bff',
  ]);
  fs.mkdirSync(path.join(ROOT, 'test-output'), { recursive: true });
  const dir = fs.mkdtempSync(path.join(ROOT, 'test-output', 'readme-identity-'));
  try {
    const file = path.join(dir, 'mint.mjs');
    fs.writeFileSync(file, `${apiDocBlock("import { SignJWT } from 'jose';")}\nconsole.log(identityToken);\n`);
    const identityToken = execFileSync(process.execPath, [file], {
      env: { PATH: process.env.PATH, IDENTITY_JWT_SECRET: IDENTITY_SECRET },
      encoding: 'utf8',
    }).trim();

    const res = await stack.http.post('/guest-session').set('Origin', PAGE_ORIGIN).send({ identityToken });
    expect(res.status).toBe(201);
    expect(res.body.attributes).toMatchObject({
      customerId: 'customer-991',
      firstName: 'Ada',
      email: 'ada@example.com',
      tier: 'gold',
      identityVerified: 'true',
      identityIssuer: 'https://shop.example.com',
    });
    const attributes = await stack.http
      .get('/guest-attributes')
      .set({ Authorization: `Bearer ${res.body.sessionToken}`, Origin: PAGE_ORIGIN });
    expect(attributes.body.locked).toEqual(expect.arrayContaining(['customerId', 'firstName', 'email', 'tier']));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
