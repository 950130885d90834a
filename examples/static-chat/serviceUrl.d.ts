// Types for `./serviceUrl.js`, for the suites that import it (test/examples/serviceUrl.test.ts).
export function isLoopbackHost(hostname: string): boolean;
export function serviceUrlOf(
  page: { search: string; hostname: string },
  fromWindow: unknown,
  fromMeta: string | undefined,
): string;
