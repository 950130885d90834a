/**
 * @jest-environment ./test/support/jsdomWithFetch.js
 * @jest-environment-options {"url": "http://localhost:3000/", "customExportConditions": ["node", "node-addons"]}
 */
import fc from 'fast-check';
import { cleanup, fireEvent, render, screen, within } from '../../support/dom';
import type { ChatMessage, DeliveryStatus, ReceiptEvent, ReceiptReason } from '../../../client/src';
import {
  ChatWording,
  MessageList,
  applyReceipt,
  deliveryLine,
  describeFailure,
  mergeMessages,
  wordingFor,
} from '../../../client/src/react';
import { readReporter } from '../../../client/src';
import { transition, type ChatState } from '../../../client/src/react/chatState';
import { STATES } from '../../support/chatStates';

/**
 * Receipts in the kit: a guest message moves on as Genesys's receipts say (never back, whatever order they and the
 * history pages come in), and the page says where it stands in the customer's language: why a failed one failed,
 * and whether sending it again can help.
 */

afterEach(() => cleanup());

const guest = (id: string, time: string, extra: Partial<ChatMessage> = {}): ChatMessage => ({
  id,
  direction: 'inbound',
  type: 'text',
  text: `text of ${id}`,
  time,
  status: 'sent',
  ...extra,
});
const receipt = (messageId: string, status: ReceiptEvent['status'], reasons?: ReceiptReason[]): ReceiptEvent => ({
  messageId,
  status,
  at: '2026-03-04T15:00:00Z',
  ...(reasons ? { reasons } : {}),
});

describe('a status only moves forward', () => {
  const RANK: DeliveryStatus[] = ['sent', 'delivered', 'read', 'failed'];

  test('whatever receipts and history copies come, in whatever order, each message ends at the furthest said', () => {
    const update = fc.oneof(
      fc.record({
        kind: fc.constant('receipt' as const),
        id: fc.constantFrom('g1', 'g2', 'gone'),
        status: fc.constantFrom('delivered' as const, 'read' as const, 'failed' as const),
      }),
      fc.record({
        kind: fc.constant('copy' as const),
        id: fc.constantFrom('g1', 'g2'),
        status: fc.constantFrom(...RANK),
      }),
    );
    fc.assert(
      fc.property(fc.array(update, { maxLength: 10 }), (updates) => {
        let messages = [guest('g1', '2026-03-04T15:00:00Z'), guest('g2', '2026-03-04T15:00:01Z')];
        for (const u of updates) {
          messages =
            u.kind === 'receipt'
              ? applyReceipt(messages, receipt(u.id, u.status, u.status === 'failed' ? [{ code: 'other' }] : undefined))
              : mergeMessages(messages, [
                  guest(u.id, u.id === 'g1' ? '2026-03-04T15:00:00Z' : '2026-03-04T15:00:01Z', { status: u.status }),
                ]);
        }
        // The oracle: the highest rank any update named for the message, counted by hand.
        for (const m of messages) {
          const named = updates.filter((u) => u.id === m.id).map((u) => RANK.indexOf(u.status));
          expect(m.status).toBe(RANK[Math.max(0, ...named)]);
        }
        expect(messages.map((m) => m.id)).toEqual(['g1', 'g2']);
      }),
    );
  });

  test('the chat state applies a receipt to the message it is about; one about no message it holds changes nothing', () => {
    const live: ChatState = {
      ...STATES['live, waiting for an agent'],
      messages: [guest('g1', '2026-03-04T15:00:00Z')],
    };
    const read = transition(live, { type: 'receiptArrived', attempt: live.attempt, receipt: receipt('g1', 'read') });
    expect(read?.messages[0]).toMatchObject({ id: 'g1', status: 'read' });
    const late = transition(read!, {
      type: 'receiptArrived',
      attempt: live.attempt,
      receipt: receipt('g1', 'delivered'),
    });
    expect(late?.messages[0]).toMatchObject({ status: 'read' });
    const elsewhere = transition(live, {
      type: 'receiptArrived',
      attempt: live.attempt,
      receipt: receipt('unknown', 'read'),
    });
    expect(elsewhere).toBe(live);
  });

  test('a receipt that moves its message on to nowhere new leaves the chat state as it was: nothing to draw again', () => {
    const read: ChatState = {
      ...STATES['live, waiting for an agent'],
      messages: [guest('g1', '2026-03-04T15:00:00Z', { status: 'read' })],
    };
    // A resumed stream sends again the receipts the page had, and a late one may come after a later.
    for (const again of [receipt('g1', 'read'), receipt('g1', 'delivered')])
      expect(transition(read, { type: 'receiptArrived', attempt: read.attempt, receipt: again })).toBe(read);
    const failed: ChatState = {
      ...read,
      messages: [guest('g1', '2026-03-04T15:00:00Z', { status: 'failed', reasons: [{ code: 'DataFiltered' }] })],
    };
    const repeated = receipt('g1', 'failed', [{ code: 'ServerError' }]);
    expect(transition(failed, { type: 'receiptArrived', attempt: failed.attempt, receipt: repeated })).toBe(failed);
  });

  test('a failed receipt brings its reasons to the message: the list says why and whether to send it again', () => {
    const live: ChatState = {
      ...STATES['live, waiting for an agent'],
      messages: [guest('g1', '2026-03-04T15:00:00Z')],
    };
    const failed = transition(live, {
      type: 'receiptArrived',
      attempt: live.attempt,
      receipt: receipt('g1', 'failed', [{ code: 'DataFiltered', message: 'blocked' }]),
    })!;
    expect(failed.messages[0]).toMatchObject({ status: 'failed', reasons: [{ code: 'DataFiltered' }] });
    render(<MessageList messages={failed.messages} onAnswer={() => undefined} />);
    expect(screen.getByRole('status').textContent).toContain(wordingFor('en').t('failedDataFiltered'));
    expect(screen.queryByRole('button', { name: 'Send again' })).toBeNull();
  });
});

describe('why a message failed, for the customer', () => {
  test.each<
    [
      ReceiptReason['code'][],
      'failedDataFiltered' | 'failedRateLimited' | 'failedNotAccepted' | 'failedTryAgain',
      boolean,
    ]
  >([
    [['DataFiltered'], 'failedDataFiltered', false],
    [['RateLimited', 'DataFiltered'], 'failedDataFiltered', false],
    [['RateLimited'], 'failedRateLimited', true],
    [['MediaTypeNotAllowed'], 'failedNotAccepted', false],
    [['RecipientOptedOut', 'UnsupportedMessage'], 'failedNotAccepted', false],
    // A fault among the reasons: the message may go through when sent again.
    [['MediaTypeNotAllowed', 'ServerError'], 'failedTryAgain', true],
    [['ServerError'], 'failedTryAgain', true],
    [['other'], 'failedTryAgain', true],
    [[], 'failedTryAgain', true],
  ])('%j: %s, sending again %s', (codes, key, retry) => {
    for (const language of ['en', 'de', 'ar']) {
      const wording = wordingFor(language);
      expect(
        describeFailure(
          codes.map((code) => ({ code })),
          wording,
        ),
      ).toEqual({ text: wording.t(key), retry });
    }
  });
});

describe('the list shows where the guest’s messages stand', () => {
  const filtered = guest('g1', '2026-03-04T15:00:00Z', {
    status: 'failed',
    reasons: [{ code: 'DataFiltered', message: 'blocked by data filtering' }],
  });
  const limited = guest('g2', '2026-03-04T15:00:01Z', { status: 'failed', reasons: [{ code: 'RateLimited' }] });
  const answered = guest('g3', '2026-03-04T15:00:02Z', { status: 'read' });
  const delivered = guest('g4', '2026-03-04T15:00:03Z', { status: 'delivered' });
  const reply: ChatMessage = {
    id: 'a1',
    direction: 'outbound',
    type: 'text',
    text: 'Hello',
    time: '2026-03-04T15:00:04Z',
    originatingEntity: 'human',
  };

  test.each(['en', 'de', 'ar'])(
    '%s: each failure says why, in the language; the newest says it was read',
    (language) => {
      const wording = wordingFor(language);
      const sent: unknown[] = [];
      render(
        <div dir={wording.dir} lang={wording.locale}>
          <ChatWording wording={wording}>
            <MessageList messages={[filtered, limited, answered, reply]} onAnswer={(input) => sent.push(input)} />
          </ChatWording>
        </div>,
      );
      const item = (id: string) => document.querySelector<HTMLElement>(`li[data-id="${id}"]`)!;
      const filteredLine = within(item('g1')).getByRole('status');
      expect(filteredLine.textContent).toContain(wording.t('messageNotDelivered'));
      expect(filteredLine.textContent).toContain(wording.t('failedDataFiltered'));
      // Genesys's own English text is not for customers.
      expect(filteredLine.textContent).not.toContain('blocked by data filtering');
      expect(within(item('g1')).queryByRole('button')).toBeNull();

      expect(within(item('g2')).getByRole('status').textContent).toContain(wording.t('failedRateLimited'));
      fireEvent.click(within(item('g2')).getByRole('button', { name: wording.t('sendAgain') }));
      expect(sent).toEqual([{ text: 'text of g2' }]);

      expect(item('g3').querySelector('.delivery')!.textContent).toBe(wording.t('messageRead'));
      expect(item('a1').querySelector('.delivery')).toBeNull();
    },
  );

  test('only the newest guest message says how far it got; a failure shows wherever it is', () => {
    render(<MessageList messages={[filtered, answered, delivered]} onAnswer={() => undefined} />);
    expect(Array.from(document.querySelectorAll('.delivery')).map((e) => e.getAttribute('data-status'))).toEqual([
      'failed',
      'delivered',
    ]);
    expect(screen.getByText('Delivered')).toBeTruthy();
  });

  test.each(['en', 'de', 'ar'])('%s: a message Genesys has said nothing of yet reads as sent', (language) => {
    const wording = wordingFor(language);
    render(
      <ChatWording wording={wording}>
        <MessageList messages={[guest('g1', '2026-03-04T15:00:00Z')]} onAnswer={() => undefined} />
      </ChatWording>,
    );
    expect(document.querySelector('.delivery')!.textContent).toBe(wording.t('messageSent'));
  });

  test('a message with no status (an agent’s) has no word for where it stands', () => {
    expect(deliveryLine(reply)).toBeUndefined();
    expect(deliveryLine(guest('g1', '2026-03-04T15:00:00Z', { status: 'delivered' }))).toBe('Delivered');
  });

  test('a chat that is over offers no sending again', () => {
    render(<MessageList messages={[limited]} onAnswer={() => undefined} answersDisabled />);
    expect(screen.queryByRole('button', { name: 'Send again' })).toBeNull();
    expect(screen.getByRole('status').textContent).toContain(wordingFor('en').t('failedRateLimited'));
  });
});

describe('read receipts from the page (readReporter)', () => {
  /** A page whose visibility the test sets, as a browser tab reports it. */
  function tab(initially: DocumentVisibilityState) {
    const events = new EventTarget();
    const page = {
      visibilityState: initially,
      addEventListener: events.addEventListener.bind(events),
      removeEventListener: events.removeEventListener.bind(events),
    };
    const show = (state: DocumentVisibilityState) => {
      page.visibilityState = state;
      events.dispatchEvent(new Event('visibilitychange'));
    };
    return { page: page as unknown as Document, show };
  }
  const agent = (id: string): ChatMessage => ({
    id,
    direction: 'outbound',
    type: 'text',
    text: id,
    time: '2026-03-04T15:00:00Z',
  });

  test('the newest agent message shown in a visible tab is reported once; none while the tab is hidden', async () => {
    const reported: string[] = [];
    const { page, show } = tab('hidden');
    const reads = readReporter({ markRead: async (id) => void reported.push(id) }, page);
    reads.shown([agent('a1'), guest('g1', '2026-03-04T15:00:01Z')]);
    reads.shown([agent('a1'), agent('a2')]);
    expect(reported).toEqual([]);
    show('visible');
    expect(reported).toEqual(['a2']);
    reads.shown([agent('a1'), agent('a2'), guest('g2', '2026-03-04T15:00:02Z')]);
    show('hidden');
    show('visible');
    expect(reported).toEqual(['a2']);
    reads.shown([agent('a2'), agent('a3')]);
    expect(reported).toEqual(['a2', 'a3']);
    reads.stop();
    show('hidden');
    reads.shown([agent('a4')]);
    show('visible');
    expect(reported).toEqual(['a2', 'a3']);
  });

  test('by default it watches the page’s own document', async () => {
    expect(document.visibilityState).toBe('visible');
    const reported: string[] = [];
    const reads = readReporter({ markRead: async (id) => void reported.push(id) });
    reads.shown([agent('a1')]);
    expect(reported).toEqual(['a1']);
    reads.stop();
  });

  test('an event from the agent’s side (joined, left) is not a message the customer read', () => {
    const reported: string[] = [];
    const { page } = tab('visible');
    const reads = readReporter({ markRead: async (id) => void reported.push(id) }, page);
    const joined: ChatMessage = { ...agent('e1'), type: 'event', text: undefined, events: [{ type: 'Presence' }] };
    reads.shown([agent('a1'), joined]);
    expect(reported).toEqual(['a1']);
    reads.stop();
  });

  test('an older report that fails after a newer was made does not make the newer again', async () => {
    const tries: string[] = [];
    const refusals: Array<() => void> = [];
    const { page, show } = tab('visible');
    const reads = readReporter(
      {
        markRead: (id) => {
          tries.push(id);
          return id === 'a1'
            ? new Promise((_, reject) => refusals.push(() => reject(new Error('503'))))
            : Promise.resolve();
        },
      },
      page,
    );
    reads.shown([agent('a1')]);
    reads.shown([agent('a1'), agent('a2')]);
    refusals[0]!();
    await new Promise((resolve) => setTimeout(resolve, 0));
    show('hidden');
    show('visible');
    expect(tries).toEqual(['a1', 'a2']);
    reads.stop();
  });

  test('a report that failed is made again the next time the tab is shown', async () => {
    const tries: string[] = [];
    let refuse = true;
    const { page, show } = tab('visible');
    const reads = readReporter(
      {
        markRead: async (id) => {
          tries.push(id);
          if (refuse) throw new Error('503');
        },
      },
      page,
    );
    reads.shown([agent('a1')]);
    await Promise.resolve();
    await Promise.resolve();
    refuse = false;
    show('hidden');
    show('visible');
    expect(tries).toEqual(['a1', 'a1']);
    reads.stop();
  });
});
