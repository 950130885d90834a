import type { Simulator } from '../../simulator';
import type { TruthMessage } from './checker';

interface StoredMessage {
  id?: string;
  type?: string;
  direction?: string;
  text?: string;
  channel?: { time?: string | null };
}

/**
 * What Genesys (the simulator) holds for each customer, kept as the run goes: a chat's conversation is
 * cleared when it ends, so its messages are gathered every half second and just before its end, and
 * whatever reaches the token after the end is gathered too. Presence and typing events are left out: the
 * service shows them as `presence` and `session` events, not as messages.
 */
export class Truth {
  private readonly tokens = new Map<string, string>();
  private readonly messages = new Map<string, Map<string, TruthMessage>>();
  private indexed = 0;

  constructor(private readonly sim: Simulator) {}

  /** Learns whose Genesys session each new guest message came from (each customer's texts start with its name). */
  index(): void {
    const received = this.sim.received;
    for (; this.indexed < received.length; this.indexed += 1) {
      const f = received[this.indexed]!;
      const text = f.frame?.action === 'onMessage' ? f.frame?.message?.text : undefined;
      const name = typeof text === 'string' ? /^(s\d+\.\d+) /.exec(text)?.[1] : undefined;
      if (name && f.sessionToken && !this.tokens.has(name)) this.tokens.set(name, f.sessionToken);
    }
  }

  /** Every Genesys session token known so far. */
  guestTokens(): string[] {
    this.index();
    return [...this.tokens.values()];
  }

  tokenOf(name: string): string | undefined {
    return this.tokens.get(name);
  }

  /** Gathers what the conversation holds now, for one customer or every one. */
  gather(name?: string): void {
    this.index();
    for (const [who, token] of this.tokens) {
      if (name !== undefined && who !== name) continue;
      let kept = this.messages.get(who);
      if (!kept) this.messages.set(who, (kept = new Map()));
      for (const m of this.sim.conversationMessages(token) as StoredMessage[]) {
        if (!m.id || m.type === 'Event' || kept.has(m.id)) continue;
        kept.set(m.id, {
          id: m.id,
          direction: m.direction === 'Outbound' ? 'outbound' : 'inbound',
          text: m.text,
          at: Date.parse(m.channel?.time ?? '') || 0,
        });
      }
    }
  }

  /** The conversation as gathered, oldest first. */
  history(name: string): TruthMessage[] {
    return [...(this.messages.get(name)?.values() ?? [])];
  }
}
