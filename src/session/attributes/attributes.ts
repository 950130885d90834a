import type { ProcessConfig } from '../../config/schema';
import { AppError } from '../../domain/errors';
import { keyForm, RESERVED_KEYS } from '../../domain/reservedKeys';

/**
 * Custom attributes (README.md#the-chat-api): string keys and values only, the whole
 * set within `maxCustomDataBytes` (UTF-8 bytes of keys plus values,
 * docs/genesys-protocol.md#custom-attributes), and keys set by a verified identity locked.
 * Every refusal leaves the attributes unchanged.
 */
export type Attributes = Record<string, string>;

const DEFAULT_MAX_CUSTOM_DATA_BYTES = 2048;
const MAX_KEY_LENGTH = 200;

export function attributeBytes(attrs: Attributes): number {
  let total = 0;
  for (const [k, v] of Object.entries(attrs)) total += Buffer.byteLength(k, 'utf8') + Buffer.byteLength(v, 'utf8');
  return total;
}

/** A plain copy that can hold any key safely. */
export function copyAttributes(source: Attributes): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(source)) setAttribute(out, k, v);
  return out;
}

export function setAttribute(target: Attributes, key: string, value: string): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function checkKey(key: string): void {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new AppError('validation_failed', `Attribute keys must be 1 to ${MAX_KEY_LENGTH} characters.`);
  }
  if (RESERVED_KEYS.has(key))
    throw new AppError('validation_failed', `"${key}" is reserved and cannot be an attribute key.`);
  if (!key.isWellFormed()) throw new AppError('validation_failed', 'Attribute keys must be well-formed Unicode.');
  // Control, format (bidi overrides, zero-width, BOM) and separator characters make keys that look like others.
  if (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cn}]/u.test(key) || key.trim() !== key) {
    throw new AppError(
      'validation_failed',
      'Attribute keys may hold only printable characters, with no invisible, ' +
        'bidi-control or surrounding space characters.',
    );
  }
}

function checkValue(key: string, value: unknown): asserts value is string {
  if (typeof value !== 'string') throw new AppError('validation_failed', `Attribute "${key}" must be a string.`);
  if (!value.isWellFormed()) throw new AppError('validation_failed', `Attribute "${key}" must be well-formed Unicode.`);
}

export function checkBudget(attrs: Attributes, maxBytes: number): void {
  const limit = maxBytes > 0 ? maxBytes : DEFAULT_MAX_CUSTOM_DATA_BYTES;
  const bytes = attributeBytes(attrs);
  if (bytes > limit) {
    throw new AppError(
      'attributes_too_large',
      `The attributes take ${bytes} bytes (keys plus values, UTF-8); this deployment allows ${limit}.`,
      {
        extensions: { bytes, limit },
      },
    );
  }
}

/** Validates browser input that must be a flat object of strings (`null` allowed where `allowNull`). */
export function parseAttributeInput(input: unknown, allowNull: boolean): Record<string, string | null> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new AppError('validation_failed', '`attributes` must be an object of string values.');
  }
  const entries: [string, string | null][] = [];
  for (const [k, v] of Object.entries(input)) {
    checkKey(k);
    if (v === null && allowNull) {
      entries.push([k, null]);
    } else {
      checkValue(k, v);
      entries.push([k, v]);
    }
  }
  // Object.fromEntries defines own keys, as setAttribute does.
  return Object.fromEntries(entries);
}

interface AttributeState {
  attributes: Attributes;
  locked: string[];
}

/**
 * Applies a browser change: `replace` swaps every browser-settable key,
 * otherwise keys merge and `null` removes one. Locked keys refuse any change.
 */
export function applyBrowserChange(
  state: AttributeState,
  change: Record<string, string | null>,
  mode: 'replace' | 'merge',
  maxBytes: number,
): Attributes {
  const locked = new Set(state.locked);
  const lockedForms = new Map(state.locked.map((k) => [keyForm(k), k]));
  for (const [k, v] of Object.entries(change)) {
    if (locked.has(k) && state.attributes[k] !== v) {
      throw new AppError(
        'attribute_locked',
        `"${k}" was set by a verified identity and cannot be changed by the browser.`,
        {
          extensions: { key: k },
        },
      );
    }
    // A look-alike of a locked key (another case, script or width) could pass for it where keys are shown.
    const lookedLike = lockedForms.get(keyForm(k));
    if (!locked.has(k) && lookedLike !== undefined) {
      throw new AppError(
        'attribute_locked',
        `"${k}" looks like "${lookedLike}", which was set by a verified identity; ` +
          'choose a key that cannot be mistaken for it.',
        {
          extensions: { key: k },
        },
      );
    }
  }
  const next: Attributes = {};
  for (const [k, v] of Object.entries(state.attributes)) {
    if (mode === 'merge' || locked.has(k)) setAttribute(next, k, v);
  }
  // A locked key given here has passed the check above with the value it already holds.
  for (const [k, v] of Object.entries(change)) {
    if (v === null) delete next[k];
    else setAttribute(next, k, v);
  }
  checkBudget(next, maxBytes);
  return next;
}

/** Attributes from a verified identity override browser-given ones and become locked. */
export function lockIdentity(state: AttributeState, identity: Attributes): AttributeState {
  const attributes = copyAttributes(state.attributes);
  for (const [k, v] of Object.entries(identity)) {
    checkKey(k);
    setAttribute(attributes, k, v);
  }
  return { attributes, locked: [...new Set([...state.locked, ...Object.keys(identity)])] };
}

/**
 * Keys only a verified identity may set: the customer id always, the
 * service's own verification markers always, and, where identity tokens are
 * configured, every key they fill. A browser value for any of them could
 * otherwise pass for a verified one.
 */
export function identityReservedKeys(
  keys: ProcessConfig['attributeKeys'],
  identityConfigured: boolean,
): ReadonlySet<string> {
  const reserved = [keys.customerId, keys.identityVerified, keys.identityIssuer];
  if (identityConfigured) reserved.push(keys.firstName, keys.lastName, keys.email, keys.phone);
  return new Set(reserved);
}

/**
 * Refuses a browser change that touches a key reserved for verified
 * identity, or a look-alike of one (compared by keyForm: NFKC, Cyrillic and
 * Greek look-alikes, case-folded), so `IdentityVerified`, `customerID` or a
 * Cyrillic `іdentityVerified` cannot pass for the real one.
 */
export function refuseReservedKeys(change: Record<string, unknown>, reserved: ReadonlySet<string>): void {
  const forms = new Map([...reserved].map((k) => [keyForm(k), k]));
  for (const key of Object.keys(change)) {
    const matched = forms.get(keyForm(key));
    if (matched === key) {
      throw new AppError(
        'attribute_locked',
        `"${key}" can only be set by a verified identity token, never by the browser.`,
        { extensions: { key } },
      );
    }
    if (matched !== undefined) {
      throw new AppError(
        'attribute_locked',
        `"${key}" looks like "${matched}", which only a verified identity token can set; ` +
          'choose a key that cannot be mistaken for it.',
        { extensions: { key } },
      );
    }
  }
}

/**
 * A session verified as one customer stays that customer's: resumed with
 * another customer's identity token (another `sub` or issuer) it would mix
 * both identities, so that is a 409; the other customer starts a new session.
 */
export function refuseOtherCustomer(
  current: AttributeState,
  identity: Attributes,
  keys: ProcessConfig['attributeKeys'],
): void {
  if (Object.keys(identity).length === 0 || !current.locked.includes(keys.identityVerified)) return;
  const same = (key: string) => current.attributes[key] === identity[key];
  if (!same(keys.customerId) || !same(keys.identityIssuer)) {
    throw new AppError(
      'conflict',
      'This session belongs to another verified customer; ' +
        'start a new session (POST /guest-session without this token) for this identity.',
    );
  }
}
