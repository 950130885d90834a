// jsdom for the React tests, which run the service and the simulator in the same realm. The page gets
// what jsdom lacks and a browser has: Node's fetch (which lets a test send the page's Origin), with the
// streams, AbortController, FormData, File and Blob it works with. jsdom's XMLHttpRequest is taken away:
// axios in the service would pick it (CORS and all) for its calls to Genesys, and the client uploads
// through fetch without it (upload progress is a browser's; the Chromium tests cover it). The service
// gets the Node globals it uses (web crypto, timers with unref, and Node's typed arrays, which jose and Buffer check against).
const { TestEnvironment } = require('jest-environment-jsdom');

class JsdomWithFetch extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    const names = [
      'fetch',
      'Headers',
      'Request',
      'Response',
      'FormData',
      'File',
      'Blob',
      'ReadableStream',
      'WritableStream',
      'TransformStream',
      'TextDecoderStream',
      'TextEncoderStream',
      'TextEncoder',
      'TextDecoder',
      'AbortController',
      'AbortSignal',
      'crypto',
      'setImmediate',
      'clearImmediate',
      'structuredClone',
      'BroadcastChannel',
      'MessageChannel',
      'MessagePort',
      'setTimeout',
      'clearTimeout',
      'setInterval',
      'clearInterval',
      'queueMicrotask',
      'performance',
      'Uint8Array',
      'ArrayBuffer',
      'SharedArrayBuffer',
      'DataView',
      'CryptoKey',
      'SubtleCrypto',
    ];
    // Defined, not assigned: jsdom's window has getters for some (crypto) that ignore an assignment.
    for (const name of names)
      Object.defineProperty(this.global, name, { value: globalThis[name], writable: true, configurable: true });
    delete this.global.XMLHttpRequest;
  }
}

// In a Stryker worker (mutation testing of client/src/, docs/testing.md#mutation-testing) a suite that names this
// environment in its docblock bypasses the one Stryker configures: it gets what that one gives, per-test coverage
// (Stryker's mixin) and the mutation run's own roles (scripts/mutation/environment.js).
if (process.env.STRYKER_MUTATOR_WORKER) {
  const { mixinJestEnvironment } = require('@stryker-mutator/jest-runner');
  const { withMutationRoles } = require('../../scripts/mutation/environment.js');
  module.exports = mixinJestEnvironment(withMutationRoles(JsdomWithFetch));
} else {
  module.exports = JsdomWithFetch;
}
