/**
 * A place in a conversation's stream that is not a message: "every message
 * from this moment on". Every answer that carries a sessionToken carries one
 * (`streamPosition`), and a stream that has sent no message yet names its
 * events with one, so a client that opens or reopens its stream with it
 * (Last-Event-ID) gets, from history, whatever came since, even when no
 * message had an id yet (README "The live stream"). Message ids are the other
 * kind of stream position.
 *
 * The form is `t-` and the epoch milliseconds: 13 digits, nothing else, so it
 * can never carry anything a client made up into the stream.
 */
const TIME_POSITION = /^t-(\d{13})$/;

/**
 * Genesys stamps messages with its own clock; a position reaches
 * back this far so that no message is missed (one may come twice).
 */
export const POSITION_SKEW_MS = 5_000;

export function positionAt(epochMs: number): string {
  return `t-${String(Math.max(0, Math.floor(epochMs))).padStart(13, '0')}`;
}

/** The moment a time position names, or undefined when `id` is not one (a message id, or anything else). */
export function timeOfPosition(id: string): number | undefined {
  const match = TIME_POSITION.exec(id);
  return match ? Number(match[1]) : undefined;
}
