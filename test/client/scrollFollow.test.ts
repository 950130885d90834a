/**
 * @jest-environment ./test/support/jsdomWithFetch.js
 * @jest-environment-options {"url": "http://localhost:3000/", "customExportConditions": ["node", "node-addons"]}
 */
import { followNewest, type ScrollFollow, type ScrollFollowOptions } from '../../client/src/scrollFollow';

/**
 * followNewest (client/src/scrollFollow.ts) on a list whose layout the test sets: jsdom lays nothing out, so the
 * scroller gets a height, a view of 100 px and a scroll position clamped to its content as a browser clamps it. A
 * scroll event is dispatched when the test moves the list, as a browser's would be after a move; the list's own
 * moves (to the end) are read from `scrollTop`. MutationObserver callbacks are awaited through an observer made
 * after the follower's, which the page calls after it.
 */

const VIEW = 100;

interface Layout {
  scroller: HTMLElement;
  list: HTMLElement;
  /** Sets the content's height, as growth does, without any event. */
  grow(to: number): void;
  /** Moves the list to `top` (clamped) and dispatches its scroll event. */
  scrollTo(top: number): void;
  /** How far the view is from the end. */
  away(): number;
}

function layout(height = 1000): Layout {
  const scroller = document.createElement('div');
  const list = document.createElement('ol');
  scroller.append(list);
  document.body.append(scroller);
  let content = height;
  let top = 0;
  const clamp = (value: number) => Math.max(0, Math.min(value, content - VIEW));
  Object.defineProperty(scroller, 'scrollHeight', { get: () => content });
  Object.defineProperty(scroller, 'clientHeight', { get: () => VIEW });
  Object.defineProperty(scroller, 'scrollTop', {
    get: () => top,
    set: (value: number) => {
      top = clamp(value);
    },
  });
  return {
    scroller,
    list,
    grow(to) {
      content = to;
    },
    scrollTo(value) {
      top = clamp(value);
      scroller.dispatchEvent(new Event('scroll'));
    },
    away: () => content - top - VIEW,
  };
}

/** Resolves once the page's MutationObservers were called for what the test changes next. */
function mutationsDelivered(target: Node): Promise<void> {
  return new Promise((resolve) => {
    const observer = new MutationObserver(() => {
      observer.disconnect();
      resolve();
    });
    observer.observe(target, { childList: true, subtree: true });
  });
}

function message(text = 'Hello', className = 'message'): HTMLElement {
  const item = document.createElement('li');
  item.className = className;
  item.textContent = text;
  return item;
}

let page: Layout;
let follow: ScrollFollow | undefined;
let counts: number[];

function start(options: ScrollFollowOptions = {}, height = 1000): ScrollFollow {
  page = layout(height);
  counts = [];
  follow = followNewest(page.scroller, { unseen: (count) => counts.push(count), ...options });
  return follow;
}

/** Appends to the list and waits until the follower has seen it. */
async function append(...nodes: Node[]): Promise<void> {
  const delivered = mutationsDelivered(page.scroller);
  page.list.append(...nodes);
  await delivered;
}

afterEach(() => {
  follow?.stop();
  follow = undefined;
  document.body.replaceChildren();
});

describe('a fresh list', () => {
  test('starts at its newest message, following', () => {
    const following = start();
    expect(page.scroller.scrollTop).toBe(900);
    expect(following.atNewest).toBe(true);
    expect(counts).toEqual([]);
  });
});

describe('content added at the end', () => {
  test('scrolls the list to the end while the reader is there', async () => {
    start();
    page.grow(1200);
    await append(message());
    expect(page.away()).toBe(0);
  });

  test('nested in the list (not a direct child of the scroller) is followed too', async () => {
    start();
    const group = document.createElement('div');
    page.list.append(group);
    await append(message('settle'));
    page.grow(1300);
    const delivered = mutationsDelivered(page.scroller);
    group.append(message('deep'));
    await delivered;
    expect(page.away()).toBe(0);
  });

  test('keeps the place of a reader scrolled up, and counts each message that arrived below', async () => {
    const following = start();
    page.scrollTo(400);
    expect(following.atNewest).toBe(false);
    page.grow(1100);
    await append(message('one'));
    expect(page.scroller.scrollTop).toBe(400);
    page.grow(1200);
    await append(message('two'));
    expect(page.scroller.scrollTop).toBe(400);
    expect(counts).toEqual([1, 2]);
  });

  test('counts messages arriving together one each', async () => {
    start();
    page.scrollTo(0);
    await append(message('one'), message('two'), message('three'));
    expect(counts).toEqual([3]);
  });

  test('counts only what matches the message selector: a text node or another element beside it is not news', async () => {
    start();
    page.scrollTo(0);
    await append(document.createTextNode('typing…'));
    await append(message('typing', 'typing'));
    expect(counts).toEqual([]);
    await append(document.createTextNode(' '), message('real'));
    expect(counts).toEqual([1]);
  });

  test('counts by the selector given', async () => {
    start({ messageSelector: '.bubble' });
    page.scrollTo(0);
    await append(message('plain'));
    await append(message('bubble', 'bubble'));
    expect(counts).toEqual([1]);
  });

  test('does not count older history put in above the messages already there', async () => {
    start();
    await append(message('newest'));
    page.scrollTo(0);
    const delivered = mutationsDelivered(page.scroller);
    page.list.prepend(message('older'), message('oldest'));
    await delivered;
    expect(counts).toEqual([]);
  });

  test('without an unseen callback, counts silently and toNewest still works', async () => {
    page = layout();
    follow = followNewest(page.scroller);
    page.scrollTo(0);
    await append(message());
    expect(() => follow!.toNewest()).not.toThrow();
    expect(follow.atNewest).toBe(true);
    expect(page.away()).toBe(0);
  });
});

describe('the reader scrolling', () => {
  test('moving up unsticks the list; a later move down that stays far from the end keeps the place', async () => {
    const following = start();
    page.scrollTo(300);
    expect(following.atNewest).toBe(false);
    page.scrollTo(500);
    expect(following.atNewest).toBe(false);
    expect(page.scroller.scrollTop).toBe(500);
  });

  test('coming back to the end follows again and says nothing is unseen', async () => {
    const following = start();
    page.scrollTo(0);
    await append(message());
    expect(counts).toEqual([1]);
    page.scrollTo(900);
    expect(following.atNewest).toBe(true);
    expect(counts).toEqual([1, 0]);
  });

  test('moving further up while messages are unseen keeps their count', async () => {
    start();
    page.scrollTo(600);
    await append(message('one'));
    page.scrollTo(200);
    await append(message('two'));
    expect(counts).toEqual([1, 2]);
  });

  test('the default slack: 32 px from the end still counts as at the newest message, 33 does not', () => {
    const following = start();
    page.scrollTo(0);
    page.scrollTo(900 - 33);
    expect(following.atNewest).toBe(false);
    page.scrollTo(900 - 32);
    expect(following.atNewest).toBe(true);
  });

  test('a slack given replaces the default', () => {
    const following = start({ slack: 80 });
    page.scrollTo(0);
    page.scrollTo(900 - 81);
    expect(following.atNewest).toBe(false);
    page.scrollTo(900 - 80);
    expect(following.atNewest).toBe(true);
  });

  test('a slack of 0: only the very end counts', () => {
    const following = start({ slack: 0 });
    page.scrollTo(0);
    page.scrollTo(899);
    expect(following.atNewest).toBe(false);
    page.scrollTo(900);
    expect(following.atNewest).toBe(true);
  });
});

describe('a scroll that is not a reader moving up', () => {
  test('one pixel up (scroll anchoring, rounding) with the content grown leaves the list following, at the end', () => {
    const following = start();
    page.grow(1200);
    page.scrollTo(899);
    expect(following.atNewest).toBe(true);
    expect(page.away()).toBe(0);
  });

  test('the list’s own move arriving after an image grew below it sticks to the end again', () => {
    const following = start();
    page.grow(1200);
    page.scrollTo(900);
    expect(following.atNewest).toBe(true);
    expect(page.away()).toBe(0);
  });

  test('content grown by no more than the slack leaves the view where it is', () => {
    const following = start();
    page.grow(1000 + 32);
    page.scrollTo(900);
    expect(page.scroller.scrollTop).toBe(900);
    expect(following.atNewest).toBe(true);
  });
});

describe('growth that adds no element', () => {
  test('an image that loads late inside the list (load does not bubble) scrolls to the end while following', () => {
    start();
    const image = document.createElement('img');
    page.list.append(image);
    page.grow(1400);
    image.dispatchEvent(new Event('load'));
    expect(page.away()).toBe(0);
  });

  test('a late image keeps the place of a reader scrolled up', () => {
    start();
    const image = document.createElement('img');
    page.list.append(image);
    page.scrollTo(300);
    page.grow(1400);
    image.dispatchEvent(new Event('load'));
    expect(page.scroller.scrollTop).toBe(300);
  });
});

describe('with ResizeObserver (a browser has it; jsdom does not)', () => {
  class FakeResizeObserver {
    static made: FakeResizeObserver[] = [];
    observed: Element[] = [];
    constructor(private readonly callback: () => void) {
      FakeResizeObserver.made.push(this);
    }
    observe(target: Element) {
      this.observed.push(target);
    }
    disconnect() {
      this.observed = [];
    }
    /** What a browser does when an observed element changed size. */
    resize() {
      if (this.observed.length > 0) this.callback();
    }
  }

  beforeEach(() => {
    FakeResizeObserver.made = [];
    (globalThis as { ResizeObserver?: unknown }).ResizeObserver = FakeResizeObserver;
  });
  afterEach(() => {
    delete (globalThis as { ResizeObserver?: unknown }).ResizeObserver;
  });

  test('watches the scroller and each of its children', () => {
    start();
    expect(FakeResizeObserver.made).toHaveLength(1);
    expect(FakeResizeObserver.made[0]!.observed).toEqual([page.scroller, page.list]);
  });

  test('a resize scrolls to the end while following, and keeps the place of a reader scrolled up', () => {
    start();
    const sizes = FakeResizeObserver.made[0]!;
    page.grow(1300);
    sizes.resize();
    expect(page.away()).toBe(0);
    page.scrollTo(500);
    page.grow(1600);
    sizes.resize();
    expect(page.scroller.scrollTop).toBe(500);
  });

  test('stop disconnects it', () => {
    start().stop();
    expect(FakeResizeObserver.made[0]!.observed).toEqual([]);
  });
});

describe('toNewest', () => {
  test('scrolls to the end, follows again and says nothing is unseen', async () => {
    const following = start();
    page.scrollTo(100);
    await append(message());
    following.toNewest();
    expect(following.atNewest).toBe(true);
    expect(page.away()).toBe(0);
    expect(counts).toEqual([1, 0]);
    page.grow(1500);
    await append(message());
    expect(page.away()).toBe(0);
  });

  test('says nothing when nothing was unseen', () => {
    const following = start();
    following.toNewest();
    page.scrollTo(0);
    following.toNewest();
    expect(counts).toEqual([]);
  });
});

describe('stop', () => {
  test('leaves the list alone: no scroll, load or added message moves it or changes what it says', async () => {
    const following = start();
    following.stop();
    page.scrollTo(0);
    expect(following.atNewest).toBe(true);
    page.scrollTo(900);
    page.grow(1500);
    const image = document.createElement('img');
    page.list.append(image);
    image.dispatchEvent(new Event('load'));
    expect(page.scroller.scrollTop).toBe(900);
    await append(message());
    expect(page.scroller.scrollTop).toBe(900);
    expect(counts).toEqual([]);
  });
});
