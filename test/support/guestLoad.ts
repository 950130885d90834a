import { randomBytes, randomUUID } from 'node:crypto';
import type { Simulator } from '../../simulator';
import { PAGE_ORIGIN } from './stack';
import { sleep } from './wait';

/**
 * Browsers chatting through a proxy, as the README's client does: a routing
 * key on every request, a fresh Idempotency-Key per message and the same one
 * on every retry. What each sent, under which key and with which answer, is
 * kept so a test can retry delivered keys later and count what Genesys stored.
 */
export interface Guest {
  name: string;
  routingKey: string;
  token: string;
  /** Each delivered text: its key and the message id its 201 answered with. */
  delivered: Map<string, { key: string; id: string }>;
}

export const guestHeaders = (g: Guest): Record<string, string> => ({
  Origin: PAGE_ORIGIN,
  Authorization: `Bearer ${g.token}`,
  'X-Chat-Session': g.routingKey,
});

export async function newGuest(base: string, name: string): Promise<Guest> {
  const proposed = randomBytes(18).toString('base64url');
  for (let attempt = 0; ; attempt += 1) {
    const res = await fetch(`${base}/guest-session`, {
      method: 'POST',
      headers: { Origin: PAGE_ORIGIN, 'Content-Type': 'application/json', 'X-Chat-Session': proposed },
      body: '{}',
    });
    const body = (await res.json()) as { sessionToken: string; routingKey: string };
    if (res.status === 201)
      return { name, routingKey: body.routingKey, token: body.sessionToken, delivered: new Map() };
    if (attempt >= 20 || ![429, 502, 503, 504].includes(res.status))
      throw new Error(`POST /guest-session: ${res.status} ${JSON.stringify(body)}`);
    await sleep(300);
  }
}

export interface SendOutcome {
  status: number;
  id?: string;
  code?: string;
}

/**
 * One message under `key`, retried with the same key on a network error, a
 * 502/503/504 or a 429 (after Retry-After, capped), as the browser client does;
 * any other answer ends it. Bounded in attempts.
 */
export async function sendKeyed(
  base: string,
  g: Guest,
  text: string,
  key: string,
  attempts = 60,
): Promise<SendOutcome> {
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    let res: Response;
    try {
      res = await fetch(`${base}/messages`, {
        method: 'POST',
        headers: { ...guestHeaders(g), 'Content-Type': 'application/json', 'Idempotency-Key': key },
        body: JSON.stringify({ text }),
      });
    } catch {
      await sleep(200);
      continue;
    }
    const raw = await res.text();
    const body = (res.headers.get('content-type')?.includes('json') ? JSON.parse(raw) : {}) as {
      sessionToken?: string;
      message?: { id: string };
      code?: string;
    };
    if (res.status === 201) {
      g.token = body.sessionToken ?? g.token;
      return { status: 201, id: body.message?.id };
    }
    if (![429, 502, 503, 504].includes(res.status)) return { status: res.status, code: body.code };
    await sleep(Math.min(Number(res.headers.get('retry-after') ?? '0') * 1000, 2000) || 200);
  }
  throw new Error(`${g.name} "${text}": no answer after ${attempts} attempts`);
}

/** Sends `count` messages, one after another, each under a fresh key; every one must be delivered. */
export async function chat(base: string, g: Guest, round: string, count: number, paceMs: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    const text = `${g.name} ${round} ${i}`;
    const key = randomUUID();
    const outcome = await sendKeyed(base, g, text, key);
    if (outcome.status !== 201 || outcome.id === undefined)
      throw new Error(`${g.name} "${text}": ${JSON.stringify(outcome)}`);
    g.delivered.set(text, { key, id: outcome.id });
    await sleep(paceMs);
  }
}

/** An answer to a request with the guest's token: its status and problem code. */
export async function request(
  base: string,
  g: Guest,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; code?: string }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...guestHeaders(g),
      ...(body ? { 'Content-Type': 'application/json', 'Idempotency-Key': randomUUID() } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const raw = await res.text();
  return {
    status: res.status,
    code:
      res.headers.get('content-type')?.includes('json') && raw
        ? (JSON.parse(raw) as { code?: string }).code
        : undefined,
  };
}

/** The simulator's guest token for a guest, from the frames its messages arrived in. */
export function simTokenOf(sim: Simulator, g: Guest): string {
  const frame = sim.received.find(
    (f) => f.frame?.action === 'onMessage' && String(f.frame?.message?.text ?? '').startsWith(`${g.name} `),
  );
  if (!frame?.sessionToken) throw new Error(`no message from ${g.name} reached the simulator`);
  return frame.sessionToken;
}

/**
 * Texts of this guest that Genesys stored more than once (or that were answered 201 and never
 * stored), with their counts. An ended chat's conversation is gone (Presence Clear): its messages
 * are counted as they arrived at Genesys instead.
 */
export function storedWrongly(sim: Simulator, g: Guest, ended = false): string[] {
  const counts = new Map<string, number>();
  const texts = ended
    ? sim.received
        .filter((f) => f.frame?.action === 'onMessage' && f.sessionToken === simTokenOf(sim, g))
        .map((f) => String(f.frame?.message?.text ?? ''))
    : (sim.conversationMessages(simTokenOf(sim, g)) as { direction?: string; text?: string }[])
        .filter((m) => m.direction === 'Inbound')
        .map((m) => m.text ?? '');
  for (const text of texts) if (text.startsWith(`${g.name} `)) counts.set(text, (counts.get(text) ?? 0) + 1);
  const wrong = [...counts].filter(([, n]) => n !== 1).map(([text, n]) => `${text} ×${n}`);
  for (const text of g.delivered.keys()) if (!counts.has(text)) wrong.push(`${text} ×0`);
  return wrong;
}

/** A scale test's setup: the simulator, the proxy every guest goes through, and the instances behind it. */
export interface Scene {
  sim: Simulator;
  proxy: string;
  instances: string[];
}

export interface Round {
  live: Guest[];
  ended: Guest[];
}

/** Fresh guests for one scenario: each chats; `ended` of them then end their chat (DELETE: 204, then 410). */
export async function round(scene: Scene, name: string, live: number, ended: number, paceMs: number): Promise<Round> {
  const guests = await Promise.all(
    Array.from({ length: live + ended }, (_, i) => newGuest(scene.proxy, `${name}${String(i).padStart(2, '0')}`)),
  );
  await Promise.all(guests.map((g) => chat(scene.proxy, g, 'before', 2, paceMs)));
  const endedGuests = guests.slice(live);
  for (const g of endedGuests) {
    expect([g.name, (await request(scene.proxy, g, 'DELETE', '/guest-session')).status]).toEqual([g.name, 204]);
    expect([g.name, (await request(scene.proxy, g, 'GET', '/guest-session')).status]).toEqual([g.name, 410]);
  }
  return { live: guests.slice(0, live), ended: endedGuests };
}

/**
 * Every delivered key retried, through the proxy and on another instance
 * directly: the first message, or (`lostAllowed`, when the store lost the
 * session) a refusal; never a new message. Genesys holds every text once.
 */
export async function expectRetriesSendNothing(scene: Scene, r: Round, lostAllowed: boolean): Promise<void> {
  const answers: string[] = [];
  const everyone = [...r.live, ...r.ended];
  await Promise.all(
    everyone.map(async (g, index) => {
      for (const [text, { key, id }] of g.delivered) {
        for (const base of [scene.proxy, scene.instances[index % scene.instances.length]!]) {
          const outcome = await sendKeyed(base, g, text, key);
          const same = outcome.status === 201 && outcome.id === id;
          const refused = outcome.status === 410 && outcome.code === 'session_expired';
          // An ended chat refuses the retry; a live one answers the first message (or, with its records lost, refuses).
          const ok = r.ended.includes(g) ? refused : same || (lostAllowed && refused);
          if (!ok) answers.push(`${g.name} "${text}": ${JSON.stringify(outcome)} (first answer ${id})`);
        }
      }
    }),
  );
  const stored = everyone.flatMap((g) => storedWrongly(scene.sim, g, r.ended.includes(g)));
  expect({ answers, stored }).toEqual({ answers: [], stored: [] });
}

/** Every ended chat refuses its token (410), for reading and for sending, and nothing it tried reached Genesys. */
export async function expectEndedStayEnded(scene: Scene, r: Round): Promise<void> {
  for (const g of r.ended) {
    expect([g.name, await request(scene.proxy, g, 'GET', '/guest-session')]).toEqual([
      g.name,
      { status: 410, code: 'session_expired' },
    ]);
    expect([g.name, await request(scene.proxy, g, 'POST', '/messages', { text: `${g.name} after` })]).toEqual([
      g.name,
      { status: 410, code: 'session_expired' },
    ]);
  }
  expect(scene.sim.received.filter((f) => String(f.frame?.message?.text ?? '').endsWith(' after'))).toEqual([]);
}

/** How many messages starting with `prefix` have reached Genesys. */
export const textsArrived = (sim: Simulator, prefix: string): number =>
  sim.received.filter((f) => f.frame?.action === 'onMessage' && String(f.frame?.message?.text ?? '').startsWith(prefix))
    .length;
