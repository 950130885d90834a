import { type AnyRouteSpec, asyncApiDocument, openApiDocument } from '../spec';

/**
 * The API's own documents, each built once, when first asked for: of `own` (the process's routes) and of a
 * deployment's routes (`perDeployment`).
 */
export function documentRoutes(
  own: () => AnyRouteSpec[],
  perDeployment: () => AnyRouteSpec[],
  version: string,
): AnyRouteSpec[] {
  let openapi: unknown;
  let asyncapi: unknown;
  return [
    {
      method: 'get',
      path: '/openapi.json',
      summary: 'This document (OpenAPI 3.1)',
      auth: 'public',
      responses: { 200: { description: 'The OpenAPI document' } },
      handle(_req, res) {
        res.json((openapi ??= openApiDocument([...own(), ...perDeployment()], version, new Set(perDeployment()))));
      },
    },
    {
      method: 'get',
      path: '/asyncapi.json',
      summary: "The live stream's events (AsyncAPI 3)",
      auth: 'public',
      responses: { 200: { description: 'The AsyncAPI document' } },
      handle(_req, res) {
        res.json((asyncapi ??= asyncApiDocument(version)));
      },
    },
  ];
}
