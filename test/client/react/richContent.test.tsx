/**
 * @jest-environment ./test/support/jsdomWithFetch.js
 * @jest-environment-options {"url": "http://localhost:3000/", "customExportConditions": ["node", "node-addons"]}
 */
import { cleanup, fireEvent, render, screen, within } from '../../support/dom';
import type { ChatMessage, SendInput } from '../../../client/src';
import { Attachments, Cards, DatePickers, QuickReplies, slotLabel, wordingFor } from '../../../client/src/react';

/**
 * What a message carries besides text (RichContent.tsx), each part on its own in jsdom: what the guest can answer
 * and what `send` then takes, which links open, and how images and files read to a screen reader.
 */

afterEach(cleanup);

const base: ChatMessage = { id: 'offer', direction: 'outbound', type: 'structured', time: '2026-03-04T15:00:00Z' };
const answered: SendInput[] = [];
const onAnswer = (input: SendInput) => void answered.push(input);
beforeEach(() => void answered.splice(0));

describe('QuickReplies', () => {
  const offer = {
    ...base,
    quickReplies: [
      { text: 'Yes', payload: 'yes' },
      { text: 'No', payload: 'no' },
    ],
  };

  test('a group of the replies offered; one answers the message that offered it', () => {
    render(<QuickReplies message={offer} onAnswer={onAnswer} />);
    const group = screen.getByRole('group', { name: 'Quick replies' });
    const yes = within(group).getByRole('button', { name: 'Yes' });
    expect(yes.getAttribute('dir')).toBe('auto');
    fireEvent.click(within(group).getByRole('button', { name: 'No' }));
    expect(answered).toEqual([{ quickReply: { text: 'No', payload: 'no', originatingMessageId: 'offer' } }]);
  });

  test('disabled, no reply answers; with none offered, no group', () => {
    const { rerender } = render(<QuickReplies message={offer} onAnswer={onAnswer} disabled />);
    expect((screen.getByRole('button', { name: 'Yes' }) as HTMLButtonElement).disabled).toBe(true);
    rerender(<QuickReplies message={{ ...base, quickReplies: [] }} onAnswer={onAnswer} />);
    expect(screen.queryByRole('group')).toBeNull();
  });
});

describe('Cards', () => {
  const card = (title: string, extra: object = {}) => ({
    title,
    description: `About ${title}`,
    actions: [{ type: 'Postback', text: `Pick ${title}`, payload: title.toLowerCase() }],
    ...extra,
  });

  test('one card is no carousel; two or more are a group named Carousel', () => {
    const { container, rerender } = render(<Cards message={{ ...base, cards: [card('One')] }} onAnswer={onAnswer} />);
    expect(screen.queryByRole('group')).toBeNull();
    expect(container.querySelector('.cards')?.className).toBe('cards');
    // A label on a plain box is one a screen reader never reads (ARIA prohibits it there): a lone card has none.
    expect(container.querySelector('.cards')?.hasAttribute('aria-label')).toBe(false);
    rerender(<Cards message={{ ...base, cards: [card('One'), card('Two')] }} onAnswer={onAnswer} />);
    const carousel = screen.getByRole('group', { name: 'Carousel' });
    expect(carousel.className).toBe('cards carousel');
    expect(
      within(carousel)
        .getAllByRole('button')
        .map((b) => b.textContent),
    ).toEqual(['Pick One', 'Pick Two']);
  });

  test('a card’s title and words read in their own direction; its button answers with its payload', () => {
    render(<Cards message={{ ...base, cards: [card('One')] }} onAnswer={onAnswer} />);
    expect(screen.getByText('One').getAttribute('dir')).toBe('auto');
    expect(screen.getByText('About One').getAttribute('dir')).toBe('auto');
    const pick = screen.getByRole('button', { name: 'Pick One' });
    expect(pick.getAttribute('dir')).toBe('auto');
    fireEvent.click(pick);
    expect(answered).toEqual([{ button: { text: 'Pick One', payload: 'one', originatingMessageId: 'offer' } }]);
  });

  test('disabled, a card’s button answers nothing', () => {
    render(<Cards message={{ ...base, cards: [card('One')] }} onAnswer={onAnswer} disabled />);
    expect((screen.getByRole('button', { name: 'Pick One' }) as HTMLButtonElement).disabled).toBe(true);
  });

  test('a link opens in a new tab, without the page behind it, named by its text else its URL', () => {
    const actions = [
      { type: 'Link', text: 'Track', url: 'https://shop.example/track' },
      { type: 'Link', url: 'https://shop.example/help' },
    ];
    render(<Cards message={{ ...base, cards: [{ actions }] }} onAnswer={onAnswer} />);
    const track = screen.getByRole('link', { name: 'Track' });
    expect([track.getAttribute('href'), track.getAttribute('target'), track.getAttribute('rel')]).toEqual([
      'https://shop.example/track',
      '_blank',
      'noopener noreferrer',
    ]);
    expect(track.getAttribute('dir')).toBe('auto');
    expect(screen.getByRole('link', { name: 'https://shop.example/help' }).getAttribute('href')).toBe(
      'https://shop.example/help',
    );
  });

  test('a link that is not http(s) is never an anchor; a postback that carries a URL stays a button', () => {
    const actions = [
      { type: 'Link', text: 'Run', url: 'javascript:alert(1)' },
      { type: 'Postback', text: 'Choose', payload: 'c', url: 'https://shop.example/c' },
    ];
    const { container } = render(<Cards message={{ ...base, cards: [{ actions }] }} onAnswer={onAnswer} />);
    expect(container.querySelector('a')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Choose' }));
    expect(answered).toEqual([{ button: { text: 'Choose', payload: 'c', originatingMessageId: 'offer' } }]);
  });

  test('an action with no words and no link shows nothing; a card’s image is decoration, shown only from http(s)', () => {
    const cards = [
      { image: 'https://shop.example/one.png', actions: [{ type: 'Postback', payload: 'p' }] },
      { image: 'javascript:alert(1)', actions: [] },
    ];
    const { container } = render(<Cards message={{ ...base, cards }} onAnswer={onAnswer} />);
    expect(screen.queryByRole('button')).toBeNull();
    expect(screen.queryByRole('img')).toBeNull();
    // Untitled and without words: no empty heading or paragraph to take up room.
    expect(container.querySelectorAll('strong, p')).toHaveLength(0);
    const images = Array.from(container.querySelectorAll('img'));
    expect(images.map((i) => [i.getAttribute('src'), i.getAttribute('alt')])).toEqual([
      ['https://shop.example/one.png', ''],
    ]);
  });

  test('no cards, nothing drawn', () => {
    const { container } = render(<Cards message={base} onAnswer={onAnswer} />);
    expect(container.innerHTML).toBe('');
  });
});

describe('DatePickers', () => {
  const at = '2026-03-05T09:00:00Z';
  const picker = (extra: object = {}) => ({
    ...base,
    datePickers: [{ originatingMessageId: 'picker-1', availableTimes: [{ dateTime: at }], ...extra }],
  });

  test('a group named by its title, its words, and a slot that answers with its time and the label read', () => {
    const german = wordingFor('de');
    render(
      <DatePickers
        message={picker({ title: 'Book a call', subtitle: 'Any time' })}
        onAnswer={onAnswer}
        wording={german}
      />,
    );
    const group = screen.getByRole('group', { name: 'Book a call' });
    expect(within(group).getByText('Book a call').getAttribute('dir')).toBe('auto');
    expect(within(group).getByText('Any time').getAttribute('dir')).toBe('auto');
    fireEvent.click(within(group).getByRole('button', { name: german.dateTime(at) }));
    expect(answered).toEqual([
      { datePicker: { dateTime: at, originatingMessageId: 'picker-1', text: german.dateTime(at) } },
    ]);
  });

  test('untitled, it is named "Pick a time"; disabled, its slots answer nothing', () => {
    render(<DatePickers message={picker()} onAnswer={onAnswer} disabled />);
    const group = screen.getByRole('group', { name: 'Pick a time' });
    expect(group.querySelectorAll('strong, p')).toHaveLength(0);
    expect((within(group).getByRole('button') as HTMLButtonElement).disabled).toBe(true);
  });

  test('slotLabel without words: the browser’s own date and time, or the text as given when it is no date', () => {
    expect(slotLabel(at)).toBe(new Date(at).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' }));
    expect(slotLabel('soon')).toBe('soon');
    expect(slotLabel(at, wordingFor('fr'))).toBe(wordingFor('fr').dateTime(at));
  });
});

describe('Attachments', () => {
  const files = (attachments: ChatMessage['attachments']) => ({ ...base, attachments });

  test('an image is a thumbnail named by its file, loaded lazily, that opens the file in a new tab', () => {
    render(
      <Attachments
        message={files([{ id: 'a', url: 'https://chat.example/a', mediaType: 'Image', filename: 'parcel.png' }])}
      />,
    );
    const image = screen.getByRole('img', { name: 'parcel.png' });
    expect([image.getAttribute('src'), image.getAttribute('loading')]).toEqual(['https://chat.example/a', 'lazy']);
    const link = screen.getByRole('link', { name: 'parcel.png' });
    expect(['href', 'target', 'rel', 'dir'].map((name) => link.getAttribute(name))).toEqual([
      'https://chat.example/a',
      '_blank',
      'noopener noreferrer',
      'auto',
    ]);
  });

  test('a file whose MIME type is an image is a thumbnail too; unnamed, it reads "Image"', () => {
    render(<Attachments message={files([{ url: 'https://chat.example/b', mediaType: 'File', mime: 'image/png' }])} />);
    expect(screen.getByRole('img', { name: 'Image' }).getAttribute('src')).toBe('https://chat.example/b');
  });

  test('any other file is a download link by its name, else "the file"; one not on http(s) is left out', () => {
    render(
      <Attachments
        message={files([
          {
            id: 'c',
            url: 'https://chat.example/c',
            mediaType: 'File',
            filename: 'invoice.pdf',
            mime: 'application/pdf',
          },
          { id: 'd', url: 'https://chat.example/d' },
          { id: 'e', url: 'javascript:alert(1)', mediaType: 'Image' },
          { id: 'f' },
        ])}
      />,
    );
    expect(screen.getAllByRole('link').map((l) => [l.textContent, l.getAttribute('href')])).toEqual([
      ['Download invoice.pdf', 'https://chat.example/c'],
      ['Download the file', 'https://chat.example/d'],
    ]);
    expect(screen.queryByRole('img')).toBeNull();
  });
});

test('inside a page’s own form, an answer answers and submits nothing', () => {
  const message: ChatMessage = {
    ...base,
    quickReplies: [{ text: 'Yes', payload: 'yes' }],
    cards: [{ actions: [{ text: 'Go', payload: 'go' }] }],
    datePickers: [{ originatingMessageId: 'p', availableTimes: [{ dateTime: '2026-03-05T09:00:00Z' }] }],
  };
  let submitted = 0;
  render(
    <form onSubmit={(event) => (event.preventDefault(), (submitted += 1))}>
      <QuickReplies message={message} onAnswer={onAnswer} />
      <Cards message={message} onAnswer={onAnswer} />
      <DatePickers message={message} onAnswer={onAnswer} />
    </form>,
  );
  for (const button of screen.getAllByRole('button')) fireEvent.click(button);
  expect(answered).toHaveLength(3);
  expect(submitted).toBe(0);
});

test('the stable class names a stylesheet styles: replies, cards and their parts, date slots, files', () => {
  const message: ChatMessage = {
    ...base,
    quickReplies: [{ text: 'Yes', payload: 'yes' }],
    cards: [
      {
        title: 'T',
        description: 'D',
        image: 'https://chat.example/i',
        actions: [
          { text: 'Go', payload: 'go' },
          { type: 'Link', text: 'See', url: 'https://chat.example/s' },
        ],
      },
    ],
    datePickers: [{ originatingMessageId: 'p', availableTimes: [{ dateTime: '2026-03-05T09:00:00Z' }] }],
    attachments: [{ id: 'a', url: 'https://chat.example/a', mediaType: 'Image' }],
  };
  const { container } = render(
    <>
      <QuickReplies message={message} onAnswer={onAnswer} />
      <Cards message={message} onAnswer={onAnswer} />
      <DatePickers message={message} onAnswer={onAnswer} />
      <Attachments message={message} />
    </>,
  );
  const selectors = [
    '.quick-replies button.answer',
    '.cards .card img.card-image',
    '.card strong.card-title',
    '.card p.card-text',
    '.card .card-actions button.card-button.answer',
    '.card .card-actions a.card-link',
    '.date-picker button.slot.answer',
    'a.attachment img.thumb',
  ];
  for (const selector of selectors)
    expect([selector, container.querySelector(selector) !== null]).toEqual([selector, true]);
});
