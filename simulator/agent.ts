import {
  outboundEvent,
  outboundText,
  presenceEvent,
  typingOnEvent,
  type GuestMessage,
  type StructuredMessageBody,
} from './frames';
import type { SimulatedAttachments } from './attachments';
import type { AvailabilityControls } from './availability';
import { isAvailabilityState, setAvailabilityState, type AvailabilityState } from './availabilityStates';
import type { ResolvedOptions } from './options';
import { receiptFor } from './profile';
import { cardReply, carouselReply, datePickerReply, demoPng, imageReply } from './richReplies';
import type { Conversation, SimulatedSession, Sessions } from './sessions';

/**
 * The scripted agent/bot on the Genesys side of each conversation. It answers
 * a guest text with an Outbound Typing On event, then a reply (docs/genesys-protocol.md#structuredmessage shapes).
 * Keywords in the guest text pick another script:
 *
 * | guest text contains | answer |
 * |---|---|
 * | `silence` | nothing at all |
 * | `quick replies` | a Structured message with QuickReply content ("Yes", "No") |
 * | `disconnect` | an Outbound Presence Disconnect with `metadata.readOnly:"true"` (naming Alex when he is there); the conversation becomes read-only |
 * | `send image` | a message with an image attachment (a PNG with an expiring download URL, richReplies.ts) |
 * | `carousel` | a Structured message with a Carousel of two cards, each with a Postback button |
 * | `card` | a Structured message with a Card: "Track order" and "Talk to a person" Postback buttons |
 * | `date picker` | a Structured message with a DatePicker offering two slots a day ahead |
 * | `human`, `talk to a person` (or the card's "Talk to a person" button) | a (simulated) human agent, "Alex", joins (an Outbound Presence Join naming Alex) and takes over: every later answer comes from a Human |
 * | `back to the bot` (while Alex is there) | Alex leaves (an Outbound Presence Disconnect, `readOnly:"false"`) and the bot answers again |
 * | anything else | `You said: <text>` |
 *
 * A ButtonResponse answer (a quick reply, a card's button, a date pick) gets `You chose: <text>`.
 */

export interface AgentControls {
  /** An Outbound Text (Structured with QuickReply content when `quickReplies` is given), now. */
  say(
    sessionToken: string,
    text: string,
    opts?: { originatingEntity?: 'Bot' | 'Human'; quickReplies?: string[] },
  ): void;
  /** An Outbound Typing On event, now. */
  typing(sessionToken: string): void;
  /** An Outbound Presence Disconnect; `readOnly` (default true) ends the conversation for sending. */
  disconnect(sessionToken: string, opts?: { readOnly?: boolean }): void;
  /**
   * A `Receipt` about one of the guest's messages (`messageId`: its echo's id), now, as the strict profile sends them
   * (profile.ts `receiptFor`): `Failed` with `reasons`, or `Delivered` or `Read`.
   */
  receipt(
    sessionToken: string,
    messageId: string,
    status: 'Delivered' | 'Read' | 'Failed',
    reasons?: { code: string; message: string }[],
  ): void;
}

type Reply =
  | { kind: 'text'; text: string; quickReplies?: string[] }
  | { kind: 'disconnect' }
  | { kind: 'leave' }
  | { kind: 'image' | 'card' | 'carousel' | 'datePicker' | 'human' }
  | { kind: 'availability'; state: AvailabilityState };

/** What the bot says when a keyword set the centre's availability. */
const AVAILABILITY_SAID: Record<AvailabilityState, string> = {
  open: 'The contact centre is now open, with agents free.',
  closed: 'The contact centre is now closed; it opens in about two hours.',
  busy: 'The contact centre is now open and busy: every agent is in a conversation.',
  holiday: 'The contact centre is now closed for a holiday until tomorrow.',
  emergency: 'The contact centre is now closed for an emergency.',
  no_agents: 'The contact centre is now open with nobody on the queue.',
};

function scriptFor(message: GuestMessage): Reply | undefined {
  const chosen = message.content?.find((c) => c.contentType === 'ButtonResponse') as
    { buttonResponse?: { text?: string; payload?: string } } | undefined;
  // The card's "Talk to a person" button does what it says.
  if (chosen?.buttonResponse?.payload === 'human') return { kind: 'human' };
  if (chosen) return { kind: 'text', text: `You chose: ${chosen.buttonResponse?.text ?? ''}` };
  const text = message.text ?? '';
  const lower = text.toLowerCase();
  // A state's name alone, and only alone: "open" in a sentence is the customer's, not the demo's.
  const state = lower.trim().replace(/ /g, '_');
  if (isAvailabilityState(state)) return { kind: 'availability', state };
  if (lower.includes('silence')) return undefined;
  if (lower.includes('quick replies'))
    return { kind: 'text', text: 'What would you like to do?', quickReplies: ['Yes', 'No'] };
  if (lower.includes('disconnect')) return { kind: 'disconnect' };
  if (lower.includes('back to the bot')) return { kind: 'leave' };
  if (lower.includes('send image')) return { kind: 'image' };
  if (lower.includes('carousel')) return { kind: 'carousel' };
  if (lower.includes('card')) return { kind: 'card' };
  if (lower.includes('date picker')) return { kind: 'datePicker' };
  if (lower.includes('human') || lower.includes('talk to a person')) return { kind: 'human' };
  if (text === '') return undefined; // an attachment-only message: nothing to answer
  return { kind: 'text', text: `You said: ${text}` };
}

export class ScriptedAgent implements AgentControls {
  private readonly timers = new Set<NodeJS.Timeout>();

  /** Conversations a (simulated) human agent has taken over from the bot. */
  private readonly handedOver = new WeakSet<Conversation>();

  constructor(
    private readonly sessions: Sessions,
    private readonly options: ResolvedOptions,
    private readonly attachments: SimulatedAttachments,
    /** The centre's availability, which the demo's keywords set (availabilityStates.ts). */
    private readonly availability: () => AvailabilityControls,
  ) {}

  /**
   * A guest Text or Structured message reached the conversation. `readId`: the message's id, to say `Read` of when
   * the agent answers it (the strict profile's receipts).
   */
  onGuestMessage(session: SimulatedSession, message: GuestMessage, readId?: string): void {
    const agent = this.options.agent;
    if (!agent.enabled) return;
    const reply = scriptFor(message);
    if (!reply) return;
    const conversation = session.conversation;
    this.later(agent.typingDelayMs, () =>
      this.deliverIfCurrent(session, conversation, outboundEvent(typingOnEvent), false),
    );
    this.later(agent.replyDelayMs, () => {
      if (!this.isCurrent(session, conversation)) return;
      if (reply.kind === 'disconnect') this.endConversation(session, true);
      else if (reply.kind === 'leave') this.handBack(session);
      else {
        // A human agent joins before saying hello, as on Genesys: an Outbound Presence Join.
        if (reply.kind === 'human' && !this.handedOver.has(conversation))
          this.sessions.deliver(session, outboundEvent(presenceEvent('Join'), undefined, 'Human'));
        if (readId !== undefined) this.sessions.deliver(session, receiptFor(readId, 'Read'));
        this.sessions.deliver(session, this.answer(session, reply));
      }
    });
  }

  /** Alex leaves (an Outbound Presence Disconnect that keeps the conversation open) and the bot carries on. */
  private handBack(session: SimulatedSession): void {
    const conversation = session.conversation;
    const entity = this.options.agent.originatingEntity;
    if (!this.handedOver.has(conversation)) {
      this.sessions.deliver(session, outboundText('There is no agent here to leave; I am still the bot.', entity));
      return;
    }
    this.handedOver.delete(conversation);
    this.sessions.deliver(session, outboundEvent(presenceEvent('Disconnect'), { readOnly: 'false' }, 'Human'));
    this.sessions.deliver(session, outboundText("You're back with the bot. How can I help?", entity));
  }

  private answer(
    session: SimulatedSession,
    reply: Exclude<Reply, { kind: 'disconnect' | 'leave' }>,
  ): StructuredMessageBody {
    const conversation = session.conversation;
    if (reply.kind === 'human') {
      this.handedOver.add(conversation);
      return outboundText(
        "Hi, I'm Alex, a (simulated) human agent. I have your conversation with the bot; how can I help?",
        'Human',
      );
    }
    const entity = this.handedOver.has(conversation) ? 'Human' : this.options.agent.originatingEntity;
    switch (reply.kind) {
      case 'availability':
        setAvailabilityState(this.availability(), reply.state);
        return outboundText(AVAILABILITY_SAID[reply.state], entity);
      case 'image':
        return imageReply(entity, this.attachments.agentFile(session, 'picture.png', 'image/png', demoPng()));
      case 'card':
        return cardReply(entity);
      case 'carousel':
        return carouselReply(entity);
      case 'datePicker':
        return datePickerReply(entity);
      case 'text':
        return outboundText(reply.text, entity, reply.quickReplies);
    }
  }

  /** The guest's autostart Presence Join reached the conversation (docs/genesys-protocol.md#onmessage-events-typing-join-clear). */
  onJoin(session: SimulatedSession): void {
    const agent = this.options.agent;
    if (!agent.enabled || agent.greeting === undefined) return;
    const greeting = agent.greeting;
    const conversation = session.conversation;
    this.later(agent.replyDelayMs, () =>
      this.deliverIfCurrent(session, conversation, outboundText(greeting, agent.originatingEntity), true),
    );
  }

  say(
    sessionToken: string,
    text: string,
    opts: { originatingEntity?: 'Bot' | 'Human'; quickReplies?: string[] } = {},
  ): void {
    const session = this.sessionFor(sessionToken);
    const body = outboundText(text, opts.originatingEntity ?? this.options.agent.originatingEntity, opts.quickReplies);
    this.sessions.deliver(session, body);
  }

  typing(sessionToken: string): void {
    this.sessions.deliver(this.sessionFor(sessionToken), outboundEvent(typingOnEvent), { store: false });
  }

  disconnect(sessionToken: string, opts: { readOnly?: boolean } = {}): void {
    this.endConversation(this.sessionFor(sessionToken), opts.readOnly ?? true);
  }

  receipt(
    sessionToken: string,
    messageId: string,
    status: 'Delivered' | 'Read' | 'Failed',
    reasons?: { code: string; message: string }[],
  ): void {
    this.sessions.deliver(this.sessionFor(sessionToken), receiptFor(messageId, status, reasons));
  }

  /** Cancels every scheduled answer (reset, stop). */
  cancelAll(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** docs/genesys-protocol.md#structuredmessage "conversation disconnected": the readOnly flag travels as a string in metadata. */
  private endConversation(session: SimulatedSession, readOnly: boolean): void {
    const from = this.handedOver.has(session.conversation) ? 'Human' : undefined;
    this.sessions.deliver(session, outboundEvent(presenceEvent('Disconnect'), { readOnly: String(readOnly) }, from));
    if (readOnly) session.conversation.readOnly = true;
  }

  private sessionFor(sessionToken: string): SimulatedSession {
    const session = this.sessions.get(sessionToken);
    if (!session) throw new Error(`simulator agent: no session with token ${sessionToken}`);
    return session;
  }

  /** Answers only into the conversation that asked, if it is still open. */
  private isCurrent(session: SimulatedSession, conversation: Conversation): boolean {
    return (
      !session.expired &&
      !conversation.readOnly &&
      session.conversation === conversation &&
      this.sessions.get(session.token) === session
    );
  }

  private deliverIfCurrent(
    session: SimulatedSession,
    conversation: Conversation,
    body: StructuredMessageBody,
    store: boolean,
  ): void {
    if (this.isCurrent(session, conversation)) this.sessions.deliver(session, body, { store });
  }

  private later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    this.timers.add(timer);
  }
}
