/**
 * @jest-environment ./test/support/jsdomWithFetch.js
 * @jest-environment-options {"url": "http://localhost:3000/", "customExportConditions": ["node", "node-addons"]}
 */
import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
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

describe('the form as a screen reader meets it', () => {
  test('a form named by its title; each control typed for what it asks, errors tied to their field', () => {
    render(
      <PreChatForm
        onSubmit={() => undefined}
        fields={[{ attribute: 'phone', label: 'Phone', type: 'tel', required: true }]}
      />,
    );
    const form = screen.getByRole('form', { name: 'Before we start' });
    expect(form.className).toBe('pre-chat');
    const control = (label: string) => screen.getByLabelText(label) as HTMLInputElement;
    expect(
      ['Your name', 'Email', 'Phone'].map((l) => [control(l).type, control(l).autocomplete, control(l).dir]),
    ).toEqual([
      ['text', 'name', 'auto'],
      ['email', 'email', 'auto'],
      ['tel', '', 'auto'],
    ]);
    expect(['Your name', 'Email', 'Phone'].map((l) => control(l).required)).toEqual([true, true, true]);
    submit();
    const phone = control('Phone');
    expect(phone.getAttribute('aria-invalid')).toBe('true');
    const described = document.getElementById(phone.getAttribute('aria-describedby')!)!;
    expect([described.textContent, described.className]).toEqual(['Please fill in Phone.', 'field-error']);
  });

  test('a refused submit puts the focus on the first wrong field, each time; a corrected field loses its error', () => {
    render(
      <PreChatForm
        onSubmit={() => undefined}
        email="none"
        fields={[{ attribute: 'a', label: 'Code', required: true }]}
      />,
    );
    submit();
    expect(document.activeElement).toBe(screen.getByLabelText('Your name'));
    type('Your name', 'Ada');
    (document.activeElement as HTMLElement).blur();
    submit();
    const code = screen.getByLabelText('Code');
    expect(document.activeElement).toBe(code);
    expect(screen.getByLabelText('Your name').hasAttribute('aria-invalid')).toBe(false);
    expect(screen.getByLabelText('Your name').hasAttribute('aria-describedby')).toBe(false);
    expect(screen.queryByText('Please fill in Your name.')).toBeNull();
  });

  test('a choice: "Choose…" then each option by its label, else its value; its value is sent', () => {
    const sent: StartSessionOptions[] = [];
    render(
      <PreChatForm
        onSubmit={(d) => sent.push(d)}
        email="none"
        fields={[
          {
            attribute: 'topic',
            label: 'Topic',
            type: 'select',
            required: true,
            options: [{ value: 'billing', label: 'Billing' }, { value: 'other' }],
          },
        ]}
      />,
    );
    const topic = screen.getByRole('combobox', { name: 'Topic' });
    expect(
      within(topic)
        .getAllByRole('option')
        .map((o) => [o.textContent, (o as HTMLOptionElement).value]),
    ).toEqual([
      ['Choose…', ''],
      ['Billing', 'billing'],
      ['other', 'other'],
    ]);
    type('Your name', 'Ada');
    submit();
    expect(screen.getByText('Please fill in Topic.')).toBeTruthy();
    expect(sent).toEqual([]);
    fireEvent.change(topic, { target: { value: 'billing' } });
    submit();
    expect(sent).toEqual([{ firstName: 'Ada', attributes: { topic: 'billing' } }]);
  });
});

describe('what it accepts', () => {
  test('every field starts empty; an email typed with spaces around it is sent without them', () => {
    const sent: StartSessionOptions[] = [];
    render(
      <PreChatForm
        onSubmit={(d) => sent.push(d)}
        fields={[
          { attribute: 'plan', label: 'Plan', type: 'select', options: [{ value: 'pro' }] },
          { attribute: 'order', label: 'Order' },
        ]}
      />,
    );
    expect(
      ['Your name', /^Email/, /^Plan/, /^Order/].map(
        (label) => (screen.getByLabelText(label) as HTMLInputElement).value,
      ),
    ).toEqual(['', '', '', '']);
    type('Your name', 'Ada');
    type('Email', '  ada@example.com ');
    submit();
    expect(sent).toEqual([{ firstName: 'Ada', email: 'ada@example.com' }]);
  });

  test('an optional email may be left out, and is then not sent', () => {
    const sent: StartSessionOptions[] = [];
    render(<PreChatForm onSubmit={(d) => sent.push(d)} email="optional" />);
    expect(screen.getByText('(optional)').closest('label')?.textContent).toBe('Email (optional)');
    expect((screen.getByLabelText(/^Email/) as HTMLInputElement).required).toBe(false);
    type('Your name', 'Ada');
    submit();
    expect(sent).toEqual([{ firstName: 'Ada' }]);
  });

  test.each([
    'ada@example',
    '@example.com',
    'ada@.com',
    'ada@example.',
    'a da@example.com',
    'ada@exa mple.com',
    'ada@example.c om',
    'a@da@example.com',
    'ada@exa@mple.com',
    'ada@example.c@m',
    'ada@example.com x',
  ])('%j is no email address', (address) => {
    const sent: StartSessionOptions[] = [];
    render(<PreChatForm onSubmit={(d) => sent.push(d)} />);
    type('Your name', 'Ada');
    type('Email', address);
    submit();
    expect(screen.getByText('Please enter an email address such as name@example.com.')).toBeTruthy();
    expect(sent).toEqual([]);
  });

  test.each(['ada@example.com', 'a.b+c@mail.example.co'])('%j is an email address', (address) => {
    const sent: StartSessionOptions[] = [];
    render(<PreChatForm onSubmit={(d) => sent.push(d)} />);
    type('Your name', 'Ada');
    type('Email', address);
    submit();
    expect(sent).toEqual([{ firstName: 'Ada', email: address }]);
  });

  test('a field takes up to its limit, by default 256 characters', () => {
    const sent: StartSessionOptions[] = [];
    render(
      <PreChatForm
        onSubmit={(d) => sent.push(d)}
        email="none"
        fields={[
          { attribute: 'note', label: 'Note', maxLength: 5 },
          { attribute: 'long', label: 'Long' },
        ]}
      />,
    );
    type('Your name', 'Ada');
    type(/^Note/, '12345');
    type(/^Long/, 'x'.repeat(257));
    submit();
    expect(screen.getByText('Long is too long (at most 256 characters).')).toBeTruthy();
    expect(sent).toEqual([]);
    type(/^Long/, 'x'.repeat(256));
    submit();
    expect(sent).toEqual([{ firstName: 'Ada', attributes: { note: '12345', long: 'x'.repeat(256) } }]);
  });

  test('a page that stops asking for the email sends none typed before', () => {
    const sent: StartSessionOptions[] = [];
    const { rerender } = render(<PreChatForm onSubmit={(d) => sent.push(d)} />);
    type('Your name', 'Ada');
    type('Email', 'ada@example.com');
    rerender(<PreChatForm onSubmit={(d) => sent.push(d)} email="none" />);
    submit();
    expect(sent).toEqual([{ firstName: 'Ada' }]);
  });
});

describe('the budget and the button', () => {
  test('custom attributes count against the budget; a budget of 0 takes nothing, a negative one is no limit', () => {
    const sent: StartSessionOptions[] = [];
    const form = (maxCustomDataBytes: number) => (
      <PreChatForm
        onSubmit={(d) => sent.push(d)}
        email="none"
        fields={[{ attribute: 'order', label: 'Order' }]}
        limits={{ maxCustomDataBytes }}
      />
    );
    // firstName + Ada + order + 42: 9 + 3 + 5 + 2 = 19 bytes.
    const { rerender } = render(form(18));
    type('Your name', 'Ada');
    type(/^Order/, '42');
    submit();
    expect(screen.getByRole('alert').textContent).toBe('These details are too long to send. Please shorten them.');
    rerender(form(0));
    submit();
    expect(sent).toEqual([]);
    rerender(form(-1));
    submit();
    expect(sent).toEqual([{ firstName: 'Ada', attributes: { order: '42' } }]);
    // The alert goes once the details are sent.
    expect(screen.queryByRole('alert')).toBeNull();
  });

  test('a wrong field after an over-budget submit: its error replaces the alert', () => {
    render(<PreChatForm onSubmit={() => undefined} email="none" limits={{ maxCustomDataBytes: 1 }} />);
    type('Your name', 'Ada');
    submit();
    expect(screen.getByRole('alert')).toBeTruthy();
    type('Your name', ' ');
    submit();
    expect(screen.queryByRole('alert')).toBeNull();
    expect(screen.getByText('Please fill in Your name.')).toBeTruthy();
  });

  test('while the chat is starting the button waits and a submit sends nothing', () => {
    const sent: StartSessionOptions[] = [];
    render(<PreChatForm onSubmit={(d) => sent.push(d)} email="none" busy />);
    type('Your name', 'Ada');
    const button = screen.getByRole('button', { name: 'Start chat' }) as HTMLButtonElement;
    expect(button.disabled).toBe(true);
    fireEvent.submit(button.closest('form')!);
    expect(sent).toEqual([]);
  });
});
