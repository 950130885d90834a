import { AppError } from '../../domain/errors';
import { MAX_QUEUE_SHARE } from '../../genesys/guest';
import { sessionKeyOf, type SharedStore } from '../../store';

/**
 * With a shared store, the session's message rate (GENESYS_MESSAGES_PER_SECOND)
 * is counted across instances too (each instance paces only what it sends:
 * src/genesys/guest/desk/requestDesk.ts). A send waits its turn while that is
 * within 70 % of the request deadline (as on one instance, requestDesk.ts), and is refused with the wait beyond.
 */
export async function takeSharedSendTurn(
  store: SharedStore,
  guestToken: string,
  genesys: { messagesPerSecond: number; timeoutMs: number },
  now: () => number,
): Promise<void> {
  if (!store.shared) return;
  const perSecond = genesys.messagesPerSecond;
  const giveUpAt = now() + genesys.timeoutMs * MAX_QUEUE_SHARE;
  // Bounded in tries too: a clock that stands still (a test's) must not make this wait forever.
  const maxTries = 2 * perSecond * Math.ceil(genesys.timeoutMs / 1000);
  for (let attempt = 0; ; attempt++) {
    const waitMs = await store.take(`rate:messages:${sessionKeyOf(guestToken)}`, perSecond, 1000);
    if (waitMs <= 0) return;
    if (now() + waitMs > giveUpAt || attempt >= maxTries) {
      throw new AppError(
        'rate_limited',
        `At most ${perSecond} messages a second per session; wait before sending again.`,
        {
          retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
        },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}
