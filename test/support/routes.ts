import type { Express } from 'express';
import type { RunningService } from '../../src/server';
import { openApiPath } from '../../src/http/spec/openapi';

type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: unknown[] } };

/**
 * Every method and path the running service routes, read from its Express
 * router and its deployment's (not from a list a test keeps), as `method /path`
 * with OpenAPI's `{param}` form: `get /attachments/{id}/content`.
 */
export function servedRoutes(service: Pick<RunningService, 'server' | 'deployments'>): string[] {
  // The app is the request listener behind the connection caps (src/http/server/connectionCaps.ts) and the health answers (healthFirst.ts).
  const app = service.server
    .listeners('request')
    .map(innermost)
    .find((l) => typeof (l as Express).use === 'function') as Express | undefined;
  if (!app) throw new Error("no Express app among the server's request listeners");
  const found: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      // `_all`: the 405 answer for the methods a path does not serve (routeSpec.ts refuseOtherMethods).
      if (layer.route) {
        for (const m of Object.keys(layer.route.methods))
          if (m !== '_all') found.push(`${m} ${openApiPath(layer.route.path)}`);
      } else if (layer.handle?.stack) walk(layer.handle.stack as Layer[]);
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  // Every deployment routes the same paths: the first one's router stands for all.
  walk((service.deployments.all[0]!.edge.routes as unknown as { stack: Layer[] }).stack);
  return found.sort();
}

/** The function a request listener wraps, through every `.handler`, innermost first. */
function innermost(listener: unknown): unknown {
  let inner = listener;
  while (typeof (inner as { handler?: unknown }).handler === 'function')
    inner = (inner as { handler: unknown }).handler;
  return inner;
}
