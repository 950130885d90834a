import fc from 'fast-check';
import type { NormalizedMessage } from '../../../src/domain/message';
import { EmailSender, confirmationEmail, relayVerdict, repliesEmail } from '../../../src/session/notifications';
import { startSmtpReceiver, type SmtpReceiver } from '../../support/smtpReceiver';
import { waitFor } from '../../support/wait';

/**
 * What an agent writes reaches the customer's mailbox as written, whatever it holds, and nothing an agent writes
 * (their name included) adds a recipient or a header: generated replies sent through nodemailer to a real SMTP
 * server on loopback, read back with the test's own MIME decoding (test/support/smtpReceiver.ts).
 */

let smtp: SmtpReceiver;
let sender: EmailSender;

beforeAll(async () => {
  smtp = await startSmtpReceiver();
  sender = new EmailSender({ smtpUrl: smtp.url, from: 'chat@shop.example.com' }, 10_000);
});

afterAll(async () => {
  sender?.close();
  await smtp?.close();
});

const links = { chat: 'https://shop.example.com/chat', stop: 'https://bff.example.com/notifications/email/stop?t=x' };

/** Text as an agent may write it: any characters but CR (mail has one line break, and it is CRLF). */
const agentText = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 300 }).filter((t) => !t.includes('\r'));

const reply = (id: number, text: string, name: string): NormalizedMessage => ({
  id: `m${id}`,
  direction: 'outbound',
  type: 'text',
  text,
  time: new Date(Date.UTC(2026, 0, 1, 0, 0, id)).toISOString(),
  originatingEntity: 'human',
  from: { name },
});

test('every reply arrives as written, to the one recipient, with no header an agent could add', async () => {
  let n = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(agentText, { minLength: 1, maxLength: 3 }), agentText, async (texts, name) => {
      const to = `p${++n}@example.com`;
      await sender.send(
        repliesEmail(
          to,
          texts.map((t, i) => reply(i, t, name)),
          true,
          links,
        ),
      );
      const email = await smtp.nth(to, 1);
      expect(email.to).toEqual([to]);
      for (const text of texts) expect(email.text).toContain(text.split('\n').join('\n> '));
      expect(Object.keys(email.headers).sort()).toEqual(
        [
          'content-transfer-encoding',
          'content-type',
          'date',
          'from',
          'list-unsubscribe',
          'list-unsubscribe-post',
          'message-id',
          'mime-version',
          'subject',
          'to',
        ].sort(),
      );
    }),
    { numRuns: 40 },
  );
});

test('without preview the text never leaves: only the notice and the links', async () => {
  await sender.send(repliesEmail('quiet@example.com', [reply(1, 'order 42', 'Alex')], false, links));
  const email = await smtp.nth('quiet@example.com', 1);
  expect(email.text).not.toContain('order 42');
  expect(email.text).toContain('A reply is waiting for you in the chat.');
  expect(email.text).toContain(links.chat);
  expect(email.text).toContain(links.stop);
});

test("a replies e-mail's whole text: who replied, each reply quoted, the chat and stop links", () => {
  const email = repliesEmail(
    'c@example.com',
    [
      reply(1, 'first\nsecond line', 'Alex'),
      { ...reply(2, '', 'Sam'), text: undefined, from: undefined },
      reply(3, 'x'.repeat(2001), 'Kim'),
    ],
    true,
    links,
  );
  expect(email.subject).toBe('Kim replied in your chat on shop.example.com');
  expect(email.text).toBe(
    [
      'Kim replied while you were away from your chat on shop.example.com.',
      '',
      'Alex:',
      '> first',
      '> second line',
      '',
      'Agent:',
      '> (an attachment or a card: open the chat to see it)',
      '',
      'Kim:',
      `> ${'x'.repeat(2000)}`,
      '',
      'Open the chat to answer:',
      links.chat,
      '',
      'To stop e-mails about this chat:',
      links.stop,
    ].join('\n'),
  );
  expect(email.stop).toBe(links.stop);
});

test('a replies e-mail without preview counts the replies, and names "An agent" when the newest has no name', () => {
  const unnamed = { ...reply(2, 'b', ''), from: undefined };
  const one = repliesEmail('c@example.com', [unnamed], false, links);
  expect(one.subject).toBe('An agent replied in your chat on shop.example.com');
  expect(one.text.split('\n').slice(0, 4)).toEqual([
    'An agent replied while you were away from your chat on shop.example.com.',
    '',
    'A reply is waiting for you in the chat.',
    '',
  ]);
  const two = repliesEmail('c@example.com', [reply(1, 'a', 'Alex'), unnamed], false, links);
  expect(two.text.split('\n')[2]).toBe('2 replies are waiting for you in the chat.');
});

test("the Message-ID, the same on every try of an e-mail, is in the sender's domain", async () => {
  const email = repliesEmail('id@example.com', [reply(1, 'hello', 'Alex')], true, links);
  for (const [from, domain, to] of [
    ['Shop Chat <chat@shop.example.com>', 'shop.example.com', 'id1@example.com'],
    ['Me@Home <chat@mail.shop.example.com>', 'mail.shop.example.com', 'id2@example.com'],
    ['chat@plain.example.com', 'plain.example.com', 'id3@example.com'],
    ['chat', 'localhost', 'id4@example.com'],
    ['chat@spaced.example.com ', 'spaced.example.com', 'id5@example.com'],
  ] as const) {
    const one = new EmailSender({ smtpUrl: smtp.url, from }, 10_000);
    await one.send({ ...email, to }, 'reply-7');
    await one.send({ ...email, to }, 'reply-7');
    const [first, second] = [await smtp.nth(to, 1), await smtp.nth(to, 2)];
    expect(first.headers['message-id']).toBe(`<reply-7@${domain}>`);
    expect(second.headers['message-id']).toBe(first.headers['message-id']);
    one.close();
  }
});

test.each([
  [{ responseCode: 421 }, { again: true, reason: 'smtp_421' }],
  [{ responseCode: 200 }, { again: true, reason: 'smtp_200' }],
  [{ responseCode: 599 }, { again: false, reason: 'smtp_599' }],
  [{ responseCode: 500 }, { again: false, reason: 'smtp_500' }],
  [{ responseCode: 503 }, { again: true, reason: 'smtp_503' }],
  [
    { responseCode: 550, permanent: false },
    { again: true, reason: 'smtp_550' },
  ],
  [
    { responseCode: 451, permanent: true },
    { again: false, reason: 'smtp_451' },
  ],
  [
    { responseCode: 199, code: 'EAUTH' },
    { again: false, reason: 'EAUTH' },
  ],
  [
    { responseCode: 600, code: 'ECONNECTION' },
    { again: true, reason: 'ECONNECTION' },
  ],
  [{ code: 'EWHATEVER' }, { again: true, reason: 'other' }],
  [{ code: 42 }, { again: true, reason: 'other' }],
  [undefined, { again: true, reason: 'other' }],
])('a send that failed with %j is %j', (error, verdict) => {
  expect(relayVerdict(error)).toEqual(verdict);
});

test('e-mails share a pool of two connections to the relay, all closed with the sender', async () => {
  const relay = await startSmtpReceiver();
  try {
    // Idle connections would close on their own only after the minute of the socket's deadline.
    const pooled = new EmailSender({ smtpUrl: relay.url, from: 'chat@shop.example.com' }, 60_000);
    const email = repliesEmail('pool@example.com', [reply(1, 'hello', 'Alex')], true, links);
    await Promise.all(Array.from({ length: 6 }, () => pooled.send(email)));
    expect(relay.to('pool@example.com')).toHaveLength(6);
    expect(relay.connections).toBeLessThanOrEqual(2);
    expect(relay.open).toBeGreaterThan(0);
    pooled.close();
    await waitFor(() => expect(relay.open).toBe(0), 20_000);
  } finally {
    await relay.close();
  }
});

test("a confirmation e-mail's whole text: the site, the confirm link, and the stop link", () => {
  const confirm = 'https://bff.example.com/notifications/email/confirm?t=y';
  const email = confirmationEmail('c@example.com', { ...links, confirm });
  expect(email).toEqual({
    to: 'c@example.com',
    subject: 'Confirm e-mail replies for your chat on shop.example.com',
    text: [
      'Someone chatting on shop.example.com asked to be e-mailed at this address when an agent replies and they are not there.',
      '',
      'To confirm, open:',
      confirm,
      '',
      'If it was not you, ignore this e-mail: nothing more is sent to this address unless the link is opened.',
      '',
      'To stop e-mails about this chat:',
      links.stop,
    ].join('\n'),
    stop: links.stop,
  });
});
