import { createECDH } from 'node:crypto';
import { doc, intFrom, oneOf, text } from './envValues';

/**
 * Reaching a customer who left (docs/api.md#notifications-reaching-a-customer-who-left): the VAPID key pair and
 * subject a deployment signs its Web Pushes with (RFC 8292), how long a chat goes unseen before its replies are
 * pushed, and whether a push may carry the reply's text. Per deployment: in a deployments file, `notifications` of
 * an entry.
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
