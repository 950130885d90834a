import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The client as a developer installs it: `npm pack` of the workspace, then a fresh
 * Vite + React + TypeScript project (written here by hand, as `npm create vite` would
 * lay it out) that installs React, Vite and TypeScript from the registry plus the
 * tarball, and type-checks a page importing both `@genesys-bff/client` and
 * `@genesys-bff/client/react`. Needs the npm registry (reachable in CI).
 *
 * @lane full — installs a Vite + React project from the npm registry (about a minute and a half)
 */

const ROOT = path.resolve(__dirname, '../..');
jest.setTimeout(300_000);

let dir: string;
afterAll(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 240_000,
    env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' },
  });
}

const write = (file: string, text: string) => {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  fs.writeFileSync(path.join(dir, file), text);
};

test('npm pack of the client installs into a fresh Vite + React + TypeScript project, which type-checks against the core and /react', () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bff-client-vite-'));
  const packed = JSON.parse(npm(['pack', '-w', '@genesys-bff/client', '--pack-destination', dir, '--json'], ROOT)) as {
    filename: string;
    files: { path: string }[];
  }[];
  const tarball = packed[0]!;
  const files = tarball.files.map((f) => f.path);
  // The built ES modules with their declarations, for the core and the /react subpath, and the package's README.
  for (const file of [
    'package.json',
    'README.md',
    'dist/index.js',
    'dist/index.d.ts',
    'dist/react/index.js',
    'dist/react/index.d.ts',
  ])
    expect(files).toContain(file);
  expect(files.filter((f) => f.endsWith('.tsbuildinfo'))).toEqual([]);

  const app = path.join(dir, 'app');
  fs.mkdirSync(app);
  dir = app;
  write(
    'package.json',
    JSON.stringify(
      {
        name: 'my-chat-site',
        private: true,
        version: '0.0.0',
        type: 'module',
        scripts: { build: 'tsc --noEmit && vite build' },
        dependencies: { '@genesys-bff/client': `file:../${tarball.filename}`, react: '19.3.1', 'react-dom': '19.3.1' },
        devDependencies: {
          '@types/react': '19.3.0',
          '@types/react-dom': '19.3.0',
          '@vitejs/plugin-react': '6.3.0',
          typescript: '5.9.3',
          vite: '8.3.8',
        },
      },
      null,
      2,
    ),
  );
  write(
    'tsconfig.json',
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2022', 'DOM', 'DOM.Iterable'],
        module: 'ESNext',
        moduleResolution: 'bundler',
        jsx: 'react-jsx',
        strict: true,
        noEmit: true,
        isolatedModules: true,
        skipLibCheck: false,
        types: ['vite/client'],
      },
      include: ['src'],
    }),
  );
  write(
    'vite.config.ts',
    "import { defineConfig } from 'vite';\nimport react from '@vitejs/plugin-react';\n\nexport default defineConfig({ plugins: [react()] });\n",
  );
  write(
    'index.html',
    '<!doctype html><html lang="en"><head><title>Chat</title></head><body><div id="root"></div><script type="module" src="/src/main.tsx"></script></body></html>\n',
  );
  write(
    'src/main.tsx',
    `import { createRoot } from 'react-dom/client';
import { BffClient, BffError, memoryTokenStore, type ChatMessage } from '@genesys-bff/client';
import { Composer, MessageList, TranscriptButton, describeError, useChat } from '@genesys-bff/client/react';

const client = new BffClient({ baseUrl: 'http://localhost:8080', tokenStore: memoryTokenStore() });
const first: Promise<ChatMessage[]> = client.history({ pageSize: 10 }).then((page) => page.messages);
void first.catch((e: unknown) => e instanceof BffError && e.corsRefused && console.warn(e.origin));

function App() {
  const chat = useChat({ client });
  return (
    <main>
      <p role="status">{chat.status}</p>
      {chat.error && <p role="alert">{describeError(chat.error)}</p>}
      <MessageList messages={chat.messages} onAnswer={(input) => void chat.send(input)} answersDisabled={chat.ended !== undefined} markdown={chat.capabilities?.markdown} />
      <TranscriptButton client={chat.client} messages={chat.messages} />
      <Composer onSubmit={chat.submit} onTyping={chat.notifyTyping} uploads={chat.uploads.uploads} onFiles={(files) => files.forEach((f) => void chat.uploads.upload(f))} />
      {chat.typing && <p>{chat.typing.name} is typing…</p>}
    </main>
  );
}

createRoot(document.getElementById('root')!).render(<App />);
`,
  );
  npm(['install', '--no-package-lock'], app);
  const installed = JSON.parse(
    fs.readFileSync(path.join(app, 'node_modules/@genesys-bff/client/package.json'), 'utf8'),
  ) as { version: string; dependencies?: Record<string, string> };
  // At run time, beyond the optional React peer, only the Markdown parser and sanitiser, each at one exact version.
  expect(installed.dependencies).toEqual({ dompurify: expect.any(String), 'markdown-it': expect.any(String) });
  for (const version of Object.values(installed.dependencies!)) expect(version).toMatch(/^\d+\.\d+\.\d+$/);
  execFileSync(path.join(app, 'node_modules/.bin/tsc'), ['--noEmit', '-p', 'tsconfig.json'], {
    cwd: app,
    stdio: 'pipe',
  });

  // A misuse fails the same check: the compiler really reads the package's declarations.
  write(
    'src/wrong.ts',
    "import { useChat } from '@genesys-bff/client/react';\nexport const wrong: number = useChat({}).status;\n",
  );
  const misuse = spawnSync(path.join(app, 'node_modules/.bin/tsc'), ['--noEmit', '-p', 'tsconfig.json'], {
    cwd: app,
    encoding: 'utf8',
  });
  expect(misuse.status).not.toBe(0);
  expect(misuse.stdout).toContain('src/wrong.ts(2,14): error TS2322'); // useChat().status is a string union, not any
});
