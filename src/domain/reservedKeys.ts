/** Keys that would reach an object's prototype if anyone ever assigned them: refused in every body and attribute set. */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
