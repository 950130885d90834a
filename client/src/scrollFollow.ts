/**
 * Keeps a scrolling conversation at its newest message while the reader is
 * there, and keeps their place when they scrolled up to read. Plain DOM, for
 * any page; `MessageList` in the React bindings uses it.
 */

export interface ScrollFollowOptions {
  /** The newest content arrived while the reader was scrolled up (`count` messages so far), or they came back (0). */
  unseen?(count: number): void;
  /** What counts as one message, for `unseen`. Default `.message`. */
  messageSelector?: string;
  /** How close to the end (in pixels) still counts as at the newest message. Default 32. */
  slack?: number;
}

export interface ScrollFollow {
  /** The reader is at the newest message (the list follows what arrives). */
  readonly atNewest: boolean;
  /** Scrolls to the newest message and follows again. */
  toNewest(): void;
  stop(): void;
}

/**
 * Follows `scroller` (the element with `overflow-y: auto`): content added or
 * grown (an image that loads late, a card's picture) scrolls it to the end
 * while the reader was at the end; otherwise the place is kept and `unseen`
 * counts what arrived below. A fresh list starts at the end, so a reloaded
 * chat opens at its newest message.
 */
export function followNewest(scroller: HTMLElement, options: ScrollFollowOptions = {}): ScrollFollow {
  const slack = options.slack ?? 32;
  const selector = options.messageSelector ?? '.message';
  let atNewest = true;
  let unseen = 0;

  const report = (count: number) => {
    if (count === unseen) return;
    unseen = count;
    options.unseen?.(count);
  };
  /** Where the list was at its last scroll event, or where it last put itself at the end. */
  let lastTop = scroller.scrollTop;
  const stick = () => {
    scroller.scrollTop = scroller.scrollHeight;
    lastTop = scroller.scrollTop;
  };
  // Only a reader moving up unsticks the list: growth alone never does. A scroll that is not a move up (the
  // list's own move, whose event comes a frame later after an image grew meanwhile; the browser's scroll
  // anchoring keeping the content in view as something above it grows) leaves it following, and it sticks
  // to the end again.
  const onScroll = () => {
    const top = scroller.scrollTop;
    const movedUp = top < lastTop - 1;
    lastTop = top;
    const away = scroller.scrollHeight - top - scroller.clientHeight;
    if (atNewest && !movedUp) {
      if (away > slack) stick();
      return;
    }
    atNewest = away <= slack;
    if (atNewest) report(0);
  };
  const grown = () => {
    if (atNewest) stick();
  };

  const added = new MutationObserver((records) => {
    if (atNewest) {
      stick();
      return;
    }
    // Counted: messages added at the end (older history put in above is not news).
    const fresh = new Set(records.flatMap((record) => Array.from(record.addedNodes)));
    let messages = 0;
    for (const node of fresh) {
      if (!(node instanceof Element) || !node.matches(selector)) continue;
      let next = node.nextElementSibling;
      while (next && fresh.has(next)) next = next.nextElementSibling;
      if (!next) messages++;
    }
    if (messages > 0) report(unseen + messages);
  });
  added.observe(scroller, { childList: true, subtree: true });
  // A late image or any other growth: `load` does not bubble, so it is caught on its way down.
  scroller.addEventListener('load', grown, true);
  scroller.addEventListener('scroll', onScroll, { passive: true });
  const resized = typeof ResizeObserver === 'undefined' ? undefined : new ResizeObserver(grown);
  resized?.observe(scroller);
  for (const child of Array.from(scroller.children)) resized?.observe(child);
  stick();

  return {
    get atNewest() {
      return atNewest;
    },
    toNewest() {
      atNewest = true;
      stick();
      report(0);
    },
    stop() {
      added.disconnect();
      resized?.disconnect();
      scroller.removeEventListener('load', grown, true);
      scroller.removeEventListener('scroll', onScroll);
    },
  };
}
