/** Where the session token lives between page loads. */
export interface TokenStore {
  get(): string | undefined;
  set(token: string): void;
  clear(): void;
}

export function memoryTokenStore(): TokenStore {
  let token: string | undefined;
  return {
    get: () => token,
    set: (t) => void (token = t),
    clear: () => void (token = undefined),
  };
}

/**
 * Keeps the token in sessionStorage: it survives a reload of the tab but not
 * the tab itself, and other tabs get their own chat.
 */
export function sessionStorageTokenStore(key = 'genesys-bff.sessionToken', storage?: Storage): TokenStore {
  // Even reading window.sessionStorage throws where storage is disabled (sandboxed frames, some privacy modes).
  const store = () => storage ?? window.sessionStorage;
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
