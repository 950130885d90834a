import { z } from 'zod';
import { type NormalizedMessage, normalizedMessageSchema } from '../../domain/message';
import { changeRecord, type SharedStore } from '../../store';
import type { Sealer } from '../tokens';
import { recordKeys } from './pushRecords';

/** The most messages `notify-heard:{sk}` keeps: the newest; an older one is left to the watch's history read. */
export const HEARD_MAX = 20;
/** Compare-and-swap rounds one message's write may take before it is left to the watch's history read. */
const WRITE_TRIES = 8;

const heardSchema = z.object({ typ: z.literal('heard'), m: z.array(normalizedMessageSchema).max(HEARD_MAX) });

export type HeardOutcome = 'kept' | 'unwanted' | 'busy';

/**
 * The replies a chat's live socket heard while no page stream of it was open (`notify-heard:{sk}`, sealed, as the
 * subscription's `chat` is): what a watch pushes without reading history. The live socket stays open, idle, after its
 * page stream closed; the watch begins NOTIFY_AFTER_SECONDS later, and the history read that would otherwise find a
 * reply that came in between may be refused for most of a minute (Genesys allows a session ten reads a minute, and
 * the page that just left may have spent them). The guest's own messages are kept too, without their text: as in
 * history, the watch takes only the replies after the guest last wrote. A page stream opening removes the record:
 * what it shows is shown, and what came before it the page read itself. Which replies are pushed is still decided by
 * the per-message records a push claims (pushRecords.ts), so a reply both here and in history, or heard by the watch
 * too, is pushed once.
 */
export class HeardReplies {
  /** Each chat's writes under way, one after another, so the record keeps the order they were heard in. */
  private readonly writing = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: SharedStore,
    private readonly sealer: Sealer,
    /** How long the record lives: the chat's lifetime. */
    private readonly ttlMs: number,
  ) {}

  /**
   * Adds `message` after every message added before it for the chat, if `wanted` (asked in turn) says the chat has
   * an opt-in; the newest HEARD_MAX are kept. Rejects when the store does not answer.
   */
  add(sk: string, message: NormalizedMessage, wanted: () => Promise<boolean>): Promise<HeardOutcome> {
    const written = (this.writing.get(sk) ?? Promise.resolve())
      .catch(() => undefined)
      .then(async () => ((await wanted()) ? this.write(sk, kept(message)) : 'unwanted'));
    const settled = written.catch(() => undefined);
    this.writing.set(sk, settled);
    void settled.then(() => {
      if (this.writing.get(sk) === settled) this.writing.delete(sk);
    });
    return written;
  }

  /** The messages held for the chat, oldest first. */
  async read(sk: string): Promise<NormalizedMessage[]> {
    const value = await this.store.get(recordKeys(sk).heard);
    return value === undefined ? [] : this.open(value);
  }

  async clear(sk: string): Promise<void> {
    await this.store.remove(recordKeys(sk).heard);
  }

  private async write(sk: string, message: NormalizedMessage): Promise<HeardOutcome> {
    const changed = await changeRecord(
      this.store,
      recordKeys(sk).heard,
      this.ttlMs,
      async (current) => {
        const held = current === undefined ? [] : await this.open(current);
        if (held.some((m) => m.id === message.id)) return { answer: 'kept' as const };
        const m = [...held, message].slice(-HEARD_MAX);
        return { write: await this.sealer.seal({ typ: 'heard', m }), answer: 'kept' as const };
      },
      WRITE_TRIES,
    );
    return changed ? changed.answer : 'busy';
  }

  /** A record that does not open (sealed with a key since retired, or not this service's) holds nothing. */
  private async open(value: string): Promise<NormalizedMessage[]> {
    const parsed = heardSchema.safeParse(await this.sealer.unseal(value).catch(() => undefined));
    return parsed.success ? parsed.data.m : [];
  }
}

/** What is kept of a message: a reply whole (its push shows it), the guest's only as the place it marks. */
function kept(message: NormalizedMessage): NormalizedMessage {
  if (message.direction === 'outbound') return message;
  return { id: message.id, direction: message.direction, type: message.type, time: message.time };
}
