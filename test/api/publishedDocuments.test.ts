/**
 * docs/openapi.json and docs/asyncapi.json are the API documents as the service serves them, kept in
 * the repository so a front-end developer can read or generate a client from them without running
 * the service, and so a change to the API's outside shows in review as a diff of these files.
 * `npm run docs:api` writes them anew from a running stack (UPDATE_API_DOCUMENTS=1).
 *
 * Each test starts its own service: the route specs and the document are built while it runs, so
 * mutation testing's per-test coverage names this test as judging every word of them (a service
 * started in a beforeAll builds them outside any test, where that coverage does not reach).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startStack } from '../support/stack';

const DOCUMENTS = ['openapi.json', 'asyncapi.json'];
const UPDATE = process.env.UPDATE_API_DOCUMENTS === '1';

test.each(DOCUMENTS)('docs/%s is the document the service serves (npm run docs:api writes it anew)', async (name) => {
  const stack = await startStack();
  const res = await stack.http.get(`/${name}`);
  await stack.close();
  expect(res.status).toBe(200);
  const file = path.join(__dirname, '../../docs', name);
  const served = `${JSON.stringify(res.body, null, 2)}\n`;
  if (UPDATE) writeFileSync(file, served);
  expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(res.body);
});
