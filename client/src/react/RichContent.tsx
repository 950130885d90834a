'use client';

import type { ChatMessage, SendInput } from '../index.js';
import type { Wording } from '../wording/index.js';
import { answers, safeUrl } from './conversation.js';
import { useWording } from './wording.js';

/**
 * What a message carries besides text, as plain accessible markup with stable
 * class names to style: quick replies, cards (one, or a carousel), date
 * pickers and attachments. Every string goes in as text, never as HTML; links
 * open only http(s) URLs. Each of the sender's strings takes its direction from
 * its own letters (`dir="auto"`), so English in an Arabic page (or the other way
 * round) keeps its punctuation where it belongs.
 */

export interface AnswerProps {
  message: ChatMessage;
  /** Sends the guest's answer. */
  onAnswer(input: SendInput): void;
  /** No answers (the chat is not writable; for quick replies and date slots, also a message that is not the newest). */
  disabled?: boolean;
  /** The words to use (default: `ChatWording`'s, else the page's language or English). */
  wording?: Wording;
}

export function QuickReplies({ message, onAnswer, disabled, wording }: AnswerProps) {
  const { t } = useWording(wording);
  if (!message.quickReplies?.length) return null;
  return (
    <div className="quick-replies" role="group" aria-label={t('quickReplies')}>
      {message.quickReplies.map((reply) => (
        <button
          type="button"
          className="answer"
          dir="auto"
          key={reply.payload + reply.text}
          disabled={disabled}
          onClick={() => onAnswer(answers.quickReply(message, reply))}
        >
          {reply.text}
        </button>
      ))}
    </div>
  );
}

export function Cards({ message, onAnswer, disabled, wording }: AnswerProps) {
  const { t } = useWording(wording);
  const cards = message.cards ?? [];
  if (cards.length === 0) return null;
  return (
    <div
      className={cards.length > 1 ? 'cards carousel' : 'cards'}
      role={cards.length > 1 ? 'group' : undefined}
      aria-label={cards.length > 1 ? t('carousel') : undefined}
    >
      {cards.map((card, i) => (
        <div className="card" key={i}>
          {safeUrl(card.image) && <img className="card-image" src={safeUrl(card.image)} alt="" />}
          {card.title && (
            <strong className="card-title" dir="auto">
              {card.title}
            </strong>
          )}
          {card.description && (
            <p className="card-text" dir="auto">
              {card.description}
            </p>
          )}
          <div className="card-actions">
            {card.actions.map((action, j) => {
              const url = safeUrl(action.url);
              if (action.type === 'Link' && url) {
                return (
                  <a className="card-link" key={j} href={url} target="_blank" rel="noopener noreferrer" dir="auto">
                    {action.text ?? url}
                  </a>
                );
              }
              if (!action.text) return null;
              return (
                <button
                  type="button"
                  className="card-button answer"
                  dir="auto"
                  key={j}
                  disabled={disabled}
                  onClick={() => onAnswer(answers.button(message, action))}
                >
                  {action.text}
                </button>
              );
            })}
          </div>
        </div>
      ))}
    </div>
  );
}

/** A slot's label in the guest's own time zone. */
export function slotLabel(dateTime: string, wording?: Wording): string {
  if (wording) return wording.dateTime(dateTime);
  const when = new Date(dateTime);
  return Number.isNaN(when.getTime()) ? dateTime : when.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

export function DatePickers({ message, onAnswer, disabled, wording }: AnswerProps) {
  const words = useWording(wording);
  return (
    <>
      {(message.datePickers ?? []).map((picker, i) => (
        <div className="date-picker" role="group" aria-label={picker.title ?? words.t('pickTime')} key={i}>
          {picker.title && (
            <strong className="card-title" dir="auto">
              {picker.title}
            </strong>
          )}
          {picker.subtitle && (
            <p className="card-text" dir="auto">
              {picker.subtitle}
            </p>
          )}
          {picker.availableTimes.map((slot) => (
            <button
              type="button"
              className="slot answer"
              key={slot.dateTime}
              disabled={disabled}
              onClick={() =>
                onAnswer(
                  answers.datePicker(picker.originatingMessageId, slot.dateTime, slotLabel(slot.dateTime, words)),
                )
              }
            >
              {slotLabel(slot.dateTime, words)}
            </button>
          ))}
        </div>
      ))}
    </>
  );
}

/** Images as thumbnails, other files as links: the service's own URLs, which redirect to a fresh download each time. */
export function Attachments({ message, wording }: { message: ChatMessage; wording?: Wording }) {
  const { t } = useWording(wording);
  return (
    <>
      {(message.attachments ?? []).map((a, i) => {
        const url = safeUrl(a.url);
        if (!url) return null;
        const image = a.mediaType === 'Image' || (a.mime ?? '').startsWith('image/');
        return (
          <a className="attachment" key={a.id ?? i} href={url} target="_blank" rel="noopener noreferrer" dir="auto">
            {image ? (
              <img className="thumb" src={url} alt={a.filename ?? t('image')} loading="lazy" />
            ) : (
              t('download', { file: a.filename ?? t('theFile') })
            )}
          </a>
        );
      })}
    </>
  );
}
