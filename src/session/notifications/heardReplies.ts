import { z } from 'zod';
import { type NormalizedMessage, normalizedMessageSchema } from '../../domain/message';
import type { SharedStore } from '../../store';
import type { Sealer } from '../tokens';
import { recordKeys } from './pushRecords';

/** The most replies `notify-heard:{sk}` keeps: the newest; an older one is left to the watch's history read. */
export const HEARD_MAX = 20;
/** Compare-and-swap rounds one reply's write may take before it is left to the watch's history read. */
const WRITE_TRIES = 8;

const heardSchema = z.object({ typ: z.literal('heard'), m: z.array(normalizedMessageSchema).max(HEARD_MAX) });

/**
 * The replies a chat's live socket heard while no page stream of it was open (`notify-heard:{sk}`, sealed, as the
 * subscription's `chat` is): what a watch pushes without reading history. The live socket stays open, idle, after its
 * page stream closed; the watch begins NOTIFY_AFTER_SECONDS later, and the history read that would otherwise find a
 * reply that came in between may be refused for most of a minute (Genesys allows a session ten reads a minute, and
 * the page that just left may have spent them). A page stream opening removes the record: what it shows is shown, and
 * what came before it the page read itself. Which replies are pushed is still decided by the per-message records a
 * push claims (pushRecords.ts), so a reply both here and in history, or heard by the watch too, is pushed once.
 */
export class HeardReplies {
  constructor(
    private readonly store: SharedStore,
    private readonly sealer: Sealer,
    /** How long the record lives: the chat's lifetime. */
    private readonly ttlMs: number,
  ) {}

  /** Adds `message` (oldest first, the newest HEARD_MAX kept); false when the store was too busy to take it. */
  async add(sk: string, message: NormalizedMessage): Promise<boolean> {
    const key = recordKeys(sk).heard;
    for (let i = 0; i < WRITE_TRIES; i++) {
      const current = await this.store.get(key);
      const held = current === undefined ? [] : await this.open(current);
      if (held.some((m) => m.id === message.id)) return true;
      const value = await this.sealer.seal({ typ: 'heard', m: [...held, message].slice(-HEARD_MAX) });
      const done =
        current === undefined
          ? await this.store.claim(key, value, this.ttlMs)
          : await this.store.swap(key, current, value, this.ttlMs);
      if (done) return true;
    }
    return false;
  }

  /** The replies held for the chat, oldest first. */
  async read(sk: string): Promise<NormalizedMessage[]> {
    const value = await this.store.get(recordKeys(sk).heard);
    return value === undefined ? [] : this.open(value);
  }

  async clear(sk: string): Promise<void> {
    await this.store.remove(recordKeys(sk).heard);
  }

  /** A record that does not open (sealed with a key since retired, or not this service's) holds nothing. */
  private async open(value: string): Promise<NormalizedMessage[]> {
    const parsed = heardSchema.safeParse(await this.sealer.unseal(value).catch(() => undefined));
    return parsed.success ? parsed.data.m : [];
  }
}
