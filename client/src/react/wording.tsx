'use client';

import { createContext, useContext, useSyncExternalStore, type ReactNode } from 'react';
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

const unchanging = () => () => undefined;
const pageLanguage = () => document.documentElement.lang;
const noPage = () => undefined;

/**
 * useChat's words: the locale asked for, else the page's `<html lang>`, else the deployment's default. The page's
 * language is read as an external store so a server-rendered page (Next.js) hydrates in the words it was rendered in.
 */
export function useChosenWording(locale: string | undefined, defaultLanguage: string | null | undefined): Wording {
  const page = useSyncExternalStore(unchanging, pageLanguage, noPage);
  return wordingFor(chooseLanguage({ locale, pageLanguage: page ?? null, defaultLanguage }));
}
