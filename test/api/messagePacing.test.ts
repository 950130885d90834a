import { randomUUID } from 'node:crypto';
import { bearer, guestTokenOf, startStack, type Stack } from '../support/stack';

/**
 * Genesys limits `onMessage` to 2 a second per session (its Dec 2023 announcement; docs/genesys-protocol.md#limits-and-timing).
 * The service paces a burst to GENESYS_MESSAGES_PER_SECOND instead of refusing it, and absorbs Genesys's 429s
 * when it paces faster than Genesys allows: every message delivered once, in order, none left to its deadline.
 */

const TEXTS = Array.from({ length: 10 }, (_, i) => `burst ${i}`);

async function burst(stack: Stack): Promise<void> {
  const before = stack.sim.received.length;
  const { token } = await stack.newSession();
  const gt = guestTokenOf(stack.sim, before);
  const answers = await Promise.all(
    TEXTS.map((text) =>
      stack.http.post('/messages').set(bearer(token)).set('Idempotency-Key', randomUUID()).send({ text }),
    ),
  );
  // None refused, none timed out (504) or left in doubt: each answered with Genesys's echo of it.
  expect(answers.map((a) => [a.status, a.body.message?.text])).toEqual(answers.map((a, i) => [201, TEXTS[i]]));
  // Delivered once each, in the order the service took them: a frame Genesys refused went out again before the ones after it.
  const frames = stack.sim.received
    .filter((f) => f.sessionToken === gt && f.frame?.action === 'onMessage')
    .map((f) => f.frame.message.text as string);
  const firstWritten = [...new Set(frames)];
  const delivered = (stack.sim.conversationMessages(gt) as { text?: string; direction?: string }[])
    .filter((m) => m.direction === 'Inbound')
    .map((m) => m.text);
  expect([...delivered].sort()).toEqual([...TEXTS].sort());
  expect(delivered).toEqual(firstWritten);
}

test('a burst of 10 messages against the strict profile at 2 a second: all delivered once, in order, none timed out', async () => {
  const stack = await startStack({
    sim: { profile: 'strict', agent: { enabled: false }, messagesPerSecond: 2 },
    env: { GENESYS_MESSAGES_PER_SECOND: '2' },
  });
  try {
    // Paced to Genesys's rate; a 429 that timing jitter still provokes is absorbed like any other.
    await burst(stack);
  } finally {
    await stack.close();
  }
});

test('GENESYS_MESSAGES_PER_SECOND=5 against a Genesys limiting at 2: its 429s are absorbed with the same result', async () => {
  const stack = await startStack({
    sim: { profile: 'strict', agent: { enabled: false }, messagesPerSecond: 2 },
    env: { GENESYS_MESSAGES_PER_SECOND: '5' },
  });
  try {
    await burst(stack);
    // Genesys did refuse (untraced, as its fixtures show), and the service sent those again after the wait.
    expect(stack.log.lines().filter((l) => /refused a frame for its rate/.test(String(l.msg))).length).toBeGreaterThan(
      0,
    );
  } finally {
    await stack.close();
  }
});
