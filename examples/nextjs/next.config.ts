import type { NextConfig } from 'next';

// The chat client is an installed package (@genesys-bff/client, from this repository's `npm run
// pack:client`): nothing outside this folder is compiled with the page.
const config: NextConfig = {
  reactStrictMode: true,
};

export default config;
