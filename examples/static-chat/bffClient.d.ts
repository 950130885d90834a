// Types for `./bffClient.js`, which the demo server serves from dist/client
// (built from client/bffClient.ts). Lets `npm run typecheck` check app.js.
export * from '../../client/bffClient';
