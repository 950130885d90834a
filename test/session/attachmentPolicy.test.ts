import { checkFileName, effectiveMediaType, sniffMediaType, typeAllowed, type UploadLimits } from '../../src/session/attachmentPolicy';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
const PDF = Buffer.from('%PDF-1.7\n');
const EXE = Buffer.from('MZ\x90\x00\x03\x00\x00\x00', 'latin1');
const TEXT = Buffer.from('Order 1234: the parcel never arrived.\n');

const limits = (over: Partial<UploadLimits> = {}): UploadLimits => ({
  enabled: true,
  mediaTypes: ['image/png', 'image/jpeg', 'application/pdf', 'text/plain'],
  maxBytes: 1024,
  blockedExtensions: ['.exe', '.js'],
  ...over,
});

test.each([
  [PNG, 'image/png'],
  [Buffer.from([0xff, 0xd8, 0xff, 0xe0]), 'image/jpeg'],
  [Buffer.from('GIF89a'), 'image/gif'],
  [PDF, 'application/pdf'],
  [Buffer.from('RIFF\0\0\0\0WEBPVP8 '), 'image/webp'],
  [Buffer.from('\0\0\0\x18ftypmp42'), 'video/mp4'],
  [Buffer.from('\0\0\0\x18ftypheic'), 'image/heic'],
  [EXE, 'application/x-msdownload'],
  [Buffer.from('BM\x36\x00\x0c\x00\x00\x00\x00\x00', 'latin1'), 'image/bmp'],
])('sniffs %#: %s', (head, type) => {
  expect(sniffMediaType(head)).toBe(type);
});

test('plain text is not mistaken for a binary type, even when it starts with the letters of one', () => {
  expect(sniffMediaType(TEXT)).toBeUndefined();
  expect(sniffMediaType(Buffer.from('BMW service booking'))).toBeUndefined();
});

test('wildcards in the accepted types', () => {
  expect(typeAllowed('image/png', ['image/*'])).toBe(true);
  expect(typeAllowed('application/pdf', ['image/*'])).toBe(false);
  expect(typeAllowed('application/pdf', ['*/*'])).toBe(true);
  expect(typeAllowed('image/png', ['image/jpeg'])).toBe(false);
});

describe('the type a file goes to Genesys as', () => {
  test('its content decides, when it agrees with what was declared', () => {
    expect(effectiveMediaType('image/png', PNG, limits())).toBe('image/png');
    expect(effectiveMediaType('application/octet-stream', PDF, limits())).toBe('application/pdf');
    expect(effectiveMediaType('', PNG, limits())).toBe('image/png');
  });

  test('a disguised file is refused: declared an image, it is a program', () => {
    expect(() => effectiveMediaType('image/png', EXE, limits())).toThrow(expect.objectContaining({ code: 'attachment_type_not_allowed' }));
  });

  test('content the deployment does not accept is refused whatever it is called', () => {
    expect(() => effectiveMediaType('application/octet-stream', EXE, limits())).toThrow(expect.objectContaining({ code: 'attachment_type_not_allowed' }));
    expect(() => effectiveMediaType('image/png', PNG, limits({ mediaTypes: ['application/pdf'] }))).toThrow(
      expect.objectContaining({ code: 'attachment_type_not_allowed' }),
    );
  });

  test('a declared binary type the content does not show is refused; unsniffable text keeps its declared type', () => {
    expect(() => effectiveMediaType('image/png', TEXT, limits())).toThrow(expect.objectContaining({ code: 'attachment_type_not_allowed' }));
    expect(effectiveMediaType('text/plain; charset=utf-8', TEXT, limits())).toBe('text/plain');
    expect(() => effectiveMediaType('text/csv', TEXT, limits())).toThrow(expect.objectContaining({ code: 'attachment_type_not_allowed' }));
    expect(() => effectiveMediaType(undefined, TEXT, limits())).toThrow(expect.objectContaining({ code: 'attachment_type_not_allowed' }));
  });
});

describe('file names', () => {
  test('a blocked extension is refused in any case', () => {
    expect(() => checkFileName('setup.EXE', limits())).toThrow(expect.objectContaining({ code: 'attachment_type_not_allowed' }));
    expect(() => checkFileName('photo.png', limits())).not.toThrow();
  });

  test('no extension, a path, a control character or 1024 characters: refused', () => {
    for (const name of ['README', 'photo.', '../../etc/passwd.png', 'a\\b.png', 'x\u0000.png', `${'a'.repeat(1020)}.png`, '']) {
      expect(() => checkFileName(name, limits())).toThrow();
    }
  });
});
