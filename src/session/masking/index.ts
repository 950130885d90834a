/** Sensitive data in the guest's input, masked or refused where it enters (docs/api.md#masking). */
export { GuestInputMask, HIDDEN } from './guestInputMask';
export type { InputField, Masked } from './guestInputMask';
export { findCards, luhnValid, maskCard } from './cards';
export { findIbans, ibanValid, maskIban } from './ibans';
