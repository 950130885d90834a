'use client';

import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import type { AvailabilityStatus, StartSessionOptions } from '../index.js';
import type { Wording } from '../wording/index.js';
import { describeAvailability } from './AvailabilityNotice.js';
import { useWording } from './wording.js';

/** One more thing to ask before the chat, sent to Genesys as the custom attribute `attribute`. */
export interface PreChatField {
  /** The custom-attribute key its answer is sent under (the agent's script reads it). */
  attribute: string;
  /** The visible label, in the page's language. */
  label: string;
  required?: boolean;
  /** At most this many characters. Default 256. */
  maxLength?: number;
  /** `text` (default), `tel`, or a choice among `options` (a select). */
  type?: 'text' | 'tel' | 'select';
  /** The choices of a `select`: what is sent, and what the guest sees (default: the value). */
  options?: { value: string; label?: string }[];
}

export interface PreChatFormProps {
  /** Starts the chat with the details (`chat.start` from `useChat`). */
  onSubmit(details: StartSessionOptions): unknown;
  /** More fields, each sent as a custom attribute. */
  fields?: PreChatField[];
  /** Ask for an email address. Default `'required'`. */
  email?: 'required' | 'optional' | 'none';
  /**
   * The service's limits, where known (`chat.session?.limits` of an earlier session): the details' custom
   * attributes (keys and values, UTF-8) must fit in `maxCustomDataBytes`.
   */
  limits?: { maxCustomDataBytes?: number };
  /** While the chat is starting: the button waits. */
  busy?: boolean;
  /**
   * Whether anyone is there (`useAvailability().status`): while the centre is closed the form says so and starts
   * no chat, its button waiting until it opens. Without it, the form does not know, and starts one whenever asked.
   */
  availability?: AvailabilityStatus;
  className?: string;
  /** The words to use (default: `ChatWording`'s, else the page's language or English). */
  wording?: Wording;
}

/** What the service accepts in `POST /guest-session` (src/domain/api.ts): longer is refused. */
const NAME_MAX = 256;
const EMAIL_MAX = 320;
const FIELD_MAX = 256;
/** Something@something.something, no spaces: the rest is for the mail server to judge. */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const bytes = (text: string) => new TextEncoder().encode(text).length;

type Values = Record<string, string>;

interface Asked {
  key: string;
  label: string;
  required?: boolean;
  maxLength: number;
  type?: 'text' | 'tel' | 'select' | 'email';
  options?: PreChatField['options'];
}

/** What the form asks: the name, the email unless `none`, and the page's own fields (keyed `attribute:<key>`). */
function askedFields(t: Wording['t'], email: PreChatFormProps['email'], fields: PreChatField[]): Asked[] {
  return [
    { key: 'name', label: t('yourName'), required: true, maxLength: NAME_MAX, type: 'text' },
    ...(email === 'none'
      ? []
      : [
          {
            key: 'email',
            label: t('email'),
            required: email === 'required',
            maxLength: EMAIL_MAX,
            type: 'email' as const,
          },
        ]),
    ...fields.map((f) => ({ ...f, key: `attribute:${f.attribute}`, maxLength: f.maxLength ?? FIELD_MAX })),
  ];
}

/** Each wrong field's error, and the start details the answers make. */
function checkAnswers(
  t: Wording['t'],
  asked: Asked[],
  values: Values,
): { found: Values; details: StartSessionOptions } {
  const found: Values = {};
  const attributes: Record<string, string> = {};
  for (const field of asked) {
    const value = (values[field.key] ?? '').trim();
    if (value === '') {
      if (field.required) found[field.key] = t('fieldRequired', { field: field.label });
    } else if (value.length > field.maxLength) {
      found[field.key] = t('fieldTooLong', { field: field.label, count: field.maxLength });
    } else if (field.type === 'email' && !EMAIL.test(value)) {
      found[field.key] = t('emailInvalid');
    } else if (field.key.startsWith('attribute:')) {
      attributes[field.key.slice('attribute:'.length)] = value;
    }
  }
  const name = (values.name ?? '').trim();
  const mail = asked.some((f) => f.key === 'email') ? (values.email ?? '').trim() : '';
  const details: StartSessionOptions = {
    ...(name ? { firstName: name } : {}),
    ...(mail ? { email: mail } : {}),
    ...(Object.keys(attributes).length > 0 ? { attributes } : {}),
  };
  return { found, details };
}

/** The attributes the details become, by the service's default keys, fit the deployment's budget. */
function fits(details: StartSessionOptions, budget: number | undefined): boolean {
  if (budget === undefined || budget < 0) return true;
  const all: Record<string, string> = { ...details.attributes };
  if (details.firstName) all.firstName = details.firstName;
  if (details.email) all.email = details.email;
  return Object.entries(all).reduce((sum, [k, v]) => sum + bytes(k) + bytes(v), 0) <= budget;
}

/** One field: its label (with "(optional)"), its control, and its error tied to it. */
function Field({
  field,
  id,
  value,
  error,
  onChange,
  t,
}: {
  field: Asked;
  id: string;
  value: string;
  error?: string;
  onChange(value: string): void;
  t: Wording['t'];
}) {
  const common = {
    id,
    name: field.key,
    value,
    required: field.required,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': error ? `${id}-error` : undefined,
  };
  return (
    <div className="field">
      <label htmlFor={id}>
        {field.label}
        {!field.required && <span className="optional"> {t('optional')}</span>}
      </label>
      {field.type === 'select' ? (
        <select {...common} onChange={(e) => onChange(e.target.value)}>
          <option value="">{t('choose')}</option>
          {(field.options ?? []).map((o) => (
            <option key={o.value} value={o.value}>
              {o.label ?? o.value}
            </option>
          ))}
        </select>
      ) : (
        <input
          {...common}
          dir="auto"
          type={field.type === 'email' ? 'email' : field.type === 'tel' ? 'tel' : 'text'}
          autoComplete={field.key === 'name' ? 'name' : field.type === 'email' ? 'email' : undefined}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
      {error && (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

/**
 * A pre-chat form: the guest's name, email and any `fields` (sent as custom attributes), checked before the chat
 * starts with words in the page's language. Each error is tied to its field (`aria-invalid`, `aria-describedby`)
 * and the first wrong field gets the focus; nothing is sent until all are right.
 */
export function PreChatForm({
  onSubmit,
  fields = [],
  email = 'required',
  limits,
  busy,
  availability,
  className = 'pre-chat',
  wording,
}: PreChatFormProps) {
  const words = useWording(wording);
  const { t } = words;
  const closed = availability?.state === 'closed';
  const id = useId();
  const form = useRef<HTMLFormElement>(null);
  const [values, setValues] = useState<Values>({});
  const [errors, setErrors] = useState<Values>({});
  const [whole, setWhole] = useState<string>();
  const [attempts, setAttempts] = useState(0);
  // After a refused submit, once the errors are drawn: the first wrong field, which then reads its error out.
  useEffect(() => {
    if (attempts > 0) form.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [attempts]);
  const asked = askedFields(t, email, fields);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (busy || closed) return;
    const { found, details } = checkAnswers(t, asked, values);
    setErrors(found);
    if (Object.keys(found).length > 0) {
      setWhole(undefined);
      setAttempts((n) => n + 1);
      return;
    }
    if (!fits(details, limits?.maxCustomDataBytes)) {
      setWhole(t('detailsTooLong'));
      return;
    }
    setWhole(undefined);
    void onSubmit(details);
  };

  return (
    <form ref={form} className={className} onSubmit={submit} noValidate aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{t('preChatTitle')}</h2>
      <p className="hint">{t('preChatIntro')}</p>
      {asked.map((field) => (
        <Field
          key={field.key}
          field={field}
          id={`${id}-${field.key}`}
          value={values[field.key] ?? ''}
          error={errors[field.key]}
          onChange={(value) => setValues((now) => ({ ...now, [field.key]: value }))}
          t={t}
        />
      ))}
      {whole && (
        <p className="field-error" role="alert">
          {whole}
        </p>
      )}
      {closed && (
        <p className="availability" data-state="closed" role="status">
          {describeAvailability(availability, words)}
        </p>
      )}
      <button type="submit" disabled={busy || closed}>
        {t('startChat')}
      </button>
    </form>
  );
}
