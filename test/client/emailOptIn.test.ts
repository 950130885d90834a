import { BffClient, BffError } from '../../client/src';
import { sessionKeyOf } from '../../src/store';
import { FetchEventSource } from '../support/eventSource';
import { startSmtpReceiver, type SmtpReceiver } from '../support/smtpReceiver';
import { guestTokenOf, PAGE_ORIGIN, startStack, type Stack } from '../support/stack';

/**
 * The browser client's e-mail opt-in (`notifyByEmail`, `stopEmail`) against the real service, the strict simulator
 * and a real SMTP server on loopback.
 */

let stack: Stack;
let smtp: SmtpReceiver;

beforeAll(async () => {
  smtp = await startSmtpReceiver();
  stack = await startStack({ env: { SMTP_URL: smtp.url, EMAIL_FROM: 'chat@shop.example.com' } });
});

afterAll(async () => {
  await stack?.close();
  await smtp?.close();
});

function newClient(): BffClient {
  return new BffClient({
    baseUrl: stack.service.url,
    fetch: (input, init = {}) =>
      fetch(input, { ...init, headers: { ...(init.headers as Record<string, string>), Origin: PAGE_ORIGIN } }),
    EventSource: FetchEventSource as unknown as typeof EventSource,
  });
}

async function startedClient(): Promise<{ client: BffClient; key: string }> {
  const client = newClient();
  const before = stack.sim.received.length;
  await client.startSession();
  return { client, key: `email:${sessionKeyOf(guestTokenOf(stack.sim, before))}` };
}

const store = () => stack.service.deployments.all[0]!.store;

test('capabilities say e-mail is offered', async () => {
  const { client } = await startedClient();
  expect((await client.capabilities()).notifications.email).toBe(true);
});

test('notifyByEmail opts the chat in (a confirmation goes out), stopEmail opts it out', async () => {
  const { client, key } = await startedClient();
  await expect(client.notifyByEmail('kit@example.com', { url: `${PAGE_ORIGIN}/help` })).resolves.toEqual({
    confirmed: false,
  });
  const confirmation = await smtp.nth('kit@example.com', 1);
  expect(confirmation.text).toContain('/notifications/email/confirm?t=');
  expect(JSON.parse((await store().get(key))!)).toMatchObject({ confirmed: false, url: `${PAGE_ORIGIN}/help` });
  await client.stopEmail();
  expect(await store().get(key)).toBeUndefined();
});

test('notifyByEmail rejects an address the service refuses, with the problem', async () => {
  const { client, key } = await startedClient();
  const error = await client.notifyByEmail('not an address').catch((e: unknown) => e);
  expect(error).toBeInstanceOf(BffError);
  expect(error).toMatchObject({ status: 400, code: 'validation_failed' });
  expect(await store().get(key)).toBeUndefined();
});
