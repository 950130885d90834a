// Types for `./bffClient.js`, which the demo server serves as a re-export of the client package's
// build (@genesys-bff/client, client/dist). Lets `npm run typecheck` check app.js against the package.
export * from '@genesys-bff/client';
