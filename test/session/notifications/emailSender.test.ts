import fc from 'fast-check';
import type { NormalizedMessage } from '../../../src/domain/message';
import { EmailSender, repliesEmail } from '../../../src/session/notifications';
import { startSmtpReceiver, type SmtpReceiver } from '../../support/smtpReceiver';

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
