/** Where the session token lives between page loads. */
export interface TokenStore {
  get(): string | undefined;
  set(token: string): void;
  clear(): void;
  /**
   * Present on a store other tabs of the site share: `listener` hears the token another tab stored (or
   * `undefined` when it cleared it). Returns the way to stop listening. A client with such a store shares
   * its chat across tabs (BffClientOptions `shareTabs`).
   */
  subscribe?(listener: (token: string | undefined) => void): () => void;
}

export function memoryTokenStore(): TokenStore {
  let token: string | undefined;
  return {
    get: () => token,
    set: (t) => void (token = t),
    clear: () => void (token = undefined),
  };
}

/** get/set/clear over a Web Storage area that may be missing or disabled (sandboxed frames, some privacy modes). */
function storageStore(key: string, store: () => Storage): TokenStore {
  return {
    get: () => {
      try {
        return store().getItem(key) ?? undefined;
      } catch {
        return undefined; // storage disabled: a reload starts a new session
      }
    },
    set: (token) => {
      try {
        store().setItem(key, token);
      } catch {
        // storage full or disabled: the token still lives in the client
      }
    },
    clear: () => {
      try {
        store().removeItem(key);
      } catch {
        // nothing to clear
      }
    },
  };
}

/**
 * Keeps the token in sessionStorage: it survives a reload of the tab but not
 * the tab itself, and other tabs get their own chat.
 */
export function sessionStorageTokenStore(key = 'genesys-bff.sessionToken', storage?: Storage): TokenStore {
  // Even reading window.sessionStorage throws where storage is disabled.
  return storageStore(key, () => storage ?? window.sessionStorage);
}

/**
 * Keeps the token in localStorage, shared by every tab of the site: one chat per browser, which survives
 * closing the tab until the session ends. Other tabs hear a change through the `storage` event; a client
 * with this store shares one live stream among its tabs. The React hook's default.
 */
export function localStorageTokenStore(key = 'genesys-bff.sessionToken', storage?: Storage): TokenStore {
  const store = () => storage ?? window.localStorage;
  return {
    ...storageStore(key, store),
    subscribe(listener) {
      if (typeof window === 'undefined') return () => undefined;
      const heard = (event: StorageEvent) => {
        // A `clear()` of the whole area names no key.
        if (event.key !== key && event.key !== null) return;
        let area: Storage | undefined;
        try {
          area = store();
        } catch {
          return;
        }
        if (event.storageArea !== area) return;
        listener(event.key === null ? undefined : (event.newValue ?? undefined));
      };
      window.addEventListener('storage', heard);
      return () => window.removeEventListener('storage', heard);
    },
  };
}
