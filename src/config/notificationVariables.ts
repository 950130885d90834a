import { createECDH } from 'node:crypto';
import { doc, intFrom, oneOf, text } from './envValues';

/**
 * Reaching a customer who left (docs/api.md#notifications-reaching-a-customer-who-left): the VAPID key pair and
 * subject a deployment signs its Web Pushes with (RFC 8292), how long a chat goes unseen before its replies are
 * pushed, and whether a push may carry the reply's text; the SMTP relay and sender its e-mails go through, how long
 * a human agent's reply stays unread before it is e-mailed, whether the e-mail carries the replies, and how many
 * e-mails one address gets a day. Per deployment: in a deployments file, `notifications` of an entry.
 */

const notifications = (summary: string, details?: string) => doc({ group: 'notifications', summary, details });

export const notificationEnv = {
  VAPID_PUBLIC_KEY: text().meta(
    notifications(
      "The deployment's VAPID public key (RFC 8292): an uncompressed P-256 point, base64url (87 characters).",
      'Set with `VAPID_PRIVATE_KEY` and `VAPID_SUBJECT`; all three unset: Web Push is off ' +
        '(`capabilities.notifications.push` is `null`). Make a pair with `npx web-push generate-vapid-keys`. The ' +
        'page subscribes with this key, so changing it orphans every subscription made with the old one.',
    ),
  ),
  VAPID_PRIVATE_KEY: text().meta({
    ...notifications("The deployment's VAPID private key: a P-256 scalar, base64url (43 characters)."),
    secret: true,
    required: 'with VAPID_PUBLIC_KEY',
  }),
  VAPID_SUBJECT: text().meta({
    ...notifications(
      'Who push services may contact about this sender: a `mailto:` address or an `https:` URL (RFC 8292 `sub`).',
    ),
    required: 'with VAPID_PUBLIC_KEY',
    example: 'mailto:ops@example.com',
  }),
  NOTIFY_AFTER_SECONDS: intFrom('NOTIFY_AFTER_SECONDS', 60, 1, 86_400).meta(
    notifications(
      'How long no page stream of a chat has been open before its agent and bot replies are pushed, in seconds.',
      'Judged across every instance (a record in the shared store that each open stream renews).',
    ),
  ),
  NOTIFY_PREVIEW: oneOf('NOTIFY_PREVIEW', ['off', 'on'], 'off').meta(
    notifications(
      "Whether a push carries the first 120 characters of the reply's text (`preview`).",
      'Off: a push says only who wrote (`from`); the push service and the device never see the text.',
    ),
  ),
  SMTP_URL: text().meta({
    ...notifications(
      "The site's SMTP relay the deployment's e-mails go through: `smtps://` (TLS) or `smtp://` (STARTTLS when offered).",
      'Set with `EMAIL_FROM`; both unset: e-mail is off (`capabilities.notifications.email` is `false`). May carry ' +
        "the relay's credentials (`smtps://user:pass@relay.example.com:465`). Sent with nodemailer.",
    ),
    secret: true,
    example: 'smtps://user:pass@relay.example.com:465',
  }),
  EMAIL_FROM: text().meta({
    ...notifications("The sender of the deployment's e-mails (`From`): an address, optionally with a display name."),
    required: 'with SMTP_URL',
    example: '"Example Shop" <chat@shop.example.com>',
  }),
  EMAIL_AFTER_SECONDS: intFrom('EMAIL_AFTER_SECONDS', 900, 1, 86_400).meta(
    notifications(
      "How long a human agent's reply stays unread (no page stream open, not shown) before it is e-mailed, in seconds.",
      "It is also the window: a chat's unread replies of one window go as one e-mail, and a chat gets at most one " +
        'e-mail per window. Bot replies are never e-mailed.',
    ),
  ),
  EMAIL_PREVIEW: oneOf('EMAIL_PREVIEW', ['off', 'on'], 'off').meta(
    notifications(
      "Whether an e-mail carries the unread replies' text.",
      'Off: the e-mail only says that the agent replied, with the link back to the chat; the text never leaves ' +
        'for the mail system.',
    ),
  ),
  EMAIL_DAILY_MAX: intFrom('EMAIL_DAILY_MAX', 10, 1, 1000).meta({
    ...notifications(
      'The most e-mails (confirmations included) one address gets from the deployment per UTC day, across all chats.',
      'Counted in the shared store, so it holds across instances; what goes over it is not sent (and counted).',
    ),
    holds: 'deployment-shared',
  }),
};

/** What is wrong with a VAPID key pair (base64url P-256), or undefined. */
export function vapidPairProblem(publicKey: string, privateKey: string): string | undefined {
  const pub = Buffer.from(publicKey, 'base64url');
  if (pub.length !== 65 || pub[0] !== 4) return 'must be an uncompressed P-256 public key, base64url (87 characters)';
  const priv = Buffer.from(privateKey, 'base64url');
  if (priv.length !== 32) return 'must be a P-256 private key, base64url (43 characters)';
  try {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(priv);
    if (!ecdh.getPublicKey().equals(pub)) return 'is not the public key of the private key given with it';
  } catch {
    return 'must be a P-256 private key, base64url (43 characters)';
  }
  return undefined;
}
