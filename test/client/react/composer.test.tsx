/**
 * @jest-environment ./test/support/jsdomWithFetch.js
 * @jest-environment-options {"url": "http://localhost:3000/", "customExportConditions": ["node", "node-addons"]}
 */
import { act, cleanup, fireEvent, render, screen, within } from '../../support/dom';
import { BffError } from '../../../client/src';
import { Composer, type ComposerProps, type PendingUpload } from '../../../client/src/react';

/**
 * The guest's text box (Composer.tsx) on its own, in jsdom: when it sends and when it holds the text, the keys,
 * typing, the files waiting to be sent, and the hooks styles.css styles. useChat's suite shows it against the service.
 */

afterEach(cleanup);

/** A send the test answers: each call waits for `answer(true | false)`. */
function sends() {
  const texts: string[] = [];
  let answer: (sent: boolean) => void = () => undefined;
  const onSubmit = (text: string) => {
    texts.push(text);
    return new Promise<boolean>((resolve) => (answer = resolve));
  };
  return { texts, onSubmit, answer: (sent: boolean) => act(async () => answer(sent)) };
}

const box = () => screen.getByRole('textbox', { name: 'Your message' }) as HTMLTextAreaElement;
const sendButton = () => screen.getByRole('button', { name: 'Send' }) as HTMLButtonElement;
const write = (text: string) => fireEvent.change(box(), { target: { value: text } });
const upload = (key: string, state: PendingUpload['state'], extra: Partial<PendingUpload> = {}): PendingUpload => ({
  key,
  fileName: `${key}.png`,
  progress: 0.5,
  state,
  ...extra,
});

function composer(props: Partial<ComposerProps> = {}) {
  const sent = sends();
  const view = render(<Composer onSubmit={sent.onSubmit} {...props} />);
  return { ...sent, view, form: view.container.querySelector('form')! };
}

describe('sending', () => {
  test('Send hands over the text and empties the box; the form never leaves the page', () => {
    const { texts, form } = composer();
    write('hello');
    fireEvent.click(sendButton());
    expect(texts).toEqual(['hello']);
    expect(box().value).toBe('');
    write('again');
    expect(fireEvent.submit(form)).toBe(false);
    expect(texts).toEqual(['hello', 'again']);
  });

  test('a blank box sends nothing, unless a file is ready to go', () => {
    const { texts, view } = composer({ uploads: [upload('u1', 'uploading')] });
    fireEvent.click(sendButton());
    write('   ');
    fireEvent.click(sendButton());
    expect(texts).toEqual([]);
    view.rerender(
      <Composer
        onSubmit={async () => (texts.push('with a file'), true)}
        uploads={[upload('u0', 'failed'), upload('u1', 'done')]}
      />,
    );
    fireEvent.click(sendButton());
    expect(texts).toEqual(['with a file']);
  });

  test('while disabled or busy with files, nothing is sent and Send waits', () => {
    const { texts, view, onSubmit, form } = composer();
    write('hello');
    view.rerender(<Composer onSubmit={onSubmit} disabled />);
    expect(sendButton().disabled).toBe(true);
    expect(box().disabled).toBe(true);
    fireEvent.submit(form);
    view.rerender(<Composer onSubmit={onSubmit} busy />);
    expect(sendButton().disabled).toBe(true);
    expect(box().disabled).toBe(false);
    fireEvent.submit(form);
    expect(texts).toEqual([]);
    view.rerender(<Composer onSubmit={onSubmit} />);
    expect(sendButton().disabled).toBe(false);
    fireEvent.submit(form);
    expect(texts).toEqual(['hello']);
  });

  test('a send that failed gives the text back; one that worked does not', async () => {
    const { texts, answer } = composer();
    write('lost');
    fireEvent.click(sendButton());
    await answer(false);
    expect(box().value).toBe('lost');
    fireEvent.click(sendButton());
    await answer(true);
    expect(box().value).toBe('');
    expect(texts).toEqual(['lost', 'lost']);
  });

  test('a send that failed while the guest wrote something new keeps what they wrote', async () => {
    const { answer } = composer();
    write('first');
    fireEvent.click(sendButton());
    write('second');
    await answer(false);
    expect(box().value).toBe('second');
  });
});

describe('keys and typing', () => {
  test('Enter sends, and adds no new line; Shift+Enter, or Enter that ends an IME composition, does not send', () => {
    const { texts } = composer();
    write('one');
    expect(fireEvent.keyDown(box(), { key: 'Enter', shiftKey: true })).toBe(true);
    expect(fireEvent.keyDown(box(), { key: 'Enter', isComposing: true })).toBe(true);
    expect(fireEvent.keyDown(box(), { key: 'a' })).toBe(true);
    expect(texts).toEqual([]);
    expect(fireEvent.keyDown(box(), { key: 'Enter' })).toBe(false);
    expect(texts).toEqual(['one']);
  });

  test('typing is told only for text, not for blanks', () => {
    const typed: string[] = [];
    composer({ onTyping: () => typed.push(box().value) });
    write('  ');
    expect(typed).toEqual([]);
    write('hi');
    expect(typed).toHaveLength(1);
  });

  test('the box takes its direction from what is written, offers no autocomplete, and can take its own label', () => {
    composer({ label: 'Ask us' });
    const textbox = screen.getByRole('textbox', { name: 'Ask us' });
    expect([textbox.getAttribute('dir'), textbox.getAttribute('autocomplete'), textbox.getAttribute('name')]).toEqual([
      'auto',
      'off',
      'text',
    ]);
  });
});

describe('files', () => {
  test('without files waiting there is no list of them; without attachments, no way to attach', () => {
    composer();
    expect(screen.queryByRole('list')).toBeNull();
    expect(screen.queryByRole('button', { name: 'Attach a file' })).toBeNull();
    expect(screen.queryByLabelText('File to attach')).toBeNull();
  });

  test('attach opens the file chooser of the types the deployment takes and hands over what was chosen', () => {
    const chosen: File[][] = [];
    composer({
      attachments: { enabled: true, mediaTypes: ['image/png', 'image/jpeg'] },
      onFiles: (f) => chosen.push(f),
    });
    const input = screen.getByLabelText('File to attach') as HTMLInputElement;
    expect([input.type, input.accept]).toEqual(['file', 'image/png,image/jpeg']);
    let opened = 0;
    input.addEventListener('click', () => (opened += 1));
    fireEvent.click(screen.getByRole('button', { name: 'Attach a file' }));
    expect(opened).toBe(1);
    const file = new File(['x'], 'a.png', { type: 'image/png' });
    fireEvent.change(input, { target: { files: [file] } });
    expect(chosen).toEqual([[file]]);
  });

  test('a page that gives no handlers for files: choosing or cancelling one does nothing, and breaks nothing', () => {
    composer({ attachments: { enabled: true }, uploads: [upload('up', 'uploading')] });
    fireEvent.change(screen.getByLabelText('File to attach'), { target: { files: [new File(['x'], 'a.png')] } });
    fireEvent.click(screen.getByRole('button', { name: 'Cancel up.png' }));
    expect(screen.getByRole('list', { name: 'Files to send' }).textContent).toContain('up.png');
  });

  test('attach waits while the composer is disabled', () => {
    composer({ attachments: { enabled: true }, disabled: true });
    expect((screen.getByRole('button', { name: 'Attach a file' }) as HTMLButtonElement).disabled).toBe(true);
  });

  test('each file waiting: its progress while uploading, why it failed, and a button to cancel or remove it', () => {
    const cancelled: string[] = [];
    const { texts } = composer({
      uploads: [
        upload('up', 'uploading', { progress: 0.25 }),
        upload('bad', 'failed', { error: new BffError({ status: 413, code: 'too_large', message: 'Too large' }) }),
        upload('ok', 'done'),
      ],
      onCancelUpload: (key) => cancelled.push(key),
    });
    const list = screen.getByRole('list', { name: 'Files to send' });
    const [up, bad, ok] = within(list).getAllByRole('listitem');
    const progress = within(up!).getByRole('progressbar', { name: 'Uploading up.png' }) as HTMLProgressElement;
    expect([progress.value, progress.max]).toEqual([0.25, 1]);
    expect(within(bad!).queryByRole('progressbar')).toBeNull();
    expect(within(ok!).queryByRole('progressbar')).toBeNull();
    expect(bad!.textContent).toContain('Too large');
    expect(ok!.textContent).not.toContain('Not uploaded');
    write('not yet');
    fireEvent.click(within(up!).getByRole('button', { name: 'Cancel up.png' }));
    fireEvent.click(within(bad!).getByRole('button', { name: 'Remove bad.png' }));
    fireEvent.click(within(ok!).getByRole('button', { name: 'Remove ok.png' }));
    expect(cancelled).toEqual(['up', 'bad', 'ok']);
    // What the buttons show says the same as their names.
    expect([up, bad, ok].map((item) => within(item!).getByRole('button').textContent)).toEqual([
      'Cancel',
      'Remove',
      'Remove',
    ]);
    // Cancelling a file sends nothing.
    expect(texts).toEqual([]);
  });
});

test('the hooks styles.css styles: the form, its row, the files waiting', () => {
  const { form, view } = composer({ uploads: [upload('u', 'failed')], attachments: { enabled: true } });
  expect(form.className).toBe('composer');
  for (const selector of ['.composer-row textarea', '.composer-row button.attach', '.pending-files .pending-file'])
    expect([selector, form.querySelector(selector) !== null]).toEqual([selector, true]);
  expect(form.querySelector('.pending-file')?.getAttribute('data-state')).toBe('failed');
  expect(form.querySelector('.upload-error')?.textContent).toBe('Not uploaded');
  view.rerender(<Composer onSubmit={async () => true} className="mine" />);
  expect(view.container.querySelector('form')?.className).toBe('mine');
});
