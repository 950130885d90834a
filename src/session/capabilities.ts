import type { Capabilities } from '../domain/api';
import type { SessionResponse } from '../genesys/guest';
import { KB, type MessengerFeatures } from '../genesys/platform';
import { typeAllowed } from './attachments';

/**
 * What a deployment allows a custom UI (GET /capabilities), from its
 * config.json (docs/genesys-protocol.md#deployment-configuration-configjson)
 * and the session's SessionResponse, which can narrow the media types and
 * the size and names the blocked extensions.
 */
export function capabilitiesOf(
  features: MessengerFeatures,
  info: SessionResponse,
  now: number,
  slidingExpiresAt?: number,
  readReceipts = false,
): Capabilities {
  const inbound = info.allowedMedia?.inbound;
  const sessionTypes = (inbound?.fileTypes ?? []).flatMap((t) => (t.type ? [t.type] : []));
  const { fromSession } = features.fileUpload;
  const configTypes = features.fileUpload.mediaTypes;
  // With enableAttachments (true or false) the session alone decides, as the SDK reads it; otherwise what both
  // allow: each list's types the other's (possibly wildcard) types cover. A session that states a list narrows
  // the config's even when its list is empty (Genesys takes no type then); only one that states none leaves them.
  const mediaTypes = fromSession
    ? sessionTypes
    : inbound?.fileTypes === undefined
      ? configTypes
      : [
          ...new Set([
            ...configTypes.filter((t) => typeAllowed(t, sessionTypes)),
            ...sessionTypes.filter((t) => typeAllowed(t, configTypes)),
          ]),
        ];
  const sessionMax = inbound?.maxFileSizeKB !== undefined ? inbound.maxFileSizeKB * KB : fromSession ? 0 : Infinity;
  const maxBytes = fromSession ? sessionMax : Math.min(features.fileUpload.maxBytes, sessionMax);
  // The session's current expiry (it slides with each message: sessionExpiry.ts), else the SessionResponse's snapshot.
  const expiresAt =
    slidingExpiresAt !== undefined
      ? new Date(slidingExpiresAt)
      : info.expirationDate !== undefined
        ? new Date(info.expirationDate * 1000)
        : info.durationSeconds !== undefined
          ? new Date(now + info.durationSeconds * 1000)
          : undefined;
  return {
    // On only when config.json has upload modes with types and a size, as Genesys's own client reads it.
    attachments: {
      enabled: mediaTypes.length > 0 && maxBytes > 0,
      mediaTypes,
      maxBytes,
      blockedExtensions: info.blockedExtensions ?? [],
    },
    endChat: features.conversationClear,
    disconnect: features.disconnect,
    typing: { agent: features.agentTypingIndicator, guest: features.userTypingIndicator },
    autoStart: features.autoStart,
    languages: features.languages,
    defaultLanguage: features.defaultLanguage ?? null,
    markdown: features.markdown,
    // The deployment's own setting (READ_RECEIPTS): nothing Genesys publishes says whether it takes them.
    readReceipts,
    authentication: {
      enabled: features.auth.enabled,
      allowSessionUpgrade: features.auth.enabled && features.auth.allowSessionUpgrade,
    },
    session: { expiresAt: expiresAt ? expiresAt.toISOString() : null },
  };
}
