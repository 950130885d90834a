import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { chromium, type BrowserContext } from 'playwright-core';
import { CHROMIUM_ARGS } from './browser';
import { debianProgram } from './programs';
import { waitFor } from './wait';

/**
 * Chromium on a desktop whose notifications can be clicked. Headless Chromium on Linux shows a site's notifications
 * through the desktop's notification server (`org.freedesktop.Notifications` on the session D-Bus), as it does on a
 * customer's Linux desktop; this starts a private bus (Debian's dbus-daemon, no service activation) and a server on
 * it (desktopNotifications.py, on Debian's python3-gi) that writes down each notification and clicks one when told:
 * its `ActionInvoked(id, "default")` is what a desktop sends when the customer clicks a notification, so Chromium
 * dispatches a trusted `notificationclick` to the site's service worker, with the user activation that lets it
 * focus or open a window.
 *
 * The browser is one persistent profile (`launchPersistentContext`): Chromium routes a click to the profile that
 * showed the notification, and an off-the-record context such as `browser.newContext()` makes is not one it finds
 * again (the click never reaches the worker there).
 */

/** A notification as the desktop was asked to show it. */
export interface DesktopNotification {
  id: number;
  summary: string;
  body: string;
  /** The action keys Chromium offered (`default` is clicking the notification itself). */
  actions: string[];
}

export interface Desktop {
  /** The customer's browser: every tab of it shares one profile (storage, service workers, permissions). */
  context: BrowserContext;
  /** Every notification shown so far, oldest first. */
  shown: DesktopNotification[];
  /** Waits until `count` notifications have been shown; the newest. */
  nthShown(count: number): Promise<DesktopNotification>;
  /** The customer clicks notification `id`; resolves once the desktop has told Chromium. */
  click(id: number): Promise<void>;
  /** Notifications Chromium took down (a click closes it, as the kit's worker does). */
  closed: number[];
  close(): Promise<void>;
}

const BUS_CONFIG = (socket: string) => `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`;

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** Chromium (Debian's, headless, the suites' flags) on a desktop of its own; `close()` ends all of it. */
export async function chromiumOnADesktop(
  options: { viewport?: { width: number; height: number } } = {},
): Promise<Desktop> {
  const chromiumPath = debianProgram('chromium');
  const dbusDaemon = debianProgram('dbus-daemon');
  // python3-gi installs the `gi` package where Debian's python3 finds it.
  const gi = debianProgram('python3-gi');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bff-desktop-'));
  fs.writeFileSync(path.join(dir, 'bus.conf'), BUS_CONFIG(path.join(dir, 'bus')));
  const children: ChildProcess[] = [];
  let context: BrowserContext | undefined;
  const close = async () => {
    await context?.close();
    for (const child of children.reverse()) await stop(child);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const bus = spawn(dbusDaemon, [`--config-file=${path.join(dir, 'bus.conf')}`, '--nofork', '--print-address=1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(bus);
    const address = await new Promise<string>((resolve, reject) => {
      let errors = '';
      bus.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString()));
      bus.once('exit', (code) => reject(new Error(`dbus-daemon exited (${code}): ${errors}`)));
      readline.createInterface({ input: bus.stdout! }).once('line', (line) => resolve(line.trim()));
    });

    const server = spawn('/usr/bin/python3', [path.join(__dirname, 'desktopNotifications.py'), address], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH, PYTHONPATH: path.dirname(gi) },
    });
    children.push(server);
    let serverErrors = '';
    server.stderr!.on('data', (chunk: Buffer) => (serverErrors += chunk.toString()));
    const shown: DesktopNotification[] = [];
    const closed: number[] = [];
    const clicked: number[] = [];
    let ready = false;
    readline.createInterface({ input: server.stdout! }).on('line', (line) => {
      const event = JSON.parse(line) as Record<string, unknown>;
      if (event.ready) ready = true;
      if (typeof event.notify === 'number')
        shown.push({
          id: event.notify,
          summary: event.summary as string,
          body: event.body as string,
          actions: event.actions as string[],
        });
      if (typeof event.closed === 'number') closed.push(event.closed);
      if (typeof event.clicked === 'number') clicked.push(event.clicked);
    });
    const alive = () => {
      if (server.exitCode !== null) throw new Error(`the notification server exited: ${serverErrors}`);
    };
    await waitFor(() => (alive(), ready));

    context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
      executablePath: chromiumPath,
      args: CHROMIUM_ARGS,
      env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: address },
      viewport: options.viewport ?? { width: 400, height: 600 },
      locale: 'en-US',
    });
    return {
      context,
      shown,
      closed,
      async nthShown(count) {
        await waitFor(() => (alive(), shown.length >= count));
        return shown[count - 1]!;
      },
      async click(id) {
        server.stdin!.write(`${JSON.stringify({ click: id })}\n`);
        await waitFor(() => (alive(), clicked.includes(id)));
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
