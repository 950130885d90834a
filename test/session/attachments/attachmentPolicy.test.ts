import { AppError } from '../../../src/domain/errors';
import {
  checkFileName,
  checkNotDisguised,
  normalizedFileName,
  runnableKind,
  typeAllowed,
  uploadMediaType,
  type UploadLimits,
  checkEnabled,
  tooLarge,
} from '../../../src/session/attachments/attachmentPolicy';
import { registryTotal } from '../../support/metrics';

/**
 * What src/session/attachments/attachmentPolicy.ts lets through and refuses: the types accepted, the
 * type a file goes to Genesys as, programs in disguise and file names; and its edges: a program with
 * no name to be honest about, a name that says two things, a script typed as the text it is, a
 * byte-order mark before ordinary text, and what each refusal tells the browser.
 */

describe('what it lets through', () => {
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
    // Only `/*` makes a wildcard.
    expect(typeAllowed('image/png', ['image/x'])).toBe(false);
  });

  test("each upload's type decision is counted: the declared type or its alias, the name's, a script taken as text", async () => {
    const counted = async (run: () => unknown, decision: string) => {
      const before = await registryTotal('genesys_bff_upload_type_decisions_total', { decision });
      run();
      return (await registryTotal('genesys_bff_upload_type_decisions_total', { decision })) - before;
    };
    expect(await counted(() => uploadMediaType('image/png', 'photo.png', limits()), 'declared')).toBe(1);
    expect(await counted(() => uploadMediaType('audio/x-wav', 'note.wav', limits()), 'declared')).toBe(1);
    expect(await counted(() => uploadMediaType('', 'photo.png', limits()), 'by_name')).toBe(1);
    expect(await counted(() => uploadMediaType('application/octet-stream', 'scan.pdf', limits()), 'by_name')).toBe(1);
    const csv = limits({ mediaTypes: ['text/csv'] });
    expect(await counted(() => uploadMediaType('application/vnd.ms-excel', 'orders.csv', csv), 'by_name')).toBe(1);
    const script = Buffer.from('#!/bin/sh\n');
    expect(await counted(() => checkNotDisguised(script, 'run.sh', 'text/plain', 'text/plain'), 'script_as_text')).toBe(
      1,
    );
    // Each is counted once, under its own decision alone.
    expect(await counted(() => uploadMediaType('image/png', 'photo.png', limits()), 'by_name')).toBe(0);
    expect(await counted(() => uploadMediaType('', 'photo.png', limits()), 'declared')).toBe(0);
  });

  describe('the type a file goes to Genesys as', () => {
    test('the declared one without parameters, or the one its name implies when none was declared', () => {
      expect(uploadMediaType('text/plain; charset=utf-8', 'a.txt', limits())).toBe('text/plain');
      expect(uploadMediaType('application/octet-stream', 'scan.pdf', limits())).toBe('application/pdf');
      expect(uploadMediaType('', 'photo.PNG', limits())).toBe('image/png');
    });

    test("the name's type is tried when the declared one is not listed, as Genesys's SDK types a file", () => {
      const listed = limits({ mediaTypes: ['text/csv', 'application/xml'] });
      expect(uploadMediaType('application/vnd.ms-excel', 'orders.csv', listed)).toBe('text/csv');
      expect(uploadMediaType('text/xml', 'feed.xml', listed)).toBe('application/xml');
      // The declared type still comes first when the deployment lists it.
      expect(uploadMediaType('text/xml', 'feed.xml', limits({ mediaTypes: ['text/xml', 'application/xml'] }))).toBe(
        'text/xml',
      );
    });

    test("a program's name never makes its file acceptable by the name's type", () => {
      const listed = limits({ mediaTypes: ['application/x-msdos-program', 'text/javascript'], blockedExtensions: [] });
      expect(() => uploadMediaType('image/png', 'setup.exe', listed)).toThrow(
        expect.objectContaining({ code: 'attachment_type_not_allowed' }),
      );
      expect(() => uploadMediaType('text/plain', 'tool.js', listed)).toThrow(
        expect.objectContaining({ code: 'attachment_type_not_allowed' }),
      );
      // Nor does any one extension of several: the one before an NTFS stream names a program here.
      expect(() =>
        uploadMediaType(
          'image/png',
          'setup.exe:zone.txt',
          limits({ mediaTypes: ['text/plain'], blockedExtensions: [] }),
        ),
      ).toThrow(expect.objectContaining({ code: 'attachment_type_not_allowed' }));
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
      expect(() => checkNotDisguised(Buffer.from('#!/bin/sh\n'), 'photo.png', 'image/png', 'image/png')).toThrow(
        expect.objectContaining({ code: 'attachment_type_not_allowed' }),
      );
    });

    test('a script declared as a text or script type that goes to Genesys as that type is not a disguise', () => {
      const script = Buffer.from('#!/usr/bin/env node\nconsole.log(1)\n');
      expect(() => checkNotDisguised(script, 'tool.js', 'text/javascript', 'text/javascript')).not.toThrow();
      const log = Buffer.from('#! started 2026-11-26 06:00 UTC\nretrying...\n');
      expect(() => checkNotDisguised(log, 'build.txt', 'text/plain', 'text/plain; charset=utf-8')).not.toThrow();
      expect(() => checkNotDisguised(log, 'build.log', 'text/plain', 'text/plain')).not.toThrow();
    });

    test('a script is still a disguise when its declared type is not text, or its name says it is something else', () => {
      const script = Buffer.from('#!/bin/sh\n');
      // Declared as nothing: the name's text/csv decides the type, but nothing declared the content as text.
      expect(() => checkNotDisguised(script, 'orders.csv', 'text/csv', 'application/octet-stream')).toThrow(AppError);
      expect(() => checkNotDisguised(script, 'orders.csv', 'text/csv')).toThrow(AppError);
      // Declared as text under a picture's name.
      expect(() => checkNotDisguised(script, 'photo.png', 'text/plain', 'text/plain')).toThrow(AppError);
      // Declared as text, but the deployment took it under another type.
      expect(() => checkNotDisguised(script, 'notes.txt', 'application/pdf', 'text/plain')).toThrow(AppError);
      // A name with nothing to be honest about.
      expect(() => checkNotDisguised(script, 'notes', 'text/plain', 'text/plain')).toThrow(AppError);
      // A program is never text, whatever it is declared as.
      expect(() => checkNotDisguised(PE, 'notes.txt', 'text/plain', 'text/plain')).toThrow(AppError);
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
});

describe('its edges, and what each refusal tells the browser', () => {
  const PE = Buffer.concat([
    Buffer.from('MZ\x90\x00\x03\x00\x00\x00', 'latin1'),
    Buffer.alloc(0x34),
    Buffer.from([0x40, 0, 0, 0]),
    Buffer.from('PE\0\0', 'latin1'),
  ]);
  const SCRIPT = Buffer.from('#!/usr/bin/env python3\nprint("hi")\n');
  const limits = (over: Partial<UploadLimits> = {}): UploadLimits => ({
    enabled: true,
    mediaTypes: ['image/png', 'text/plain', 'application/pdf'],
    maxBytes: 1000,
    blockedExtensions: ['.exe'],
    ...over,
  });

  function refusal(run: () => unknown): AppError {
    try {
      run();
    } catch (error) {
      return error as AppError;
    }
    throw new Error('not refused');
  }

  test('a byte-order mark before ordinary text is not a script; before #! it is', () => {
    expect(runnableKind(Buffer.from('\ufeffDear support, my order is late.'))).toBeUndefined();
    expect(runnableKind(Buffer.from('\ufeff#!/bin/sh\n'))).toBe('script');
  });

  describe('programs', () => {
    test('one with no extension at all has no honest name', () => {
      expect(refusal(() => checkNotDisguised(PE, 'setup', 'application/octet-stream'))).toMatchObject({
        code: 'attachment_type_not_allowed',
        message: "The file's content is a Windows program, not what its name and type say.",
        extensions: { content: 'Windows program' },
      });
    });

    test('every extension a name carries must be honest, the one before an NTFS stream too', () => {
      expect(() => checkNotDisguised(PE, 'setup.png:zone.exe', 'application/octet-stream')).toThrow(AppError);
      expect(() => checkNotDisguised(PE, 'setup.exe:zone.exe', 'application/octet-stream')).not.toThrow();
    });

    test('a script typed as the script it is (text/x-…) or declared as plain text is honest; typed as a picture not', () => {
      expect(() => checkNotDisguised(SCRIPT, 'tool.py', 'text/x-python')).not.toThrow();
      expect(() => checkNotDisguised(SCRIPT, 'tool.py', 'text/plain', 'text/plain')).not.toThrow();
      expect(() => checkNotDisguised(SCRIPT, 'tool.py', 'image/png', 'image/png')).toThrow(
        expect.objectContaining({ extensions: { content: 'script' } }),
      );
      // Any extension that says otherwise makes it a disguise, the one before an NTFS stream too.
      expect(() => checkNotDisguised(SCRIPT, 'tool.sh:zone.png', 'text/plain', 'text/plain')).toThrow(AppError);
      // text/x- is a script's own type only for a script: a Windows program under it is still in disguise.
      expect(() => checkNotDisguised(PE, 'setup.exe', 'text/x-msdos-program')).toThrow(AppError);
    });

    test('a script is typed as its own language only by a type that starts text/x-, not one that holds it further on', () => {
      // What a browser declared is taken as it is: a picture's type with text/x- inside is still a picture's.
      expect(refusal(() => checkNotDisguised(SCRIPT, 'tool.py', 'image/text/x-python'))).toMatchObject({
        code: 'attachment_type_not_allowed',
        extensions: { content: 'script' },
      });
    });

    test('a type is media-like by its major type alone, not by a media word inside it', () => {
      expect(() => checkNotDisguised(PE, 'setup.exe', 'x-image/png')).not.toThrow();
      expect(() => checkNotDisguised(PE, 'setup.exe', 'image/png')).toThrow(AppError);
    });
  });

  describe('what each refusal tells the browser', () => {
    test('an unusable name', () => {
      expect(refusal(() => checkFileName('', limits()))).toMatchObject({
        code: 'validation_failed',
        message: 'The file name must be 1 to 1023 characters, without path separators or control characters.',
      });
    });

    test('a name without an extension', () => {
      expect(refusal(() => checkFileName('README', limits()))).toMatchObject({
        code: 'attachment_type_not_allowed',
        message: 'The file name needs an extension (for example photo.png): Genesys refuses files without one.',
      });
    });

    test('a blocked extension names it', () => {
      expect(refusal(() => checkFileName('Setup.EXE', limits()))).toMatchObject({
        code: 'attachment_type_not_allowed',
        message: 'Files ending in .exe are not accepted by this deployment.',
        extensions: { extension: '.exe' },
      });
    });

    test('a type the deployment does not list names it and what is accepted', () => {
      expect(refusal(() => uploadMediaType('image/gif', 'a.gif', limits()))).toMatchObject({
        message: 'This deployment does not accept image/gif files.',
        extensions: { mediaType: 'image/gif', accepted: ['image/png', 'text/plain', 'application/pdf'] },
      });
    });

    test('no declared type: the name decides, and a name that says nothing is octet-stream', () => {
      expect(uploadMediaType(undefined, 'notes.txt', limits())).toBe('text/plain');
      expect(refusal(() => uploadMediaType(undefined, 'blob.unknownext', limits()))).toMatchObject({
        extensions: { mediaType: 'application/octet-stream' },
      });
    });

    test('uploads off, a conversation ended, a file too large', () => {
      expect(refusal(() => checkEnabled(limits({ enabled: false })))).toMatchObject({
        code: 'attachments_disabled',
        message: 'This deployment does not accept files from guests.',
      });
      expect(refusal(() => checkEnabled(limits({ readOnly: true })))).toMatchObject({
        code: 'conflict',
        message: expect.stringMatching(/^The conversation has ended and takes no more files; start a new one/),
      });
      expect(tooLarge(limits())).toMatchObject({
        code: 'attachment_too_large',
        message: 'The file is larger than this deployment accepts (1000 bytes).',
        extensions: { limit: 1000 },
      });
    });
  });

  describe('names', () => {
    test('the extension is what follows the last dot, as Genesys’s SDK takes it: a dotfile’s name is all extension', () => {
      expect(() => checkFileName('.htaccess', limits())).not.toThrow();
      expect(refusal(() => checkFileName('.exe', limits()))).toMatchObject({ extensions: { extension: '.exe' } });
    });

    test('a deployment’s blocked extension counts with or without its dot, in any case', () => {
      expect(refusal(() => checkFileName('setup.exe', limits({ blockedExtensions: ['EXE'] })))).toMatchObject({
        extensions: { extension: '.exe' },
      });
    });

    test('a ::$DATA suffix is dropped only where Windows drops it, at the end; in the middle it hides nothing', () => {
      expect(refusal(() => checkFileName('setup.exe::$DATA', limits()))).toMatchObject({
        extensions: { extension: '.exe' },
      });
      expect(refusal(() => checkFileName('setup.exe::$DATA.txt', limits()))).toMatchObject({
        extensions: { extension: '.exe' },
      });
    });

    test('suffixes are dropped until none is left, however they are stacked', () => {
      expect(normalizedFileName('setup.exe::$DATA.')).toBe('setup.exe');
      expect(normalizedFileName('photo.png.::$DATA..')).toBe('photo.png');
    });

    test('DEL is a control character too', () => {
      expect(refusal(() => checkFileName('photo\u007f.png', limits()))).toMatchObject({ code: 'validation_failed' });
    });

    test('an empty extension before a stream name is none: an honestly named script stays honest', () => {
      expect(() => checkNotDisguised(SCRIPT, 'deploy.:zone.py', 'application/x-python')).not.toThrow();
    });
  });

  test('a Windows shortcut dressed as a picture is refused for what it is', () => {
    const lnk = Buffer.concat([Buffer.from('4c0000000114020000000000c000000000000046', 'hex'), Buffer.alloc(60)]);
    expect(refusal(() => checkNotDisguised(lnk, 'photo.png', 'image/png'))).toMatchObject({
      extensions: { content: 'Windows shortcut' },
    });
    expect(() => checkNotDisguised(lnk, 'Report.lnk', 'application/octet-stream')).not.toThrow();
  });

  test('a declared type is taken without its parameters, or the spaces around it', () => {
    expect(uploadMediaType('image/png; name="photo.png"', 'photo.png', limits())).toBe('image/png');
    // A name that says nothing: only the declared type can make it acceptable.
    expect(uploadMediaType(' image/png ; name="photo"', 'upload', limits())).toBe('image/png');
  });

  test('#! text declared under another name of a text type is honest, whichever name it goes to Genesys as', () => {
    const log = Buffer.from('#! build 1234\nok\n');
    expect(() => checkNotDisguised(log, 'orders.csv', 'text/csv', 'text/comma-separated-values')).not.toThrow();
    expect(() =>
      checkNotDisguised(log, 'orders.csv', 'text/comma-separated-values', 'text/comma-separated-values'),
    ).not.toThrow();
  });
});
