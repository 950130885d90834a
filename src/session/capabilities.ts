import type { Capabilities } from '../domain/api';
import type { SessionResponse } from '../genesys/guest/frames';
import type { MessengerFeatures } from '../genesys/platform/messengerConfig';

/**
 * What a deployment allows a custom UI (GET /capabilities), from its
 * config.json (docs/genesys-protocol.md#deployment-configuration-configjson)
 * and the session's SessionResponse, which can narrow the media types and
 * the size and names the blocked extensions.
 */
export function capabilitiesOf(features: MessengerFeatures, info: SessionResponse, now: number): Capabilities {
  const inbound = info.allowedMedia?.inbound;
  const sessionTypes = (inbound?.fileTypes ?? []).flatMap((t) => (t.type ? [t.type] : []));
  const mediaTypes = sessionTypes.length > 0 && !sessionTypes.includes('*/*') ? features.fileUpload.mediaTypes.filter((t) => sessionTypes.includes(t)) : features.fileUpload.mediaTypes;
  const sessionMax = inbound?.maxFileSizeKB !== undefined ? inbound.maxFileSizeKB * 1024 : Infinity;
  const expiresAt =
    info.expirationDate !== undefined ? new Date(info.expirationDate * 1000) : info.durationSeconds !== undefined ? new Date(now + info.durationSeconds * 1000) : undefined;
  return {
    // Genesys may allow uploads, but this service does not offer them yet.
    attachments: { enabled: false, mediaTypes, maxBytes: Math.min(features.fileUpload.maxBytes, sessionMax), blockedExtensions: info.blockedExtensions ?? [] },
    endChat: features.conversationClear,
    disconnect: features.disconnect,
    typing: { agent: features.agentTypingIndicator, guest: features.userTypingIndicator },
    autoStart: features.autoStart,
    languages: features.languages,
    defaultLanguage: features.defaultLanguage ?? null,
    markdown: features.markdown,
    authentication: { enabled: false, allowSessionUpgrade: features.auth.allowSessionUpgrade },
    session: { expiresAt: expiresAt ? expiresAt.toISOString() : null },
  };
}
