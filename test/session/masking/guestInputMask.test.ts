import { AppError } from '../../../src/domain/errors';
import { registry } from '../../../src/observability/metrics';
import { GuestInputMask } from '../../../src/session/masking';
import { captureLogger } from '../../support/app';

/** The one screen of the guest's input (docs/api.md#masking): what it hides, refuses, counts and logs. */

const CARD = '4111 1111 1111 1111';
const IBAN = 'DE89 3704 0044 0532 0130 00';
const both = { builtIn: ['card', 'iban'] as ('card' | 'iban')[], patterns: [] };

async function countOf(detector: string, mode: string): Promise<number> {
  const metric = await registry.getSingleMetric('genesys_bff_masked_total')!.get();
  return metric.values.find((v) => v.labels.detector === detector && v.labels.mode === mode)?.value ?? 0;
}

describe('mask mode', () => {
  const mask = new GuestInputMask({ mode: 'mask', ...both });

  it('hides a card to its last four digits and an IBAN to its country code and last four characters', () => {
    expect(mask.text(`My card is ${CARD} and my IBAN ${IBAN}`)).toEqual({
      value: 'My card is •••• •••• •••• 1111 and my IBAN DE•• •••• •••• •••• ••30 00',
      detectors: ['card', 'iban'],
    });
  });

  it('leaves a number that fails its check, and text with none, as they are', () => {
    expect(mask.text('ref 4111 1111 1111 1112')).toEqual({ value: 'ref 4111 1111 1111 1112', detectors: [] });
    expect(mask.text('IBAN DE88 3704 0044 0532 0130 00?')).toEqual({
      value: 'IBAN DE88 3704 0044 0532 0130 00?',
      detectors: [],
    });
    expect(mask.text('order 12345, call 030 1234567')).toEqual({
      value: 'order 12345, call 030 1234567',
      detectors: [],
    });
  });

  it('finds a card beside another number, and dashed', () => {
    expect(mask.text('order 12 4111-1111-1111-1111!').value).toBe('order 12 ••••-••••-••••-1111!');
  });

  it('masks attribute values, not their keys, and leaves null (a removal) alone', () => {
    expect(mask.attributes({ note: `pay with ${CARD}`, cart: '3 items', gone: null })).toEqual({
      value: { note: 'pay with •••• •••• •••• 1111', cart: '3 items', gone: null },
      detectors: ['card'],
    });
  });

  it("masks a file's name before its extension", () => {
    expect(mask.fileName('card 4111111111111111.pdf')).toEqual({
      value: 'card ••••••••••••1111.pdf',
      detectors: ['card'],
    });
    expect(mask.fileName('invoice.pdf')).toEqual({ value: 'invoice.pdf', detectors: [] });
  });

  it('counts each find by detector and mode, and logs it without the value', async () => {
    const log = captureLogger();
    const logged = new GuestInputMask({ mode: 'mask', ...both }, log.logger);
    const before = await countOf('iban', 'mask');
    logged.text(`${IBAN} twice: DE89370400440532013000`);
    expect(await countOf('iban', 'mask')).toBe(before + 1);
    expect(log.lines()).toEqual([
      expect.objectContaining({ masking: { field: 'text', detectors: ['iban'], mode: 'mask' } }),
    ]);
    expect(log.text()).not.toMatch(/3704|0532/);
  });
});

describe('refuse mode', () => {
  const refuse = new GuestInputMask({ mode: 'refuse', ...both });

  it('refuses with 422 sensitive_data naming the detectors, never the value', () => {
    let error: unknown;
    try {
      refuse.text(`${IBAN} / ${CARD}`);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'sensitive_data', status: 422, extensions: { detectors: ['card', 'iban'] } });
    expect((error as AppError).message).not.toMatch(/4111|3704/);
  });

  it('passes what holds nothing', () => {
    expect(refuse.text('hello')).toEqual({ value: 'hello', detectors: [] });
  });
});

describe('named patterns', () => {
  const mask = new GuestInputMask({
    mode: 'mask',
    builtIn: [],
    patterns: [
      { name: 'email', source: '[\\w.+-]+@[\\w-]+\\.[\\w.-]+', flags: 'u' },
      { name: 'tax-id', source: 'tax ?id:? ?\\d{11}', flags: 'ui' },
    ],
  });

  it('hide every letter and digit of a match, and name themselves', () => {
    expect(mask.text('mail jo.x@ex.com, TAX ID 12345678901')).toEqual({
      value: 'mail ••.•@••.•••, ••• •• •••••••••••',
      detectors: ['email', 'tax-id'],
    });
  });

  it('are off with masking off', () => {
    expect(GuestInputMask.off.text(`jo@ex.com ${CARD}`)).toEqual({ value: `jo@ex.com ${CARD}`, detectors: [] });
  });
});

// Each mask below is built inside its test: what a deployment's configuration makes of the detectors is judged there.
describe('the detectors a deployment names', () => {
  it('are the only ones that hide anything', () => {
    const cardOnly = new GuestInputMask({ mode: 'mask', builtIn: ['card'], patterns: [] });
    expect(cardOnly.text(`${CARD} / ${IBAN}`)).toEqual({ value: `•••• •••• •••• 1111 / ${IBAN}`, detectors: ['card'] });
    const ibanOnly = new GuestInputMask({ mode: 'mask', builtIn: ['iban'], patterns: [] });
    expect(ibanOnly.text(`${CARD} / ${IBAN}`)).toEqual({
      value: `${CARD} / DE•• •••• •••• •••• ••30 00`,
      detectors: ['iban'],
    });
  });
});

describe("a file's name", () => {
  const withEmail = (mode: 'mask' | 'refuse') =>
    new GuestInputMask({
      mode,
      builtIn: ['card', 'iban'],
      patterns: [{ name: 'email', source: '[\\w.+-]+@[\\w-]+\\.[\\w.-]+', flags: 'u' }],
    });

  it('keeps its extension as it was: no find runs across the last dot', () => {
    expect(withEmail('mask').fileName('jo.x@ex.com.pdf')).toEqual({ value: '••.•@••.•••.pdf', detectors: ['email'] });
  });

  it('has a number hidden when its only dot leads it', () => {
    expect(withEmail('mask').fileName('.4111111111111111')).toEqual({
      value: '.••••••••••••1111',
      detectors: ['card'],
    });
  });

  it('is screened whole without a dot of its own (a full-width dot, which the type checks read as one)', () => {
    expect(withEmail('mask').fileName('card 4111111111111111\uff0epng')).toEqual({
      value: 'card ••••••••••••1111\uff0epng',
      detectors: ['card'],
    });
  });

  it('has a card or an IBAN written after its last dot hidden all the same', () => {
    const mask = withEmail('mask');
    expect(mask.fileName('invoice.4111111111111111')).toEqual({
      value: 'invoice.••••••••••••1111',
      detectors: ['card'],
    });
    expect(mask.fileName('account.DE89370400440532013000')).toEqual({
      value: 'account.DE••••••••••••••••3000',
      detectors: ['iban'],
    });
    expect(() => withEmail('refuse').fileName('invoice.4111111111111111')).toThrow(AppError);
  });
});

describe('a named pattern', () => {
  const code = { name: 'code', source: '[\\d•]{6,}', flags: 'u' };

  it('that matches nothing finds nothing, in either mode', () => {
    for (const mode of ['mask', 'refuse'] as const) {
      const mask = new GuestInputMask({ mode, builtIn: [], patterns: [code] });
      expect(mask.text('my code is 12345')).toEqual({ value: 'my code is 12345', detectors: [] });
    }
  });

  it('whose match holds no letter or digit hides nothing and is no find: a value already masked passes', () => {
    for (const mode of ['mask', 'refuse'] as const) {
      const mask = new GuestInputMask({ mode, builtIn: [], patterns: [code] });
      expect(mask.text('is it ••••••••?')).toEqual({ value: 'is it ••••••••?', detectors: [] });
    }
    const mask = new GuestInputMask({ mode: 'mask', builtIn: [], patterns: [code] });
    expect(mask.text('not •••••••• but 12345678')).toEqual({
      value: 'not •••••••• but ••••••••',
      detectors: ['code'],
    });
  });
});

describe('a refusal', () => {
  function refusal(run: () => unknown): AppError {
    try {
      run();
    } catch (e) {
      if (e instanceof AppError) return e;
      throw e;
    }
    throw new Error('not refused');
  }

  it('tells the customer in words what it found, in the order the deployment names the detectors', () => {
    const refuse = new GuestInputMask({ mode: 'refuse', builtIn: ['card', 'iban'], patterns: [] });
    expect(refusal(() => refuse.text(`${IBAN} / ${CARD}`)).message).toBe(
      'The message holds what looks like a payment card number and an IBAN; this service does not pass it on. ' +
        'Send it without.',
    );
  });

  it('names attributes in the plural', () => {
    const refuse = new GuestInputMask({ mode: 'refuse', builtIn: ['card'], patterns: [] });
    expect(refusal(() => refuse.attributes({ note: CARD })).message).toBe(
      'The attributes hold what looks like a payment card number; this service does not pass it on. Send it without.',
    );
  });

  it('names a pattern of its own by its name', () => {
    const refuse = new GuestInputMask({
      mode: 'refuse',
      builtIn: ['card'],
      patterns: [{ name: 'email', source: '[\\w.+-]+@[\\w-]+\\.[\\w.-]+', flags: 'u' }],
    });
    expect(refusal(() => refuse.fileName('jo@ex.org.pdf')).message).toBe(
      `The file's name holds what looks like "email"; this service does not pass it on. Send it without.`,
    );
  });

  it('is logged with the field, the detectors and the mode, never the value', () => {
    const log = captureLogger();
    const refuse = new GuestInputMask({ mode: 'refuse', builtIn: ['card', 'iban'], patterns: [] }, log.logger);
    refusal(() => refuse.attributes({ note: `${CARD}`, account: IBAN }));
    expect(log.lines()).toEqual([
      expect.objectContaining({
        msg: 'guest input refused: sensitive data',
        masking: { field: 'attributes', detectors: ['card', 'iban'], mode: 'refuse' },
      }),
    ]);
    expect(log.text()).not.toMatch(/4111|3704/);
  });
});
