import type http from 'node:http';
import { deriveKeys, Sealer } from '../../src/session/tokens/sealing';
import { requestJson } from './http';
import { pool } from './load';
import { PAGE_ORIGIN, SESSION_SECRET } from './procs';

/** The service's public API as a browser uses it, for the load generators. */

export function authHeaders(sessionToken: string): Record<string, string> {
  return { Authorization: `Bearer ${sessionToken}`, Origin: PAGE_ORIGIN };
}

/** A session as a browser keeps it: the newest session token it was given. */
export interface KeptSession {
  token: string;
}

/** The client rule: a `sessionToken` in an answer replaces the one the session had. */
export function keepNewestToken(session: KeptSession, answer: string): void {
  const at = answer.indexOf('"sessionToken":"');
  if (at >= 0) session.token = answer.slice(at + 16, answer.indexOf('"', at + 16));
}

export const kept = (tokens: string[]): KeptSession[] => tokens.map((token) => ({ token }));

/** Starts `count` guest sessions (POST /guest-session from the page origin); returns their session tokens. */
export async function createSessions(
  url: string,
  count: number,
  concurrency: number,
  agent?: http.Agent,
): Promise<string[]> {
  const indexes = Array.from({ length: count }, (_, i) => i);
  return pool(indexes, concurrency, async () => {
    for (let attempt = 0; ; attempt++) {
      const res = await requestJson(`${url}/guest-session`, {
        method: 'POST',
        headers: { Origin: PAGE_ORIGIN },
        body: {},
        agent,
        timeoutMs: 30_000,
      });
      if (res.status === 201) return (res.json as { sessionToken: string }).sessionToken;
      if (attempt >= 3) throw new Error(`POST /guest-session answered ${res.status}: ${res.text}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });
}

/**
 * Bench only: the Genesys guest token inside a sealed session token. The
 * benchmark configured SESSION_SECRET itself, so it can open its own tokens
 * and tell the simulator which conversation to write into.
 */
export async function guestTokensOf(sessionTokens: string[]): Promise<string[]> {
  const sealer = new Sealer(deriveKeys([SESSION_SECRET]));
  const out: string[] = [];
  for (const token of sessionTokens) out.push(((await sealer.unseal(token)) as { gt: string }).gt);
  return out;
}
