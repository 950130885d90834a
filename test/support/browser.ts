import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { debianProgram } from './programs';

/** The flags every browser suite runs Chromium with. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

/** Debian's Chromium, headless, with the flags every browser suite runs it with (never a downloaded browser). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: debianProgram('chromium'), args: CHROMIUM_ARGS });
}

/** A React test page bundled as one script, in React's development build (StrictMode mounts twice in it). */
export async function bundleKitPage(entry: string): Promise<string> {
  const built = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'iife',
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': '"development"' },
    logLevel: 'silent',
  });
  return built.outputFiles[0]!.text;
}
