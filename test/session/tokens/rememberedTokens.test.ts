import { deriveKeys, Sealer } from '../../../src/session/tokens/sealing';
import {
  REMEMBERED_TOKEN_CHARS,
  REMEMBERED_TOKENS,
  SessionTokens,
  type SessionState,
} from '../../../src/session/tokens/sessionToken';

/**
 * Session tokens this instance sealed lately are opened from memory rather
 * than decrypted again: the same claims, the same refusals, a bounded memory.
 */
const keys = deriveKeys(['session-token-secret-0123456789abcdefghij']);
const ORIGIN = 'https://shop.example.com';
const TTL_SECONDS = 3600;

class CountingSealer extends Sealer {
  unsealed = 0;
  override unseal(token: string): Promise<unknown> {
    this.unsealed += 1;
    return super.unseal(token);
  }
}

const state = (): SessionState => ({
  guestToken: 'guest-token-1',
  origin: ORIGIN,
  attributes: { name: 'Zoë', plan: 'gold' },
  locked: ['plan'],
  deliveredFingerprint: '',
  maxCustomDataBytes: 2048,
  routingKey: 'routing-key-0123456789',
  signIn: { jwt: 'customer-jwt', refreshToken: 'customer-refresh' },
});

function tokensAt(clock: { now: number }, sealer = new CountingSealer(keys)) {
  return { sealer, tokens: new SessionTokens(sealer, TTL_SECONDS, () => clock.now, 'routing-secret') };
}

test('a token opens to the same claims on the instance that sealed it and on one that never saw it', async () => {
  const clock = { now: Date.parse('2026-11-23T10:00:00Z') };
  const here = tokensAt(clock);
  const elsewhere = tokensAt(clock);
  const { token, claims } = await here.tokens.issue(state());
  const remembered = await here.tokens.open(token, ORIGIN);
  expect(here.sealer.unsealed).toBe(0);
  const decrypted = await elsewhere.tokens.open(token, ORIGIN);
  expect(elsewhere.sealer.unsealed).toBe(1);
  expect(remembered).toEqual(decrypted);
  expect(remembered).toEqual(claims);
});

test('a remembered token is still refused once expired, and from another website', async () => {
  const clock = { now: Date.parse('2026-11-23T10:00:00Z') };
  const { tokens } = tokensAt(clock);
  const { token } = await tokens.issue(state());
  await expect(tokens.open(token, 'https://elsewhere.example.com')).rejects.toMatchObject({ code: 'unauthorized' });
  await expect(tokens.open(token, undefined)).resolves.toMatchObject({ guestToken: 'guest-token-1' });
  clock.now += TTL_SECONDS * 1000;
  await expect(tokens.open(token, ORIGIN)).rejects.toMatchObject({ code: 'unauthorized' });
});

test('what a remembered token opens to stays what was sealed, whatever happens to the objects on either side', async () => {
  const clock = { now: Date.parse('2026-11-23T10:00:00Z') };
  const { tokens } = tokensAt(clock);
  const issuedState = state();
  const { token } = await tokens.issue(issuedState);
  issuedState.attributes.name = 'changed after sealing';
  issuedState.locked.push('name');
  const opened = await tokens.open(token, ORIGIN);
  expect(() => {
    opened.attributes.plan = 'platinum';
  }).toThrow(TypeError);
  expect(await tokens.open(token, ORIGIN)).toMatchObject({
    attributes: { name: 'Zoë', plan: 'gold' },
    locked: ['plan'],
  });
});

test(`only the last ${REMEMBERED_TOKENS} tokens are remembered; an older one is decrypted and opens the same`, async () => {
  const clock = { now: Date.parse('2026-11-23T10:00:00Z') };
  const { tokens, sealer } = tokensAt(clock);
  const first = await tokens.issue(state());
  for (let i = 0; i < REMEMBERED_TOKENS; i++) await tokens.issue({ ...state(), guestToken: `guest-token-${i + 2}` });
  expect(await tokens.open(first.token, ORIGIN)).toEqual(first.claims);
  expect(sealer.unsealed).toBe(1);
});

test(`at most ${REMEMBERED_TOKEN_CHARS} characters of tokens are remembered, however large each is; an older one is decrypted and opens the same`, async () => {
  const clock = { now: Date.parse('2026-11-23T10:00:00Z') };
  const { tokens, sealer } = tokensAt(clock);
  // Within a 2,048-byte attribute budget, yet JSON writes each control character as six: a 17 KB token.
  const large = (i: number): SessionState => ({
    ...state(),
    guestToken: `guest-token-${i}`,
    attributes: { note: '\u0001'.repeat(2000) },
  });
  const first = await tokens.issue(large(1));
  const fitting = Math.floor(REMEMBERED_TOKEN_CHARS / first.token.length);
  expect(fitting).toBeLessThan(REMEMBERED_TOKENS / 2);
  let last = first;
  for (let i = 0; i < fitting; i++) last = await tokens.issue(large(i + 2));
  expect(await tokens.open(last.token, ORIGIN)).toEqual(last.claims);
  expect(sealer.unsealed).toBe(0);
  expect(await tokens.open(first.token, ORIGIN)).toEqual(first.claims);
  expect(sealer.unsealed).toBe(1);
});
