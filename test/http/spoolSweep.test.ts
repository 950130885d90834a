import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UploadSpool } from '../../src/http/multipart';

/**
 * The sweep a start runs over the spool directory, where the machine cannot show it: a process
 * of another user (kill answers EPERM: it runs, its files stay), a file another instance's
 * sweep removed between this one's listing and its removal (no error: the start goes on), and
 * a directory that happens to bear a spool file's name (not one of ours: left alone).
 * test/hostile/uploadSpool.test.ts holds the rest: a dead process's files go, a running one's stay.
 */
const dirs: string[] = [];
function spoolDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bff-sweep-test-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => jest.restoreAllMocks());
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** Pids jest's process.kill answers for as the kernel would: EPERM (runs, as another user) or ESRCH (gone). */
function killAnswers(answers: Record<number, 'EPERM' | 'ESRCH'>): void {
  const kill = process.kill.bind(process);
  jest.spyOn(process, 'kill').mockImplementation((pid: number, signal?: string | number) => {
    const code = answers[pid];
    if (code === undefined) return kill(pid, signal);
    throw Object.assign(new Error(`kill ${code}`), { code, syscall: 'kill' });
  });
}

test("a process of another user (kill answers EPERM) runs: its files stay; a gone one's (ESRCH) are removed", async () => {
  const dir = spoolDir();
  const otherUser = 4_000_001;
  const gone = 4_000_002;
  killAnswers({ [otherUser]: 'EPERM', [gone]: 'ESRCH' });
  const kept = `bff-upload-${otherUser}-${randomUUID()}`;
  const stale = `bff-upload-${gone}-${randomUUID()}`;
  for (const name of [kept, stale]) fs.writeFileSync(path.join(dir, name), 'x');

  expect(await new UploadSpool(dir).sweep()).toBe(1);
  expect(fs.readdirSync(dir)).toEqual([kept]);
});

test('a file another instance removed between the listing and the removal: no error, counted as swept', async () => {
  const dir = spoolDir();
  const vanished = `bff-upload-${4_000_003}-${randomUUID()}`;
  killAnswers({ [4_000_003]: 'ESRCH' });
  // The listing still shows the file; another instance sharing the directory has removed it since.
  const readdir = fs.promises.readdir;
  const listed = { name: vanished, isFile: () => true } as fs.Dirent;
  jest.spyOn(fs.promises, 'readdir').mockImplementation((async (dir: fs.PathLike) => [...(await readdir(dir, { withFileTypes: true })), listed]) as unknown as typeof readdir);

  await expect(new UploadSpool(dir).sweep()).resolves.toBe(1);
  expect(fs.readdirSync(dir)).toEqual([]);
});

test("a directory named like a spool file is not one of ours: it stays, and the sweep goes on", async () => {
  const dir = spoolDir();
  // /tmp is the default UPLOAD_TMP_DIR, shared with whatever else makes directories there.
  const notOurs = path.join(dir, `bff-upload-${randomUUID()}`);
  fs.mkdirSync(notOurs);
  const stale = `bff-upload-${randomUUID()}`;
  fs.writeFileSync(path.join(dir, stale), 'x');

  expect(await new UploadSpool(dir).sweep()).toBe(1);
  expect(fs.readdirSync(dir)).toEqual([path.basename(notOurs)]);
});
