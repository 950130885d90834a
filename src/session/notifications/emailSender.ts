import { createTransport, type Transporter } from 'nodemailer';
import type { EmailConfig } from '../../config/deployment';
import type { NormalizedMessage } from '../../domain/message';

/** A reply's text in an e-mail, at most this many characters of it. */
const REPLY_CHARS = 2000;
/** The most replies one e-mail quotes (the newest). */
const REPLIES_MAX = 20;

export interface EmailLinks {
  /** The chat page (the opt-in's `url`). */
  chat: string;
  stop: string;
  confirm?: string;
}

/** One e-mail as it goes out: plain text, with the stop link in the body and in List-Unsubscribe (RFC 8058). */
export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
  stop: string;
}

/** The confirmation an anonymous opt-in gets: nothing else is sent to the address until it is followed. */
export function confirmationEmail(to: string, links: Required<EmailLinks>): OutgoingEmail {
  const site = new URL(links.chat).host;
  return {
    to,
    subject: `Confirm e-mail replies for your chat on ${site}`,
    text: [
      `Someone chatting on ${site} asked to be e-mailed at this address when an agent replies and they are not there.`,
      '',
      'To confirm, open:',
      links.confirm,
      '',
      'If it was not you, ignore this e-mail: nothing more is sent to this address unless the link is opened.',
      '',
      'To stop e-mails about this chat:',
      links.stop,
    ].join('\n'),
    stop: links.stop,
  };
}

/** The e-mail of a chat's unread agent replies: their text (`preview`), or only a notice. */
export function repliesEmail(
  to: string,
  replies: readonly NormalizedMessage[],
  preview: boolean,
  links: EmailLinks,
): OutgoingEmail {
  const site = new URL(links.chat).host;
  const newest = replies[replies.length - 1];
  const from = newest?.from?.name ?? 'An agent';
  const quoted = preview
    ? replies.slice(-REPLIES_MAX).flatMap((m) => {
        const text = (m.text ?? '(an attachment or a card: open the chat to see it)').slice(0, REPLY_CHARS);
        return [`${m.from?.name ?? 'Agent'}:`, ...text.split('\n').map((line) => `> ${line}`), ''];
      })
    : [`${replies.length === 1 ? 'A reply is' : `${replies.length} replies are`} waiting for you in the chat.`, ''];
  return {
    to,
    subject: `${from} replied in your chat on ${site}`,
    text: [
      `${from} replied while you were away from your chat on ${site}.`,
      '',
      ...quoted,
      'Open the chat to answer:',
      links.chat,
      '',
      'To stop e-mails about this chat:',
      links.stop,
    ].join('\n'),
    stop: links.stop,
  };
}

/**
 * Sends the deployment's e-mails through the site's SMTP relay (SMTP_URL) with nodemailer, a small pool of
 * connections with deadlines, so a relay that hangs holds up nothing for long.
 */
export class EmailSender {
  private readonly transport: Transporter;
  /** The sender's domain, for Message-IDs. */
  private readonly domain: string;

  constructor(
    private readonly config: Pick<EmailConfig, 'smtpUrl' | 'from'>,
    timeoutMs: number,
  ) {
    this.transport = createTransport({
      url: config.smtpUrl,
      pool: true,
      maxConnections: 2,
      // A message whose connection closed before it went (a 421 on a reused connection) is failed to the caller, not
      // sent again by the pool on a new one: every transaction is a try the outbox's schedule counts, bounds and logs.
      maxRequeues: 0,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
    });
    this.domain = /@([^\s<>@]+)>?\s*$/.exec(config.from)?.[1] ?? 'localhost';
  }

  /**
   * Resolves when the relay accepted the e-mail; rejects with what went wrong (relayVerdict tells whether to try
   * again). `id` makes its Message-ID, the same on every try: a mailbox that got one try that the relay took without
   * this service hearing it shows the two as one message.
   */
  async send(email: OutgoingEmail, id?: string): Promise<void> {
    await this.transport.sendMail({
      ...(id ? { messageId: `<${id}@${this.domain}>` } : {}),
      from: this.config.from,
      to: email.to,
      subject: email.subject,
      text: email.text,
      headers: { 'List-Unsubscribe': `<${email.stop}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
    });
  }

  close(): void {
    this.transport.close();
  }
}

/**
 * What a failed send says about trying again, and why, in words from a closed set (for a metric or a log line): a
 * relay's reply by its code (RFC 5321: 4yz transient, 5yz permanent but for 503, a command out of sequence, which a
 * new connection clears), else nodemailer's error code. A connection that failed (refused, reset, timed out, TLS, DNS)
 * is tried again; what a retry cannot change (credentials, the message or its envelope refused before any reply) is
 * not.
 */
export function relayVerdict(error: unknown): { again: boolean; reason: string } {
  const e = (error ?? {}) as { code?: unknown; responseCode?: unknown; permanent?: unknown };
  if (typeof e.responseCode === 'number' && e.responseCode >= 200 && e.responseCode < 600) {
    const permanent = typeof e.permanent === 'boolean' ? e.permanent : e.responseCode >= 500 && e.responseCode !== 503;
    return { again: !permanent, reason: `smtp_${e.responseCode}` };
  }
  const code = typeof e.code === 'string' ? e.code : '';
  if (FINAL_CODES.has(code)) return { again: false, reason: code };
  return { again: true, reason: AGAIN_CODES.has(code) ? code : 'other' };
}

/** nodemailer's codes for a failure a retry cannot mend. */
const FINAL_CODES = new Set([
  'EAUTH',
  'ENOAUTH',
  'EOAUTH2',
  'ECONFIG',
  'EENVELOPE',
  'EMESSAGE',
  'EMAXRECIPIENTS',
  'EREQUIRETLS',
  'EFILEACCESS',
  'EURLACCESS',
]);
/** nodemailer's codes for a connection that failed, named as they are in a log line; anything else is `other`. */
const AGAIN_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'ETLS',
  'EPROXY',
  'EPROTOCOL',
  'EMAXLIMIT',
]);
