/**
 * @jest-environment ./test/support/jsdomWithFetch.js
 * @jest-environment-options {"url": "http://localhost:3000/", "customExportConditions": ["node", "node-addons"]}
 */
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import type { StartSessionOptions } from '../../../client/src';
import { PreChatForm, wordingFor } from '../../../client/src/react';

/** The pre-chat form's checks and the details it hands over, in jsdom (the Chromium suites show it at Genesys). */

afterEach(cleanup);

const type = (label: string | RegExp, value: string) =>
  fireEvent.change(screen.getByLabelText(label), { target: { value } });
const submit = (name = 'Start chat') => fireEvent.click(screen.getByRole('button', { name }));

test('the details: the name as firstName, the email, and each field under its attribute, trimmed; empty optional fields left out', () => {
  const sent: StartSessionOptions[] = [];
  render(
    <PreChatForm
      onSubmit={(details) => sent.push(details)}
      fields={[
        { attribute: 'order', label: 'Order number', required: true },
        { attribute: 'phoneBack', label: 'Call-back number', type: 'tel' },
      ]}
    />,
  );
  type('Your name', '  Ada Lovelace ');
  type('Email', 'ada@example.com');
  type('Order number', ' 42-17 ');
  submit();
  expect(sent).toEqual([{ firstName: 'Ada Lovelace', email: 'ada@example.com', attributes: { order: '42-17' } }]);
  expect(screen.getByText('(optional)')).toBeTruthy();
});

test('refused: a missing field, an email without a domain, a value over its limit; nothing is sent', () => {
  const sent: StartSessionOptions[] = [];
  render(
    <PreChatForm
      onSubmit={(details) => sent.push(details)}
      fields={[{ attribute: 'note', label: 'Note', maxLength: 5 }]}
    />,
  );
  type('Email', 'ada@example');
  type(/^Note/, 'too long');
  submit();
  expect(screen.getByText('Please fill in Your name.')).toBeTruthy();
  expect(screen.getByText('Please enter an email address such as name@example.com.')).toBeTruthy();
  expect(screen.getByText('Note is too long (at most 5 characters).')).toBeTruthy();
  expect(screen.getByLabelText(/^Note/).getAttribute('aria-invalid')).toBe('true');
  expect(sent).toEqual([]);
});

test("over the deployment's attribute budget the form says so and sends nothing; within it, it sends", () => {
  const sent: StartSessionOptions[] = [];
  // firstName + Ada + email + a@b.co: 9 + 3 + 5 + 6 = 23 bytes.
  const { rerender } = render(<PreChatForm onSubmit={(d) => sent.push(d)} limits={{ maxCustomDataBytes: 22 }} />);
  type('Your name', 'Ada');
  type('Email', 'a@b.co');
  submit();
  expect(screen.getByRole('alert').textContent).toBe('These details are too long to send. Please shorten them.');
  expect(sent).toEqual([]);
  rerender(<PreChatForm onSubmit={(d) => sent.push(d)} limits={{ maxCustomDataBytes: 23 }} />);
  submit();
  expect(sent).toEqual([{ firstName: 'Ada', email: 'a@b.co' }]);
});

test('without an email, and in German: the German words, and no email in the details', () => {
  const sent: StartSessionOptions[] = [];
  render(<PreChatForm onSubmit={(d) => sent.push(d)} email="none" wording={wordingFor('de')} />);
  expect(screen.queryByLabelText('E-Mail')).toBeNull();
  submit('Chat starten');
  expect(screen.getByText('Bitte füllen Sie „Ihr Name“ aus.')).toBeTruthy();
  type('Ihr Name', 'Grete');
  submit('Chat starten');
  expect(sent).toEqual([{ firstName: 'Grete' }]);
});

test('while the centre is closed, the form says so and starts no chat; once open, it starts one', () => {
  const sent: StartSessionOptions[] = [];
  const closed = { state: 'closed' as const, reason: 'holiday' as const };
  const { rerender } = render(
    <PreChatForm onSubmit={(d) => sent.push(d)} email="none" availability={closed} wording={wordingFor('de')} />,
  );
  type('Ihr Name', 'Ada');
  expect(screen.getByRole('status').textContent).toBe('Feiertags geschlossen');
  expect((screen.getByRole('button', { name: 'Chat starten' }) as HTMLButtonElement).disabled).toBe(true);
  fireEvent.submit(screen.getByRole('button', { name: 'Chat starten' }).closest('form')!);
  expect(sent).toEqual([]);
  rerender(
    <PreChatForm
      onSubmit={(d) => sent.push(d)}
      email="none"
      availability={{ state: 'open' }}
      wording={wordingFor('de')}
    />,
  );
  expect(screen.queryByRole('status')).toBeNull();
  submit('Chat starten');
  expect(sent).toEqual([{ firstName: 'Ada' }]);
});
