import type { AxiosInstance } from 'axios';
import { z } from 'zod';
import type { SettingNames } from '../../config/deployment';
import type { Logger } from '../../observability/logger';
import { DependencyState, type CheckState } from '../../observability/readiness';
import { describeTransportFailure } from '../restClient';
import { RefreshingValue } from './refreshingValue';

/**
 * The deployment's public Messenger configuration: `GET
 * {cdnUrl}/webdeployments/v1/deployments/{deploymentId}/config.json`, no
 * auth (docs/genesys-protocol.md#deployment-configuration-configjson). It says which conversation
 * features the deployment has switched on. Needs no OAuth client.
 */
const lenient = <S extends z.ZodType>(schema: S) => schema.optional().catch(undefined);
const flag = lenient(z.boolean());
const toggle = lenient(z.object({ enabled: flag }));

/**
 * The parts of config.json this service reads; anything else
 * is ignored, and a field of the wrong type counts as absent.
 */
export const messengerDeploymentConfigSchema = z.object({
  id: lenient(z.string()),
  version: lenient(z.string()),
  apiEndpoint: lenient(z.string()),
  status: lenient(z.string()),
  languages: lenient(z.array(z.string())),
  defaultLanguage: lenient(z.string()),
  auth: lenient(z.object({ enabled: flag, allowSessionUpgrade: flag })),
  messenger: lenient(
    z.object({
      enabled: flag,
      fileUpload: lenient(
        z.object({
          enableAttachments: flag,
          modes: lenient(
            z.array(z.object({ fileTypes: lenient(z.array(z.string())), maxFileSizeKB: lenient(z.number()) })),
          ),
        }),
      ),
      apps: lenient(
        z.object({
          conversations: lenient(
            z.object({
              messagingEndpoint: lenient(z.string()),
              showAgentTypingIndicator: flag,
              showUserTypingIndicator: flag,
              autoStart: toggle,
              conversationDisconnect: lenient(z.object({ enabled: flag, type: lenient(z.string()) })),
              conversationClear: toggle,
              markdown: toggle,
            }),
          ),
        }),
      ),
    }),
  ),
});

type MessengerDeploymentConfig = z.infer<typeof messengerDeploymentConfigSchema>;

export interface MessengerFeatures {
  /** Send a Presence Join when a conversation starts (the deployment's autostart). */
  autoStart: boolean;
  /** Genesys accepts the guest's typing events. */
  userTypingIndicator: boolean;
  /** Genesys sends the agent's typing events. */
  agentTypingIndicator: boolean;
  /** The guest may clear (end and forget) the conversation. */
  conversationClear: boolean;
  /**
   * What happens when the agent disconnects: `ReadOnly` ends the conversation for the guest, `Send` lets them carry on.
   */
  disconnect: { enabled: boolean; type: string };
  /** `Active` or `Inactive`, when the config says. */
  status?: string;
  /** Agents' messages may use Markdown. */
  markdown: boolean;
  languages: string[];
  defaultLanguage?: string;
  /**
   * What the deployment lets a guest upload (empty: uploads off). With
   * `enableAttachments` set either way, the session's `allowedMedia` says instead (`fromSession`).
   */
  fileUpload: { mediaTypes: string[]; maxBytes: number; fromSession?: boolean };
  /** Genesys authenticated messaging (an OpenID Connect integration) is set up for the deployment. */
  auth: { enabled: boolean; allowSessionUpgrade: boolean };
}

/** What the service assumes while config.json cannot be read: nothing optional switched on. */
export const DEFAULT_MESSENGER_FEATURES: Readonly<MessengerFeatures> = Object.freeze({
  autoStart: false,
  userTypingIndicator: false,
  agentTypingIndicator: false,
  conversationClear: false,
  disconnect: Object.freeze({ enabled: false, type: 'Send' }),
  markdown: false,
  languages: Object.freeze([]) as unknown as string[],
  fileUpload: Object.freeze({ mediaTypes: Object.freeze([]) as unknown as string[], maxBytes: 0 }),
  auth: Object.freeze({ enabled: false, allowSessionUpgrade: false }),
});

export function messengerFeaturesOf(config: MessengerDeploymentConfig): MessengerFeatures {
  const conversations = config.messenger?.apps?.conversations;
  return {
    autoStart: conversations?.autoStart?.enabled ?? false,
    userTypingIndicator: conversations?.showUserTypingIndicator ?? false,
    agentTypingIndicator: conversations?.showAgentTypingIndicator ?? false,
    conversationClear: conversations?.conversationClear?.enabled ?? false,
    disconnect: {
      enabled: conversations?.conversationDisconnect?.enabled ?? false,
      type: conversations?.conversationDisconnect?.type ?? 'Send',
    },
    ...(config.status !== undefined ? { status: config.status } : {}),
    markdown: conversations?.markdown?.enabled ?? false,
    languages: config.languages ?? [],
    ...(config.defaultLanguage !== undefined ? { defaultLanguage: config.defaultLanguage } : {}),
    fileUpload: fileUploadOf(config),
    auth: { enabled: config.auth?.enabled ?? false, allowSessionUpgrade: config.auth?.allowSessionUpgrade ?? false },
  };
}

/** A `modes` entry that allows something: a type and a size above 0 (MT `toFileAttachmentProfile`). */
interface UploadMode {
  fileTypes: string[];
  maxFileSizeKB: number;
}

/**
 * As Genesys's own client reads it (MT `MessagingClientImpl.createFileAttachmentProfile`,
 * docs/genesys-protocol.md#attachments-onattachment-getattachment-deleteattachment):
 * `enableAttachments` present, true or false, hands the decision to the
 * session's `allowedMedia`; only without it does the deprecated `modes` list
 * apply, its first mode's size (a KB being 1000 bytes, as the SDK counts).
 */
function fileUploadOf(config: MessengerDeploymentConfig): MessengerFeatures['fileUpload'] {
  if (config.messenger?.fileUpload?.enableAttachments !== undefined)
    return { mediaTypes: [], maxBytes: 0, fromSession: true };
  const modes = (config.messenger?.fileUpload?.modes ?? []).filter(
    (m): m is UploadMode => (m.fileTypes?.length ?? 0) > 0 && (m.maxFileSizeKB ?? 0) > 0,
  );
  return {
    mediaTypes: [...new Set(modes.flatMap((m) => m.fileTypes))],
    maxBytes: (modes[0]?.maxFileSizeKB ?? 0) * KB,
  };
}

/** A KB as Genesys's SDK counts it (MT `AttachmentHandlerImpl` `toKB()`). */
export const KB = 1000;

export interface MessengerConfigOptions {
  cdnUrl: string;
  deploymentId: string;
  /** The region domain, for messages. */
  region: string;
  /** The deployment's settings as its messages name them. */
  named: Pick<SettingNames, 'deploymentId' | 'region'>;
  http: AxiosInstance;
  logger: Logger;
  ttlMs: number;
  /** How soon a failed fetch is tried again. */
  retryMs?: number;
  now?: () => number;
  onState?: (state: CheckState) => void;
}

/** A failed config.json fetch; `refused` when the CDN answered 4xx (an unknown deployment id). */
class ConfigFetchError extends Error {
  constructor(
    readonly refused: boolean,
    readonly reason: string,
  ) {
    super(reason);
  }
}

export class MessengerConfigSource {
  private readonly url: string;
  private readonly config: RefreshingValue<MessengerFeatures>;
  private readonly check: DependencyState;

  constructor(private readonly options: MessengerConfigOptions) {
    const deployment = encodeURIComponent(options.deploymentId);
    this.url = `${options.cdnUrl}/webdeployments/v1/deployments/${deployment}/config.json`;
    this.check = new DependencyState({
      initial: { ok: false, detail: 'Fetching the Messenger configuration.' },
      logger: options.logger,
      logFields: { url: this.url },
      onState: options.onState,
    });
    this.config = new RefreshingValue({
      load: () => this.fetch(),
      ttlMs: options.ttlMs,
      retryMs: options.retryMs ?? Math.min(options.ttlMs, 30_000),
      now: options.now,
      onLoaded: (features) => this.loaded(features),
      onFailed: (error, stale) => this.failed(error, stale),
    });
  }

  start(): void {
    this.config.refresh();
  }

  /**
   * The deployment's features. Never rejects: the last good value when a
   * refresh fails, safe defaults when none was ever read (readiness reports why).
   */
  async get(): Promise<MessengerFeatures> {
    try {
      return await this.config.get();
    } catch {
      return DEFAULT_MESSENGER_FEATURES;
    }
  }

  state(): CheckState {
    return this.check.current;
  }

  close(): void {
    this.config.close();
  }

  private async fetch(): Promise<MessengerFeatures> {
    let response;
    try {
      response = await this.options.http.get(this.url, { validateStatus: () => true });
    } catch (error) {
      throw new ConfigFetchError(false, describeTransportFailure(error).message);
    }
    if (response.status >= 400 && response.status < 500) throw new ConfigFetchError(true, `HTTP ${response.status}`);
    if (response.status < 200 || response.status >= 300) throw new ConfigFetchError(false, `HTTP ${response.status}`);
    const parsed = messengerDeploymentConfigSchema.safeParse(response.data);
    // Only a body that is not an object at all fails: the schema is lenient field by field.
    if (!parsed.success) throw new ConfigFetchError(false, 'the body is not a JSON object');
    return messengerFeaturesOf(parsed.data);
  }

  private loaded(features: MessengerFeatures): void {
    const state = stateOf(features, this.options.named.deploymentId);
    this.check.set(state, { level: state.ok ? 'info' : 'error' });
  }

  private failed(error: unknown, stale: MessengerFeatures | undefined): void {
    const { cdnUrl, region, named } = this.options;
    const reason = error instanceof ConfigFetchError ? error.reason : String(error);
    if (error instanceof ConfigFetchError && error.refused) {
      this.check.set(
        {
          ok: false,
          detail:
            `Genesys has no Messenger configuration for ${named.deploymentId} in region ${region} ` +
            `(${reason} from ${cdnUrl}): copy the id from Admin > Message > Messenger Deployments ` +
            `and check that ${named.region} is the region of your Genesys Cloud org.`,
        },
        { level: 'error' },
      );
      return;
    }
    if (stale) {
      const last = stateOf(stale, named.deploymentId);
      this.check.set(
        { ...last, detail: `${last.detail} Refreshing it failed (${reason}); retrying.` },
        { level: 'warn' },
      );
      return;
    }
    // Never read: Genesys may be unreachable from here (a DNS failure, a firewall), so the instance is not ready
    // (it fails closed). A guest that reaches it anyway gets safe defaults, with nothing optional switched on.
    this.check.set(
      {
        ok: false,
        detail:
          `The Messenger configuration could not be read from ${cdnUrl} (${reason}): ` +
          'this instance cannot reach Genesys. Serving safe defaults (autostart and typing indicators off) ' +
          'to any guest, and retrying.',
      },
      { level: 'error' },
    );
  }
}

function stateOf(features: MessengerFeatures, deploymentIdNamed: string): CheckState {
  if (features.status === 'Inactive') {
    return {
      ok: false,
      detail:
        'The Messenger configuration says the deployment is Inactive: ' +
        'activate it under Admin > Message > Messenger Deployments, ' +
        `or set ${deploymentIdNamed} to an active deployment.`,
    };
  }
  const summary =
    `autostart ${onOff(features.autoStart)}, guest typing ${onOff(features.userTypingIndicator)}, ` +
    `agent typing ${onOff(features.agentTypingIndicator)}`;
  return { ok: true, detail: `Messenger configuration read (${summary}).` };
}

function onOff(value: boolean): string {
  return value ? 'on' : 'off';
}
