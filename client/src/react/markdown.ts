'use client';

import { useEffect, useMemo, useState } from 'react';
import { createMarkdownRenderer, type MarkdownLibraries, type MarkdownRenderer } from '../markdown.js';

let libraries: Promise<MarkdownLibraries> | undefined;

/**
 * markdown-it and DOMPurify, loaded once, on first use: a bundler puts them in a chunk of their own, which a page
 * whose deployment has Markdown off never loads.
 */
export function loadMarkdownLibraries(): Promise<MarkdownLibraries> {
  return (libraries ??= Promise.all([import('markdown-it'), import('dompurify')]).then(
    ([parser, purify]): MarkdownLibraries => ({ MarkdownIt: parser.default, DOMPurify: purify.default }),
  ));
}

/** A Markdown renderer once the libraries are loaded, while `enabled`; undefined before, and when not enabled. */
export function useMarkdown(enabled: boolean, newTabHint: string): MarkdownRenderer | undefined {
  const [loaded, setLoaded] = useState<MarkdownLibraries>();
  useEffect(() => {
    if (!enabled || loaded) return;
    // Set even once unmounted or turned off: React drops the one, and the renderer waits on `enabled` for the other.
    loadMarkdownLibraries().then(setLoaded, () => undefined); // on a failure, the text stays plain
  }, [enabled, loaded]);
  return useMemo(
    () => (enabled && loaded ? createMarkdownRenderer(loaded, { newTabHint }) : undefined),
    [enabled, loaded, newTabHint],
  );
}
