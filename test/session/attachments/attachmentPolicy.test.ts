import {
  checkFileName,
  checkNotDisguised,
  normalizedFileName,
  runnableKind,
  typeAllowed,
  uploadMediaType,
  type UploadLimits,
} from '../../../src/session/attachments/attachmentPolicy';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
const PE = Buffer.concat([
  Buffer.from('MZ\x90\x00\x03\x00\x00\x00', 'latin1'),
  Buffer.alloc(0x34),
  Buffer.from([0x40, 0, 0, 0]),
  Buffer.from('PE\0\0', 'latin1'),
]);
const TEXT = Buffer.from('Order 1234: the parcel never arrived.\n');

const limits = (over: Partial<UploadLimits> = {}): UploadLimits => ({
  enabled: true,
  mediaTypes: ['image/png', 'image/jpeg', 'application/pdf', 'text/plain', 'audio/wav'],
  maxBytes: 1000,
  blockedExtensions: ['.exe', '.js', 'BAT'],
  ...over,
});

test.each([
  [PE, 'Windows program'],
  [Buffer.from('\x7fELF\x02\x01\x01\x00', 'latin1'), 'Linux program'],
  [Buffer.from('cffaedfe0c000001', 'hex'), 'macOS program'],
  [Buffer.from('cafebabe00000002', 'hex'), 'macOS program'],
  [Buffer.from('#!/bin/sh\nrm -rf ~\n'), 'script'],
  [Buffer.from('\ufeff#!/usr/bin/env python3\n'), 'script'],
  [Buffer.from('<html><head><HTA:APPLICATION ID="x"></head></html>'), 'HTML application'],
])('recognises a program: %#', (head, kind) => {
  expect(runnableKind(head)).toBe(kind);
});

test('text that starts with the letters of a program is not one', () => {
  expect(runnableKind(TEXT)).toBeUndefined();
  expect(runnableKind(Buffer.from('MZ,Mozambique,33.9\nPT,Portugal,10.3\n'))).toBeUndefined();
  expect(runnableKind(PNG)).toBeUndefined();
});

test('wildcards in the accepted types', () => {
  expect(typeAllowed('image/png', ['image/*'])).toBe(true);
  expect(typeAllowed('application/pdf', ['image/*'])).toBe(false);
  expect(typeAllowed('application/pdf', ['*/*'])).toBe(true);
  expect(typeAllowed('image/png', ['image/jpeg'])).toBe(false);
});

describe('the type a file goes to Genesys as', () => {
  test('the declared one without parameters, or the one its name implies when none was declared', () => {
    expect(uploadMediaType('text/plain; charset=utf-8', 'a.txt', limits())).toBe('text/plain');
    expect(uploadMediaType('application/octet-stream', 'scan.pdf', limits())).toBe('application/pdf');
    expect(uploadMediaType('', 'photo.PNG', limits())).toBe('image/png');
  });

  test("a common alias is matched against the deployment's list", () => {
    expect(uploadMediaType('audio/x-wav', 'note.wav', limits())).toBe('audio/wav');
    expect(uploadMediaType('audio/x-wav', 'note.wav', limits({ mediaTypes: ['audio/x-wav'] }))).toBe('audio/x-wav');
  });

  test('a type the deployment does not list is refused', () => {
    expect(() => uploadMediaType('image/gif', 'a.gif', limits())).toThrow(
      expect.objectContaining({ code: 'attachment_type_not_allowed' }),
    );
    expect(() => uploadMediaType('application/octet-stream', 'a.bin', limits())).toThrow(
      expect.objectContaining({ code: 'attachment_type_not_allowed' }),
    );
  });
});

describe('programs in disguise', () => {
  test('a program under an image or document name or type is refused', () => {
    for (const [name, type] of [
      ['photo.png', 'image/png'],
      ['report.pdf', 'application/pdf'],
      ['setup.exe', 'image/png'],
    ]) {
      expect(() => checkNotDisguised(PE, name!, type!)).toThrow(
        expect.objectContaining({ code: 'attachment_type_not_allowed' }),
      );
    }
    expect(() => checkNotDisguised(Buffer.from('#!/bin/sh\n'), 'notes.txt', 'text/plain')).toThrow(
      expect.objectContaining({ code: 'attachment_type_not_allowed' }),
    );
  });

  test("one named and typed for what it is is left to the deployment's lists", () => {
    expect(() => checkNotDisguised(PE, 'setup.exe', 'application/x-msdownload')).not.toThrow();
    expect(() => checkNotDisguised(Buffer.from('#!/bin/sh\n'), 'run.sh', 'application/x-sh')).not.toThrow();
    expect(() => checkNotDisguised(PNG, 'photo.png', 'image/png')).not.toThrow();
  });
});

describe('file names', () => {
  test.each([
    'setup.EXE',
    'setup.exe ',
    'setup.exe\u00a0',
    'setup.exe\u200b',
    'setup.exe\u3000',
    'setup.exe\u2028',
    'setup.exe\u2029',
    'setup.e\u200bxe',
    'setup.exe::$DATA',
    'setup.exe::$data ',
    'setup.exe.',
    'setup.exe. . ',
    'setup.exe:hidden.png',
    'setup.\uff45\uff58\uff45',
    'run.bat',
    'setup\u202e.exe',
  ])('a blocked extension however it is dressed: %j', (name) => {
    expect(() => checkFileName(name, limits())).toThrow(
      expect.objectContaining({ code: 'attachment_type_not_allowed' }),
    );
  });

  test('the name a file system would show', () => {
    expect(normalizedFileName(' Setup.EXE\u00a0::$DATA ')).toBe('setup.exe');
    expect(normalizedFileName('My Photo (1).png')).toBe('myphoto(1).png');
  });

  test('ordinary names pass', () => {
    for (const name of ['photo.png', 'My Photo (1).png', 'Meeting 10:30.pdf', 'résumé.pdf', '報告書.pdf'])
      expect(() => checkFileName(name, limits())).not.toThrow();
  });

  test('no extension, a path, a control character or 1024 characters: refused', () => {
    for (const name of [
      'README',
      'photo.',
      '../../etc/passwd.png',
      'a\\b.png',
      'x\u0000.png',
      `${'a'.repeat(1020)}.png`,
      '',
    ]) {
      expect(() => checkFileName(name, limits())).toThrow();
    }
  });
});
