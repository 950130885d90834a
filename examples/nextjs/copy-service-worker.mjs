// The kit's service worker must be served from the site's own origin: Next.js serves public/ as it is.
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
mkdirSync('public', { recursive: true });
copyFileSync(require.resolve('@genesys-bff/client/sw.js'), 'public/chat-sw.js');
