import type { AxiosInstance, AxiosResponse } from 'axios';
import { PROOF_PAGE_SIZE } from './deliveryProof';
import { clampRetryAfter, GuestApiError } from './errors';
import type { Logger } from '../../observability/logger';
import { historySchema, structuredMessageSchema, withoutNulls, type StructuredMessage } from './frames';
import type { GuestSession } from './guestSession';
import type { NormalizedMessage } from '../../domain/message';
import { isReceipt, normalizeMessage } from './normalize';

/**
 * Conversation history over REST (§5.1): `GET {api}/api/v2/webmessaging/messages`
 * with `Authorization: bearer <guest JWT from getJwt>`. Genesys pages newest
 * first; each page is returned oldest first.
 */
/** A page of 100 messages is well under this; anything larger is refused, not buffered. */
const MAX_HISTORY_BYTES = 2 * 1024 * 1024;

export interface HistoryPage {
  messages: NormalizedMessage[];
  page: number;
  pageSize: number;
  total: number;
  pageCount: number;
}

export class GuestHistory {
  constructor(
    private readonly http: AxiosInstance,
    private readonly apiUrl: string,
    private readonly origin: string,
    private readonly logger?: Logger,
  ) {}

  async page(session: GuestSession, page: number, pageSize: number): Promise<HistoryPage> {
    let response = await this.get(session, page, pageSize);
    if (response.status === 401) {
      // The cached JWT may have been revoked or be past its real expiry: get a fresh one once.
      session.forgetJwt();
      response = await this.get(session, page, pageSize);
    }
    return this.read(response, page, pageSize);
  }

  private async get(session: GuestSession, page: number, pageSize: number): Promise<AxiosResponse> {
    const { jwt } = await session.getJwt();
    try {
      return await this.http.get(`${this.apiUrl}/api/v2/webmessaging/messages`, {
        params: { pageNumber: page, pageSize },
        headers: { Authorization: `bearer ${jwt}`, Origin: this.origin },
        validateStatus: () => true,
        maxContentLength: MAX_HISTORY_BYTES,
        maxBodyLength: MAX_HISTORY_BYTES,
      });
    } catch (error) {
      throw new GuestApiError('unavailable', 'Could not reach Genesys for the conversation history; please retry.', { cause: error });
    }
  }

  private read(response: AxiosResponse, page: number, pageSize: number): HistoryPage {
    if (response.status === 429) {
      throw new GuestApiError('rate_limited', 'Genesys limits history reads; retry later.', {
        genesysCode: 429,
        retryAfterSeconds: clampRetryAfter(Number(response.headers['retry-after']), 6),
      });
    }
    if (response.status !== 200) {
      throw new GuestApiError('unavailable', 'Genesys could not return the conversation history; please retry.', {
        genesysCode: response.status,
        genesysText: `${response.headers['inin-correlation-id'] ?? ''} ${JSON.stringify(response.data)?.slice(0, 500)}`,
      });
    }
    const parsed = historySchema.safeParse(withoutNulls(response.data));
    if (!parsed.success) {
      throw new GuestApiError('unavailable', 'Genesys returned a history this service cannot read.', { genesysText: parsed.error.message });
    }
    const body = parsed.data;
    // One unreadable entity costs that entity, not the page; a page never holds more than was asked for.
    const entities: StructuredMessage[] = [];
    for (const entity of body.entities.slice(0, pageSize)) {
      const message = structuredMessageSchema.safeParse(entity);
      if (message.success) entities.push(message.data);
      else this.logger?.warn({ reason: message.error.issues[0]?.message }, 'skipped a history entity this service cannot read');
    }
    if (body.entities.length > pageSize) this.logger?.warn({ entities: body.entities.length, pageSize }, 'Genesys returned more history entities than asked for; kept the first page');
    const messages = entities
      .filter((m) => !isReceipt(m))
      .map((m) => normalizeMessage(m))
      .reverse();
    return {
      messages,
      page: body.pageNumber ?? page,
      pageSize,
      total: body.total ?? messages.length,
      pageCount: body.pageCount ?? 1,
    };
  }

  /** The newest page, for proving whether a message in doubt was delivered (deliveryProof.ts). */
  async newest(session: GuestSession): Promise<NormalizedMessage[]> {
    return (await this.page(session, 1, PROOF_PAGE_SIZE)).messages;
  }
}
