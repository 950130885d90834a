import type { GuestSession } from '../genesys/guest';
import type { MessengerFeatures } from '../genesys/platform';
import type { Logger } from '../observability/logger';
import { sessionsStarted } from '../observability/metrics';
import type { Attributes } from './attributes';
import { fingerprint } from './tokens';

/**
 * Autostart (docs/genesys-protocol.md#onmessage-events-typing-join-clear):
 * when the deployment has it on, a new session announces itself with
 * Presence Join carrying the attributes, so they reach Genesys before routing
 * needs them. Returns the delivered fingerprint; on failure the attributes
 * stay undelivered and ride on the first message instead. Every new
 * conversation passes here, so it is counted here.
 */
export async function autoStart(
  session: GuestSession,
  attrs: Attributes,
  deps: { messengerFeatures: { get(): Promise<MessengerFeatures> }; logger: Logger },
): Promise<string> {
  sessionsStarted.inc({ authenticated: String(session.signIn.value !== undefined) });
  let features;
  try {
    features = await deps.messengerFeatures.get();
  } catch {
    return '';
  }
  if (!features.autoStart) return '';
  const customAttributes = Object.keys(attrs).length > 0 ? attrs : undefined;
  try {
    await session.sendJoin(customAttributes);
    return customAttributes ? fingerprint(customAttributes) : '';
  } catch (error) {
    deps.logger.warn({ err: error }, 'autostart Join failed; attributes will go with the first message');
    return '';
  }
}
