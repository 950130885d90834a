'use client';

import { Fragment, useEffect, useRef, useState, type ReactNode } from 'react';
import { followNewest, type ChatMessage, type MarkdownRenderer, type ScrollFollow, type SendInput } from '../index.js';
import type { Wording } from '../wording/index.js';
import { deliveryLine, describeFailure } from '../receipts.js';
import { authorOf, presenceLine, textOf } from './conversation.js';
import { useMarkdown } from './markdown.js';
import { Attachments, Cards, DatePickers, QuickReplies } from './RichContent.js';
import { useWording } from './wording.js';

export interface MessageListProps {
  messages: ChatMessage[];
  onAnswer(input: SendInput): void;
  /** No answers at all (the chat ended, or is not connected). */
  answersDisabled?: boolean;
  /**
   * Replaces how one message is drawn; return undefined to keep the default. `answerable`: its quick replies and
   * date slots may be answered (the newest message, while answers are on); a card's buttons may be on any message.
   */
  renderMessage?(message: ChatMessage, answerable: boolean): ReactNode | undefined;
  className?: string;
  label?: string;
  /** The jump to the newest message, shown while the reader is scrolled up and something arrived below. */
  newMessagesLabel?(count: number): string;
  /** The words to use (default: `ChatWording`'s, else the page's language or English). */
  wording?: Wording;
  /**
   * Show agent and bot text as Markdown (bold, lists, links; never raw HTML or images): pass
   * `chat.capabilities?.markdown`, the deployment's setting. markdown-it and DOMPurify load when it is first true.
   */
  markdown?: boolean;
  /**
   * Ids of the guest's messages (and files) whose sensitive data the service hid (`chat.masked`): under each, the
   * customer reads once, in their language, that a number was hidden before it was sent.
   */
  masked?: readonly string[];
}

/**
 * The conversation: an ordered list in a polite live region (`role="log"`), with a line when an agent joins or leaves.
 * A card's links and buttons stay usable on older messages (Genesys takes an answer to any message it sent); quick
 * replies and date slots only on the newest message, as Genesys Messenger offers them.
 * The region scrolls (give it a height and `overflow-y: auto`): it follows the newest message while the reader is at the
 * end, images that load late included, and keeps their place when they scrolled up, with a button to jump back down.
 */
export function MessageList({
  messages,
  onAnswer,
  answersDisabled,
  renderMessage,
  className = 'messages',
  label,
  newMessagesLabel,
  wording,
  markdown,
  masked,
}: MessageListProps) {
  const words = useWording(wording);
  const renderer = useMarkdown(markdown === true, words.t('opensInNewTab'));
  const shown = messages.filter((m) => m.type !== 'event' || presenceLine(m) !== undefined);
  const newest = shown.filter((m) => m.type !== 'event').pop()?.id;
  // Where the guest's newest message stands is shown under it; a failure under every message it holds for.
  const newestOwn = shown.filter((m) => m.direction === 'inbound' && m.status !== undefined).pop()?.id;
  const scroller = useRef<HTMLDivElement>(null);
  const follow = useRef<ScrollFollow | undefined>(undefined);
  const [unseen, setUnseen] = useState(0);
  useEffect(() => {
    const following = followNewest(scroller.current!, { unseen: setUnseen });
    follow.current = following;
    return () => following.stop();
  }, []);
  return (
    <>
      {/* The live region wraps the list: a role on the <ol> itself would take away its list semantics. */}
      <div
        ref={scroller}
        className={className}
        role="log"
        aria-live="polite"
        aria-relevant="additions"
        aria-label={label ?? words.t('conversation')}
        tabIndex={0}
      >
        <ol>
          {shown.map((message) => {
            const answerable = !answersDisabled && message.id === newest;
            const custom = renderMessage?.(message, answerable);
            if (custom !== undefined) return <Fragment key={message.id}>{custom}</Fragment>;
            const line = presenceLine(message, words);
            if (line !== undefined) {
              return (
                <li key={message.id} className="presence" data-id={message.id}>
                  {line}
                </li>
              );
            }
            return (
              <Message
                key={message.id}
                message={message}
                onAnswer={onAnswer}
                disabled={answersDisabled}
                newest={message.id === newest}
                showStatus={message.id === newestOwn}
                wording={words}
                markdown={renderer}
                masked={wasMasked(message, masked)}
              />
            );
          })}
        </ol>
      </div>
      {unseen > 0 && (
        <button type="button" className="new-messages" onClick={() => follow.current?.toNewest()}>
          {newMessagesLabel?.(unseen) ?? words.t('newMessages', { count: unseen })}
        </button>
      )}
    </>
  );
}

export interface MessageProps {
  message: ChatMessage;
  onAnswer(input: SendInput): void;
  /** No answers at all (the chat ended, or is not connected). */
  disabled?: boolean;
  /** The conversation's newest message: its quick replies and date slots may be answered. Default true. */
  newest?: boolean;
  wording?: Wording;
  /** Renders an agent's or bot's text from Markdown to sanitised HTML; without it, text stays text. */
  markdown?: MarkdownRenderer;
  /**
   * Show where this guest message stands (Sent, Delivered, Read) under it: MessageList shows it for the newest
   * one. A failure is shown whatever this says. Default true.
   */
  showStatus?: boolean;
  /** The service hid sensitive data in it before Genesys saw it: a line under it tells the customer. */
  masked?: boolean;
}

/** Whether the service masked the message's text, or the name of one of its files. */
function wasMasked(message: ChatMessage, masked: readonly string[] | undefined): boolean {
  if (!masked?.length) return false;
  return masked.includes(message.id) || (message.attachments ?? []).some((a) => a.id && masked.includes(a.id));
}

/**
 * One message: who, the text, what it carries, and when. The text is text, never HTML, except an agent's or
 * bot's through `markdown`, whose HTML is sanitised (markdown.ts).
 */
export function Message({
  message,
  onAnswer,
  disabled,
  newest = true,
  wording,
  markdown,
  showStatus = true,
  masked = false,
}: MessageProps) {
  const words = useWording(wording);
  const author = authorOf(message, words);
  const text = textOf(message);
  return (
    <li className={`message from-${author.role}`} data-id={message.id}>
      <span className="who">
        <bdi>{author.name}</bdi>
        <span className="visually-hidden">: </span>
      </span>
      {text !== '' &&
        (markdown && message.direction === 'outbound' ? (
          <div className="bubble markdown" dir="auto" dangerouslySetInnerHTML={{ __html: markdown.html(text) }} />
        ) : (
          <p className="bubble" dir="auto">
            {text}
          </p>
        ))}
      <Attachments message={message} wording={words} />
      <Cards message={message} onAnswer={onAnswer} disabled={disabled} wording={words} />
      <DatePickers message={message} onAnswer={onAnswer} disabled={disabled || !newest} wording={words} />
      <QuickReplies message={message} onAnswer={onAnswer} disabled={disabled || !newest} wording={words} />
      <time dateTime={message.time}>{words.time(message.time)}</time>
      {masked && <p className="masked-notice">{words.t('maskedNotice')}</p>}
      {message.status === 'failed' ? (
        <Failure message={message} onAnswer={onAnswer} disabled={disabled} wording={words} />
      ) : (
        showStatus &&
        message.status !== undefined && (
          <span className="delivery" data-status={message.status}>
            {deliveryLine(message, words)}
          </span>
        )
      )}
    </li>
  );
}

/**
 * A message Genesys failed: that it was not delivered and why, in the customer's words, and a button that sends its
 * text again where that can help (a rate limit, a fault); where it cannot (data filtering), the words say so.
 */
function Failure({
  message,
  onAnswer,
  disabled,
  wording,
}: {
  message: ChatMessage;
  onAnswer(input: SendInput): void;
  disabled?: boolean;
  wording: Wording;
}) {
  const { text, retry } = describeFailure(message.reasons, wording);
  const again = message.text && retry && !disabled ? message.text : undefined;
  return (
    <div className="delivery failed" data-status="failed" role="status">
      <strong>{deliveryLine(message, wording)}</strong> <span dir="auto">{text}</span>
      {again !== undefined && (
        <button type="button" onClick={() => onAnswer({ text: again })}>
          {wording.t('sendAgain')}
        </button>
      )}
    </div>
  );
}
