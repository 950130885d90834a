import path from 'node:path';
import type { NextConfig } from 'next';

// The chat client is the service's own browser client (client/bffClient.ts in this repository), compiled
// with the page: the project root is the repository, so Next may read files outside this folder.
const repository = path.join(__dirname, '../..');

const config: NextConfig = {
  turbopack: { root: repository },
  outputFileTracingRoot: repository,
  reactStrictMode: true,
};

export default config;
