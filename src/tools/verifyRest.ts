import axios from 'axios';
import type { Exchange, Run, Verdict, VerifyTarget } from './verifyRun';

/**
 * The REST points of `npm run verify:genesys` (verifyGenesys.ts runs them):
 * the deployment's config.json, read first because its features decide
 * what some points expect, and the guest history read with the guest JWT.
 */

/** Paths of every `null` in a value, e.g. `body.durationSeconds` (in frames and history entities alike). */
export function nullPaths(value: unknown, path = ''): string[] {
  if (value === null) return [path || '(root)'];
  if (typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => nullPaths(v, path ? `${path}.${k}` : k));
}

/** Whether config.json turns a conversations feature on (`autoStart`, `conversationClear`). */
export function featureOn(config: Record<string, unknown> | undefined, key: string): boolean {
  const conversations = (
    config?.messenger as { apps?: { conversations?: Record<string, { enabled?: boolean }> } } | undefined
  )?.apps?.conversations;
  return conversations?.[key]?.enabled === true;
}

export function reportConfig(config: Record<string, unknown> | undefined, add: Run['add']): void {
  add(
    'config.json readable',
    'HTTP 200 with the Messenger configuration',
    config ? 'read' : 'not readable',
    config ? 'holds' : 'differs',
  );
  if (!config) return;
  const auth = config.auth as { enabled?: boolean; allowSessionUpgrade?: boolean } | undefined;
  const upload =
    (config.messenger as { fileUpload?: { modes?: unknown[] } } | undefined)?.fileUpload?.modes?.length ?? 0;
  add(
    'deployment features',
    'read from config.json',
    `autostart ${featureOn(config, 'autoStart')}, conversation clear ${featureOn(config, 'conversationClear')}, ` +
      `file upload modes ${upload}, ` +
      `auth ${auth?.enabled === true} (session upgrade ${auth?.allowSessionUpgrade === true})`,
    'holds',
  );
}

export async function readConfig(
  target: VerifyTarget,
  exchanges: Exchange[],
  timeoutMs: number,
): Promise<Record<string, unknown> | undefined> {
  const base = target.cdnUrl.replace(/\/+$/, '');
  const url = `${base}/webdeployments/v1/deployments/${encodeURIComponent(target.deploymentId)}/config.json`;
  try {
    const res = await axios.get(url, { timeout: timeoutMs, validateStatus: () => true, maxContentLength: 1024 * 1024 });
    exchanges.push({ kind: 'rest', data: { method: 'GET', url, status: res.status, response: res.data } });
    return res.status === 200 && typeof res.data === 'object' ? (res.data as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export async function checkHistory(
  target: VerifyTarget,
  jwt: string | undefined,
  sent: { messageId: string; text: string },
  exchanges: Exchange[],
  add: (point: string, expected: string, observed: string, verdict: Verdict) => void,
  timeoutMs: number,
): Promise<void> {
  const expected = '200 with entities, pageSize, pageNumber, total, pageCount; the message just sent in it';
  if (!jwt) return add('history (REST)', expected, 'no guest JWT to read it with', 'not checked');
  const url = `${target.apiUrl.replace(/\/+$/, '')}/api/v2/webmessaging/messages`;
  const res = await axios
    .get(url, {
      params: { pageNumber: 1, pageSize: 25 },
      headers: { Authorization: `bearer ${jwt}`, Origin: target.origin },
      timeout: timeoutMs,
      validateStatus: () => true,
    })
    .catch((error: Error) => ({ status: 0, data: error.message }));
  exchanges.push({
    kind: 'rest',
    data: { method: 'GET', url: `${url}?pageNumber=1&pageSize=25`, status: res.status, response: res.data },
  });
  if (res.status !== 200) return add('history (REST)', expected, `HTTP ${res.status}`, 'differs');
  const body = res.data as { entities?: { text?: string; channel?: { messageId?: string } }[] };
  const keys = Object.keys(body ?? {})
    .sort()
    .join(', ');
  const byId = body.entities?.some((e) => e.channel?.messageId === sent.messageId);
  const byText = body.entities?.some((e) => e.text === sent.text);
  const nulls = [...new Set(nullPaths(body.entities ?? []).map((p) => p.replace(/^\d+\./, '')))];
  add(
    'history (REST)',
    expected,
    `keys: ${keys}; sent message found ${byId ? 'by its id' : byText ? 'by its text only' : 'not at all'}; ` +
      `nulls: ${nulls.join(', ') || 'none'}`,
    byText || byId ? 'holds' : 'differs',
  );
}
