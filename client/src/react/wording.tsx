'use client';

import { createContext, useContext, useState, type ReactNode } from 'react';
import { chooseLanguage, wordingFor, type Wording } from '../wording/index.js';

const WordingContext = createContext<Wording | undefined>(undefined);

/** Gives every kit component inside it these words (`chat.wording` from `useChat`), so none needs a `wording` prop. */
export function ChatWording({ wording, children }: { wording: Wording; children?: ReactNode }) {
  return <WordingContext.Provider value={wording}>{children}</WordingContext.Provider>;
}

/** The words a component speaks: its own `wording` prop, else `ChatWording`'s, else the page's `<html lang>` or English. */
export function useWording(own?: Wording): Wording {
  const given = useContext(WordingContext);
  return own ?? given ?? wordingFor(chooseLanguage({}));
}

/** useChat's words: the locale asked for, else the page's `<html lang>` (read once), else the deployment's default. */
export function useChosenWording(locale: string | undefined, defaultLanguage: string | null | undefined): Wording {
  const [pageLanguage] = useState(() => (typeof document === 'undefined' ? undefined : document.documentElement.lang));
  return wordingFor(chooseLanguage({ locale, pageLanguage, defaultLanguage }));
}
