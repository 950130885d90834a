import type { EnvOverrides } from './app';
import { startPushReceiver, vapidPair, type PushReceiver } from './pushReceiver';
import { startStack, type Stack } from './stack';

/** What a Web Push suite runs against: the stack with Web Push on, a push service on loopback, and the VAPID keys. */
export interface PushStack {
  stack: Stack;
  receiver: PushReceiver;
  vapid: { publicKey: string; privateKey: string };
}

/**
 * The stack (strict simulator) with Web Push on: fresh VAPID keys, a push a second after the page left, with its
 * preview; and a push service on loopback for the test's subscriptions. `env` adds to those settings or overrides
 * them (the watch's ceilings, e-mail).
 */
export async function startPushStack(env: EnvOverrides = {}): Promise<PushStack> {
  const vapid = vapidPair();
  const receiver = await startPushReceiver();
  try {
    const stack = await startStack({
      env: {
        VAPID_PUBLIC_KEY: vapid.publicKey,
        VAPID_PRIVATE_KEY: vapid.privateKey,
        VAPID_SUBJECT: 'mailto:ops@example.com',
        NOTIFY_AFTER_SECONDS: '1',
        NOTIFY_PREVIEW: 'on',
        ...env,
      },
    });
    return { stack, receiver, vapid };
  } catch (error) {
    await receiver.close();
    throw error;
  }
}

/** Closes what startPushStack started; what never started is skipped. */
export async function closePushStack(push: Partial<PushStack> | undefined): Promise<void> {
  await push?.stack?.close();
  await push?.receiver?.close();
}
