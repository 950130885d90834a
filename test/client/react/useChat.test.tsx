/**
 * @jest-environment ./test/support/jsdomWithFetch.js
 * @jest-environment-options {"url": "http://localhost:3000/", "customExportConditions": ["node", "node-addons"]}
 */
import { StrictMode } from 'react';
import { act, cleanup, fireEvent, render, screen, waitFor as settle, within } from '../../support/dom';
import {
  BffClient,
  BffError,
  availabilityStatus,
  memoryTokenStore,
  wordingFor,
  type SignInGrant,
  type TokenStore,
} from '../../../client/src';
import {
  Composer,
  MessageList,
  describeAvailability,
  describeError,
  useChat,
  type Chat,
  type UseChatOptions,
} from '../../../client/src/react';
import { DEFAULT_EMERGENCY_GROUP_ID, DEFAULT_QUEUE_ID, DEFAULT_SCHEDULE_GROUP_ID } from '../../../simulator';
import { demoPng } from '../../../simulator/richReplies';
import { FetchEventSource } from '../../support/eventSource';
import { signInAt } from '../../support/signIn';
import { POSITION_SKEW_MS } from '../../../src/domain/streamPosition';
import { steerableClock } from '../../support/clock';
import { guestTokenOf, PAGE_ORIGIN, startStack, type Stack } from '../../support/stack';

/**
 * The React bindings against the real service and the Genesys simulator, in jsdom
 * (React Testing Library): fetch as the page on PAGE_ORIGIN sends it and an EventSource
 * over fetch (test/support/jsdomWithFetch.js says why uploads go through fetch here).
 */

let stack: Stack;
/** The service's and the simulator's clock: the reload test moves it, as a reload a while later would. */
const clock = steerableClock();

beforeAll(async () => {
  stack = await startStack({ now: clock.now, sim: { record: true, agent: { typingDelayMs: 5, replyDelayMs: 20 } } });
});
afterAll(() => stack.close());

/** Every call the page made, as `METHOD path`, and those answered (or failed), in the order they were. */
const calls: string[] = [];
const answered: string[] = [];
const pageFetch: typeof fetch = async (input, init = {}) => {
  const call = `${init.method ?? 'GET'} ${new URL(String(input)).pathname}`;
  calls.push(call);
  try {
    return await fetch(input, {
      ...init,
      headers: { ...(init.headers as Record<string, string>), Origin: PAGE_ORIGIN },
    });
  } finally {
    answered.push(call);
  }
};

function clientFor(tokenStore: TokenStore = memoryTokenStore(), on: Stack = stack): BffClient {
  return new BffClient({
    baseUrl: on.service.url,
    tokenStore,
    fetch: pageFetch,
    EventSource: FetchEventSource as unknown as typeof EventSource,
  });
}

/** The page's last load of earlier messages: a test that pages waits for it, not for a while. */
let loadingOlder: Promise<void> = Promise.resolve();

/** A page of the developer's own: the hook and the package's components. */
function ChatPage(options: UseChatOptions & { grant?: SignInGrant }) {
  const chat = useChat(options);
  return (
    <main>
      <p role="status">{chat.status}</p>
      {chat.error && <p role="alert">{describeError(chat.error)}</p>}
      {chat.ended && <p role="note">ended by {chat.ended}</p>}
      {chat.agentPresent && <p>agent here</p>}
      {chat.hasOlder && (
        <button type="button" onClick={() => void (loadingOlder = chat.loadOlder())}>
          Earlier
        </button>
      )}
      <MessageList
        messages={chat.messages}
        onAnswer={(input) => void chat.send(input)}
        answersDisabled={chat.ended !== undefined}
      />
      <p data-testid="typing">{chat.typing ? `${chat.typing.name} is typing` : ''}</p>
      <Composer
        onSubmit={chat.submit}
        onTyping={chat.notifyTyping}
        disabled={chat.status !== 'open'}
        attachments={chat.capabilities?.attachments}
        uploads={chat.uploads.uploads}
        busy={chat.uploads.busy}
        onFiles={(files) => files.forEach((f) => void chat.uploads.upload(f))}
        onCancelUpload={chat.uploads.cancel}
      />
      <button type="button" onClick={() => void chat.endChat()}>
        End chat
      </button>
      <button type="button" onClick={() => void chat.startNew()}>
        New chat
      </button>
      {options.grant && !chat.signedIn && (
        <button type="button" onClick={() => void chat.signIn(options.grant!)}>
          Sign in
        </button>
      )}
      {chat.signedIn && (
        <button type="button" onClick={() => void chat.signOut()}>
          Sign out
        </button>
      )}
    </main>
  );
}

const log = () => screen.getByRole('log', { name: 'Conversation' });
const bubble = (text: string) => within(log()).findByText(text, { selector: '.bubble' });

async function connect(
  options: Partial<UseChatOptions> & { grant?: SignInGrant } = {},
  on: Stack = stack,
): Promise<{ gt: string; client: BffClient }> {
  const before = on.sim.received.length;
  const client = options.client ?? clientFor(memoryTokenStore(), on);
  render(<ChatPage client={client} {...options} />);
  await screen.findByText('open', { selector: '[role=status]' });
  return { gt: guestTokenOf(on.sim, before), client };
}

async function say(text: string): Promise<void> {
  // The composer takes a message only while the chat is open: on a loaded machine the stream can be between
  // reconnects when the last answer has shown, and a click then sends nothing.
  await settle(() => expect((screen.getByRole('button', { name: 'Send' }) as HTMLButtonElement).disabled).toBe(false));
  fireEvent.change(screen.getByLabelText('Your message'), { target: { value: text } });
  fireEvent.click(screen.getByRole('button', { name: 'Send' }));
  await bubble(text);
}

const sentToGenesys = (gt: string) =>
  stack.sim
    .framesFor(gt, 'onMessage')
    .map((f) => f.frame.message as { text?: string; content?: { contentType: string; buttonResponse?: object }[] });

test('useChat: a session, send with an Idempotency-Key, quick replies, a card button and a date picker that answer as Genesys takes them, typing both ways', async () => {
  const { gt } = await connect();
  await say('Can I get some quick replies?');
  const yes = await within(log()).findByRole('button', { name: 'Yes' });
  fireEvent.click(yes);
  await bubble('You chose: Yes');
  // The earlier offer cannot be answered twice.
  expect((within(log()).getByRole('button', { name: 'Yes' }) as HTMLButtonElement).disabled).toBe(true);

  await say('show me a card');
  fireEvent.click(await within(log()).findByRole('button', { name: 'Track order' }));
  await bubble('You chose: Track order');

  await say('a date picker please');
  const group = await within(log()).findByRole('group', { name: 'Book a call' });
  const slot = within(group).getAllByRole('button')[0]!;
  fireEvent.click(slot);
  await bubble(`You chose: ${slot.textContent}`);

  const answers = sentToGenesys(gt)
    .flatMap((m) => m.content ?? [])
    .filter((c) => c.contentType === 'ButtonResponse')
    .map((c) => c.buttonResponse);
  expect(answers).toEqual([
    expect.objectContaining({ type: 'QuickReply', text: 'Yes', originatingMessageId: expect.any(String) }),
    expect.objectContaining({ type: 'Button', text: 'Track order', payload: 'track' }),
    expect.objectContaining({ type: 'DatePicker' }),
  ]);
  // Each send carried its own Idempotency-Key.
  const keys = stack.log
    .lines()
    .filter((l) => l.idempotencyKey)
    .map((l) => l.idempotencyKey);
  expect(new Set(keys).size).toBe(keys.length);

  // The guest's typing (sent as the composer fills, at most every 5 s) reached Genesys.
  expect(calls.filter((c) => c === 'POST /typing').length).toBeGreaterThan(0);
  // The agent's typing shows for the durationMs the event gives.
  const source = FetchEventSource.opened[FetchEventSource.opened.length - 1]!;
  act(() => void source.dispatchEvent(new MessageEvent('typing', { data: JSON.stringify({ durationMs: 40 }) })));
  expect(screen.getByTestId('typing').textContent).toBe('Simulator Bot is typing');
  await settle(() => expect(screen.getByTestId('typing').textContent).toBe(''));
});

test("useChat: who is typing is worded in the chat's language when shown, so a switch of language rewords it", async () => {
  const client = clientFor();
  const { rerender } = render(<ChatPage client={client} locale="de" />);
  await screen.findByText('open', { selector: '[role=status]' });
  const source = FetchEventSource.opened[FetchEventSource.opened.length - 1]!;
  // A human agent's message that Genesys names no one for, then their typing.
  const hello = { id: 'unnamed-1', direction: 'outbound', type: 'text', text: 'Hallo', originatingEntity: 'human' };
  act(() => {
    source.dispatchEvent(
      new MessageEvent('message', { data: JSON.stringify({ ...hello, time: new Date().toISOString() }) }),
    );
    source.dispatchEvent(new MessageEvent('typing', { data: JSON.stringify({ durationMs: 60_000 }) }));
  });
  expect(screen.getByTestId('typing').textContent).toBe(`${wordingFor('de').t('someAgent')} is typing`);
  rerender(<ChatPage client={client} locale="fr" />);
  expect(screen.getByTestId('typing').textContent).toBe(`${wordingFor('fr').t('someAgent')} is typing`);
  // A bot Genesys names no one for is worded as one.
  const bot = { ...hello, id: 'unnamed-bot-1', originatingEntity: 'bot', text: 'Bonjour' };
  act(() => {
    source.dispatchEvent(
      new MessageEvent('message', { data: JSON.stringify({ ...bot, time: new Date().toISOString() }) }),
    );
    source.dispatchEvent(new MessageEvent('typing', { data: JSON.stringify({ durationMs: 60_000 }) }));
  });
  expect(screen.getByTestId('typing').textContent).toBe(`${wordingFor('fr').t('bot')} is typing`);
});

test('useChat: an image uploaded and sent with text, one removed (deleted at Genesys), End chat, and a new chat', async () => {
  const { gt } = await connect();
  // The attach control appears once capabilities say the deployment takes files.
  const fileInput = (await screen.findByLabelText('File to attach')) as HTMLInputElement;
  fireEvent.change(fileInput, {
    target: { files: [new File([new Uint8Array(demoPng(40, 40))], 'parcel.png', { type: 'image/png' })] },
  });
  await settle(() =>
    expect(document.querySelector('.pending-file[data-state="done"]')?.textContent).toContain('parcel.png'),
  );
  await say('my parcel');
  await settle(() => expect(document.querySelector('.from-guest img.thumb')?.getAttribute('alt')).toBe('parcel.png'));
  expect(document.querySelectorAll('.pending-file')).toHaveLength(0);
  expect(
    sentToGenesys(gt)
      .find((m) => m.text === 'my parcel')
      ?.content?.map((c) => c.contentType),
  ).toEqual(['Attachment']);

  fireEvent.change(fileInput, {
    target: { files: [new File([new Uint8Array(demoPng(8, 8))], 'unwanted.png', { type: 'image/png' })] },
  });
  await settle(() => expect(document.querySelector('.pending-file[data-state="done"]')).not.toBeNull());
  const deletesBefore = stack.sim.framesFor(gt, 'deleteAttachment').length;
  fireEvent.click(screen.getByRole('button', { name: 'Remove unwanted.png' }));
  expect(document.querySelectorAll('.pending-file')).toHaveLength(0);
  await settle(() => expect(stack.sim.framesFor(gt, 'deleteAttachment').length).toBe(deletesBefore + 1));

  fireEvent.click(screen.getByRole('button', { name: 'End chat' }));
  await screen.findByText('ended by guest');
  expect(screen.getByRole('status').textContent).toBe('ended');
  // Ended for the agent too: a Presence Clear (conversation clear is on in this deployment).
  expect(
    stack.sim.framesFor(gt, 'onMessage').filter((f) => JSON.stringify(f.frame.message).includes('"Clear"')),
  ).toHaveLength(1);
  fireEvent.click(screen.getByRole('button', { name: 'New chat' }));
  await screen.findByText('open', { selector: '[role=status]' });
  expect(document.querySelectorAll('.from-guest')).toHaveLength(0);
});

test('useChat: a reload resumes the chat and pages its history; the agent ends it', async () => {
  const tokens = memoryTokenStore();
  const { gt } = await connect({ client: clientFor(tokens) });
  // Each answer before the next message: the order history pages back is the order things happened.
  for (const text of ['one', 'two', 'three']) {
    await say(text);
    await bubble(`You said: ${text}`);
  }

  // A reload a while later (a resumed stream first replays the last POSITION_SKEW_MS, its reach for clock
  // skew, which would show these messages without paging): a new client on the same stored token, two
  // messages a page; earlier pages on request.
  clock.advance(POSITION_SKEW_MS + 1000);
  cleanup();
  render(<ChatPage client={clientFor(tokens)} historyPageSize={2} />);
  await screen.findByText('open', { selector: '[role=status]' });
  await settle(() => expect(screen.getByRole('button', { name: 'Earlier' })).toBeTruthy());
  expect(within(log()).queryByText('one')).toBeNull();
  for (let pages = 0; screen.queryByRole('button', { name: 'Earlier' }) && pages < 20; pages++) {
    const before = calls.length;
    fireEvent.click(screen.getByRole('button', { name: 'Earlier' }));
    await act(() => loadingOlder);
    expect(calls.length).toBeGreaterThan(before);
  }
  await bubble('one');
  const texts = Array.from(document.querySelectorAll('.bubble'), (b) => b.textContent);
  expect(texts).toEqual(['one', 'You said: one', 'two', 'You said: two', 'three', 'You said: three']);

  stack.sim.agent.disconnect(gt, { readOnly: true });
  await screen.findByText('ended by agent');
  expect((screen.getByLabelText('Your message') as HTMLTextAreaElement).disabled).toBe(true);
});

test('useChat: signing in mid-chat keeps the conversation, signed in; signing out ends it here', async () => {
  const grant = await signInAt(stack.sim, `react-${Date.now().toString(36)}`);
  await connect({ grant });
  await say('before signing in');
  fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
  await screen.findByRole('button', { name: 'Sign out' });
  expect(screen.getByRole('status').textContent).toBe('open');
  await bubble('before signing in');
  fireEvent.click(screen.getByRole('button', { name: 'Sign out' }));
  await screen.findByText('ended by signed_out');
  expect(screen.queryByRole('button', { name: 'Sign out' })).toBeNull();
});

test('useChat: under StrictMode (mount, unmount, mount) one POST /guest-session per load, and nothing ended', async () => {
  const tokens = memoryTokenStore();
  const before = calls.length;
  render(
    <StrictMode>
      <ChatPage client={clientFor(tokens)} />
    </StrictMode>,
  );
  await screen.findByText('open', { selector: '[role=status]' });
  await say('hello once');
  // A reload in development: StrictMode mounts twice again, and resumes the one session.
  cleanup();
  render(
    <StrictMode>
      <ChatPage client={clientFor(tokens)} />
    </StrictMode>,
  );
  await screen.findByText('open', { selector: '[role=status]' });
  await bubble('hello once');
  const made = calls.slice(before);
  expect(made.filter((c) => c === 'POST /guest-session')).toHaveLength(2);
  expect(made.filter((c) => c === 'DELETE /guest-session')).toHaveLength(0);
});

/** A page with a pre-chat step: a held session resumes on load, else the guest's submit starts one. */
function StartLater({ client }: { client: BffClient }) {
  const chat = useChat({ client, autoStart: 'resume' });
  return (
    <main>
      <p role="status">{chat.status}</p>
      <MessageList messages={chat.messages} onAnswer={(input) => void chat.send(input)} />
      <button
        type="button"
        onClick={() => {
          // A double submit, as an impatient click makes it.
          void chat.start({ attributes: { topic: 'billing' } });
          void chat.start({ attributes: { topic: 'billing' } });
        }}
      >
        Begin
      </button>
      <Composer onSubmit={chat.submit} disabled={chat.status !== 'open'} />
    </main>
  );
}

test("useChat: autoStart 'resume' waits for start(details) under StrictMode, one session for a double submit, and a reload resumes it", async () => {
  const tokens = memoryTokenStore();
  const before = calls.length;
  render(
    <StrictMode>
      <StartLater client={clientFor(tokens)} />
    </StrictMode>,
  );
  await screen.findByText('idle', { selector: '[role=status]' });
  expect(calls.slice(before).filter((c) => c === 'POST /guest-session')).toHaveLength(0);

  const sent = stack.sim.received.length;
  fireEvent.click(screen.getByRole('button', { name: 'Begin' }));
  await screen.findByText('open', { selector: '[role=status]' });
  const gt = guestTokenOf(stack.sim, sent);
  await say('after the form');
  expect(stack.sim.customAttributes(gt)).toEqual({ topic: 'billing' });
  expect(calls.slice(before).filter((c) => c === 'POST /guest-session')).toHaveLength(1);

  cleanup();
  render(
    <StrictMode>
      <StartLater client={clientFor(tokens)} />
    </StrictMode>,
  );
  await screen.findByText('open', { selector: '[role=status]' });
  await bubble('after the form');
  expect(calls.slice(before).filter((c) => c === 'POST /guest-session')).toHaveLength(2);
});

test("useChat: its stream dropped and reopened across an outage, the agent's reply from the gap appears, once history answers again", async () => {
  const { gt } = await connect();
  await say('before the drop');
  await bubble('You said: before the drop');

  // Genesys's history fails for a while: the reopened stream cannot replay the gap (replay_incomplete), the
  // page's own reload after the reconnect is refused too, and so is the first read of the catch-up, which
  // then waits out the Retry-After it was given and reads again.
  stack.sim.faults.failRest('history', { status: 503, times: 3 });
  const dropped = FetchEventSource.opened.filter((s) => s.url.includes('/messages/stream')).pop()!;
  const opened = FetchEventSource.opened.length;
  dropped.close();
  dropped.dispatchEvent(new Event('error'));
  stack.sim.agent.say(gt, 'said while the stream was down');
  await settle(() => expect(FetchEventSource.opened.length).toBeGreaterThan(opened));
  await screen.findByText('open', { selector: '[role=status]' });

  await bubble('said while the stream was down');
  expect(within(log()).getAllByText('said while the stream was down')).toHaveLength(1);
  stack.sim.faults.clear();
}, 30_000);

test('useChat: while the guest waits for an agent, the stream’s availability events keep `availability` current; a person answering clears it', async () => {
  // A stack of its own, whose availability is read from the simulator every second.
  const own = await startStack({
    sim: { record: true, agent: { typingDelayMs: 5, replyDelayMs: 20 } },
    env: {
      GENESYS_QUEUE_ID: DEFAULT_QUEUE_ID,
      GENESYS_SCHEDULE_GROUP_ID: DEFAULT_SCHEDULE_GROUP_ID,
      GENESYS_EMERGENCY_GROUP_ID: DEFAULT_EMERGENCY_GROUP_ID,
      AVAILABILITY_REFRESH_SECONDS: '1',
    },
  });
  try {
    own.sim.availability.setAgents({ INTERACTING: 2 });
    own.sim.availability.setWaiting(3);
    own.sim.availability.setEstimatedWait(120);
    // The service has read this state before the stream opens, so the stream hears of no change before the test's.
    await settle(async () => expect((await own.http.get('/availability')).body.estimatedWaitSeconds).toBe(120));
    let chat!: Chat;
    function Waiting() {
      chat = useChat({
        client: new BffClient({
          baseUrl: own.service.url,
          fetch: pageFetch,
          EventSource: FetchEventSource as unknown as typeof EventSource,
        }),
      });
      return (
        <main>
          <p role="status">{chat.status}</p>
          <p data-testid="availability">{describeAvailability(availabilityStatus(chat.availability))}</p>
        </main>
      );
    }
    render(<Waiting />);
    await screen.findByText('open', { selector: '[role=status]' });
    const line = () => screen.getByTestId('availability').textContent;
    expect(line()).toBe('');

    // An event says what changed since the stream opened: wait until a refresh after the opening has completed (the
    // next one has begun), so the change below is one.
    const reads = own.sim.availability.reads('estimatedWait');
    await settle(() => expect(own.sim.availability.reads('estimatedWait')).toBeGreaterThanOrEqual(reads + 2));
    // useChat asks nothing itself: what it knows comes from the stream.
    const asked = calls.filter((c) => c === 'GET /availability').length;
    own.sim.availability.setEstimatedWait(600);
    await settle(() => expect(line()).toBe('All lines are busy (about 10 minutes)'));
    own.sim.availability.setEmergency(true);
    await settle(() => expect(line()).toBe('Closed because of an emergency. Please try again later.'));
    expect(chat.availability).toMatchObject({ configured: true, open: false, reason: 'emergency' });
    expect(calls.filter((c) => c === 'GET /availability').length).toBe(asked);

    own.sim.availability.setEmergency(false);
    await settle(() => expect(chat.availability?.open).toBe(true));
    await act(() => chat.send('human please'));
    await settle(() => expect(line()).toBe(''));
    expect(chat.availability).toBeUndefined();
  } finally {
    cleanup();
    await own.close();
  }
}, 30_000);

test("useChat: Genesys's socket dropped under an open stream while history fails, the agent's reply from the gap appears without the stream reopening", async () => {
  const { gt } = await connect();
  await say('before the socket drop');
  await bubble('You said: before the socket drop');
  const streams = () => FetchEventSource.opened.filter((s) => s.url.includes('/messages/stream')).length;
  const streamsBefore = streams();

  // The reply is stored at once and its frame held back, then lost with the socket: only history has it. The
  // service's replay after its reconnect is refused (replay_incomplete on the open stream); the page's stream
  // reloads the newest page by itself, with no reopen that could make the hook reload.
  stack.sim.faults.delayFrames(2000, gt);
  stack.sim.agent.say(gt, 'said as the socket dropped');
  stack.sim.faults.failRest('history', { status: 503, times: 1 });
  stack.sim.faults.dropSocket(gt);
  stack.sim.faults.delayFrames(0, gt);

  await bubble('said as the socket dropped');
  expect(within(log()).getAllByText('said as the socket dropped')).toHaveLength(1);
  expect(streams()).toBe(streamsBefore);
  stack.sim.faults.clear();
}, 30_000);

test('useChat: its stream reopened with nothing missed, the hook still reloads the newest page once', async () => {
  await connect();
  await say('before the reopen');
  await bubble('You said: before the reopen');
  const dropped = FetchEventSource.opened.filter((s) => s.url.includes('/messages/stream')).pop()!;
  const opened = FetchEventSource.opened.length;
  const before = calls.length;
  dropped.close();
  dropped.dispatchEvent(new Event('error'));
  await settle(() => expect(FetchEventSource.opened.length).toBeGreaterThan(opened));
  // The documented recovery after every reconnect: whatever the replay could not know it missed is read back.
  await settle(() => expect(calls.slice(before).filter((c) => c === 'GET /messages')).toHaveLength(1));
  // Answered before the test ends: a read cut off by the service closing would be tried again long after.
  const reads = (list: string[]) => list.filter((c) => c === 'GET /messages').length;
  await settle(() => expect(reads(answered)).toBe(reads(calls)));
}, 30_000);

test.each([
  { action: 'End chat', refused: 'DELETE /guest-session', ended: 'guest' },
  { action: 'Sign out', refused: 'POST /guest-session/sign-out', ended: 'signed_out' },
])(
  'useChat: $action refused by the service still ends the chat here (the client let go of its token), with the failure shown',
  async ({ action, refused, ended }) => {
    const grant = await signInAt(stack.sim, `react-refused-${Date.now().toString(36)}`);
    let refuse = true;
    const client = new BffClient({
      baseUrl: stack.service.url,
      tokenStore: memoryTokenStore(),
      fetch: (input, init) => {
        if (!refuse || `${init?.method} ${new URL(String(input)).pathname}` !== refused) return pageFetch(input, init);
        refuse = false;
        const problem = { title: 'Unavailable', status: 503, code: 'upstream_unavailable', detail: 'Try again.' };
        const headers = { 'Content-Type': 'application/problem+json' };
        return Promise.resolve(new Response(JSON.stringify(problem), { status: 503, headers }));
      },
      EventSource: FetchEventSource as unknown as typeof EventSource,
    });
    await connect({ client, grant });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await screen.findByRole('button', { name: 'Sign out' });
    const stream = FetchEventSource.opened.filter((s) => s.url.includes('/messages/stream')).pop()!;

    fireEvent.click(screen.getByRole('button', { name: action }));
    await screen.findByText(`ended by ${ended}`);
    expect(refuse).toBe(false);
    expect(screen.getByRole('status').textContent).toBe('ended');
    expect(screen.getByRole('alert').textContent).toBe(
      describeError(new BffError({ status: 503, code: 'upstream_unavailable', message: '' })),
    );
    expect((stream as unknown as { closed: boolean }).closed).toBe(true);
  },
  30_000,
);

test('useChat: submit hands the text on trimmed, sends nothing for blank text without files, and keeps the files of a send that failed', async () => {
  let chat!: Chat;
  function Held(options: UseChatOptions) {
    chat = useChat(options);
    return null;
  }
  const client = clientFor();
  const sent = jest.spyOn(client, 'send');
  render(<Held client={client} />);
  // Not live yet: no notice of an expiry.
  expect(chat.expiring).toBe(false);
  await settle(() => expect(chat.status).toBe('open'));

  let result: boolean | undefined;
  await act(async () => void (result = await chat.submit('  \n ')));
  expect(result).toBe(false);
  expect(sent).not.toHaveBeenCalled();
  await act(async () => void (result = await chat.submit('  hello  ')));
  expect([result, sent.mock.calls.at(-1)?.[0]]).toEqual([true, 'hello']);

  await act(async () => void (await chat.uploads.upload(new File([new Uint8Array(demoPng(8, 8))], 'kept.png'))));
  await settle(() => expect(chat.uploads.uploads.map((u) => u.state)).toEqual(['done']));
  // Longer than the session's limit: refused, so the file waits for the next try.
  await act(async () => void (result = await chat.submit('x'.repeat(chat.session!.limits.maxTextBytes + 1))));
  expect(result).toBe(false);
  expect(chat.uploads.uploads.map((u) => u.fileName)).toEqual(['kept.png']);
  // Blank text with a file sends the file alone.
  const file = chat.uploads.readyIds();
  await act(async () => void (result = await chat.submit(' ')));
  expect([result, sent.mock.calls.at(-1)?.[0]]).toEqual([true, { attachmentIds: file }]);
  expect(chat.uploads.uploads).toEqual([]);
});

test('useChat: autoStart turned on after mount starts the chat, as a page that waited for consent does', async () => {
  const client = clientFor();
  const { rerender } = render(<ChatPage client={client} autoStart={false} />);
  expect(screen.getByRole('status').textContent).toBe('idle');
  rerender(<ChatPage client={client} autoStart />);
  await screen.findByText('open', { selector: '[role=status]' });
});

test('useChat: where the deployment takes read receipts, the newest agent message shown is reported read; elsewhere none is', async () => {
  const visibility = Object.getOwnPropertyDescriptor(Document.prototype, 'visibilityState')!;
  let visible: DocumentVisibilityState = 'visible';
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => visible });
  const receipts = (s: Stack, gt: string) =>
    s.sim
      .framesFor(gt, 'onMessage')
      .map((f) => (f.frame as { message?: { type?: string; status?: string } }).message)
      .filter((m) => m?.type === 'Receipt');
  const on = await startStack({ env: { READ_RECEIPTS: 'on' }, sim: { guestReceipts: 'accepted' } });
  try {
    // This file's deployment takes none: the page never reports.
    const off = clientFor();
    const offReads = jest.spyOn(off, 'markRead');
    const { gt: offGt } = await connect({ client: off });
    stack.sim.agent.say(offGt, 'seen, not reported');
    await bubble('seen, not reported');
    expect(offReads).not.toHaveBeenCalled();
    cleanup();

    const { gt, client } = await connect({}, on);
    on.sim.agent.say(gt, 'read me');
    await bubble('read me');
    await settle(() => expect(receipts(on, gt).at(-1)).toMatchObject({ type: 'Receipt', status: 'Read' }));

    // A message that came while the tab was hidden is reported when it is shown, by a page that is still there.
    const reads = jest.spyOn(client, 'markRead');
    visible = 'hidden';
    on.sim.agent.say(gt, 'while away');
    await bubble('while away');
    expect(reads).not.toHaveBeenCalled();
    cleanup();
    visible = 'visible';
    document.dispatchEvent(new Event('visibilitychange'));
    expect(reads).not.toHaveBeenCalled();
  } finally {
    cleanup();
    Object.defineProperty(document, 'visibilityState', visibility);
    await on.close();
  }
});

test.each([
  ['baseUrl', 'https://chat.example.com', 'https://chat.example.com/'],
  ["the page's own origin", undefined, '/'],
])(
  'useChat: without a client of its own, it talks to %s and resumes the session this browser keeps in localStorage',
  async (_, baseUrl, start) => {
    localStorage.setItem('genesys-bff.sessionToken', 'held-token');
    const asked: Array<{ url: string; authorization: string | null }> = [];
    const globalFetch = jest.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      asked.push({ url: String(input), authorization: new Headers(init?.headers).get('Authorization') });
      return new Response(JSON.stringify({ code: 'session_expired', status: 401 }), {
        status: 401,
        headers: { 'Content-Type': 'application/problem+json' },
      });
    });
    function Held() {
      useChat({ ...(baseUrl === undefined ? {} : { baseUrl }), autoStart: 'resume' });
      return null;
    }
    try {
      render(<Held />);
      await settle(() => expect(asked.length).toBeGreaterThan(0));
      expect(asked[0]).toEqual({ url: expect.stringMatching(`^${start}`), authorization: 'Bearer held-token' });
    } finally {
      cleanup();
      globalFetch.mockRestore();
      localStorage.removeItem('genesys-bff.sessionToken');
    }
  },
);
