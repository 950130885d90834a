import { AppError } from '../domain/errors';

/**
 * Whether a file may go to Genesys, decided here before Genesys sees a byte:
 * the deployment's types (judged by the content as well as the name and the
 * declared type), its size limit and its blocked extensions
 * (docs/genesys-protocol.md#attachments-onattachment-getattachment-deleteattachment).
 */
export interface UploadLimits {
  enabled: boolean;
  /** MIME types, possibly with wildcards (`image/*`, `*\/*`). */
  mediaTypes: string[];
  maxBytes: number;
  /** With the dot, as Genesys sends them (`.exe`). */
  blockedExtensions: string[];
}

/** How many leading bytes the sniffer needs. */
export const SNIFF_BYTES = 64;

const MAGIC: [type: string, offset: number, bytes: number[] | string][] = [
  ['image/png', 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
  ['image/jpeg', 0, [0xff, 0xd8, 0xff]],
  ['image/gif', 0, 'GIF8'],
  ['image/tiff', 0, [0x49, 0x49, 0x2a, 0x00]],
  ['image/tiff', 0, [0x4d, 0x4d, 0x00, 0x2a]],
  ['application/pdf', 0, '%PDF-'],
  ['application/zip', 0, [0x50, 0x4b, 0x03, 0x04]],
  ['application/gzip', 0, [0x1f, 0x8b]],
  ['application/x-7z-compressed', 0, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]],
  ['application/x-rar-compressed', 0, 'Rar!'],
  ['audio/mpeg', 0, 'ID3'],
  ['audio/ogg', 0, 'OggS'],
  ['video/webm', 0, [0x1a, 0x45, 0xdf, 0xa3]],
  ['application/x-msdownload', 0, 'MZ'],
  ['application/x-executable', 0, [0x7f, 0x45, 0x4c, 0x46]],
  ['application/x-mach-binary', 0, [0xcf, 0xfa, 0xed, 0xfe]],
  ['application/x-sh', 0, '#!'],
];

function startsWith(head: Buffer, offset: number, bytes: number[] | string): boolean {
  const want = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes);
  return head.length >= offset + want.length && head.subarray(offset, offset + want.length).equals(want);
}

/** The type the content says it is, from its first bytes; undefined when nothing known matches. */
export function sniffMediaType(head: Buffer): string | undefined {
  if (startsWith(head, 0, 'RIFF') && startsWith(head, 8, 'WEBP')) return 'image/webp';
  if (startsWith(head, 0, 'RIFF') && startsWith(head, 8, 'WAVE')) return 'audio/wav';
  if (startsWith(head, 0, 'RIFF') && startsWith(head, 8, 'AVI ')) return 'video/x-msvideo';
  // `BM`, then the file size, then four reserved zero bytes: two letters alone would catch plain text.
  if (startsWith(head, 0, 'BM') && startsWith(head, 6, [0, 0, 0, 0])) return 'image/bmp';
  if (startsWith(head, 4, 'ftyp')) {
    const brand = head.subarray(8, 12).toString('latin1');
    if (/^(heic|heix|mif1)/.test(brand)) return 'image/heic';
    if (brand.startsWith('qt')) return 'video/quicktime';
    if (brand.startsWith('3g')) return 'video/3gpp';
    return 'video/mp4';
  }
  return MAGIC.find(([, offset, bytes]) => startsWith(head, offset, bytes))?.[0];
}

/** Types a sniffer recognises: declaring one of them for content that is not it is a disguise. */
const SNIFFABLE = new Set([...MAGIC.map(([type]) => type), 'image/bmp', 'image/webp', 'audio/wav', 'video/x-msvideo', 'image/heic', 'video/quicktime', 'video/3gpp', 'video/mp4']);

/** Declared names of the same type. */
const ALIASES: Record<string, string> = { 'image/jpg': 'image/jpeg', 'image/pjpeg': 'image/jpeg', 'audio/mp3': 'audio/mpeg', 'application/x-zip-compressed': 'application/zip' };

export function typeAllowed(type: string, allowed: readonly string[]): boolean {
  const [major] = type.split('/');
  return allowed.some((a) => a === '*/*' || a === type || (a.endsWith('/*') && a.slice(0, -2) === major));
}

function normalizeType(declared: string | undefined): string {
  const bare = (declared ?? '').split(';')[0]!.trim().toLowerCase();
  return ALIASES[bare] ?? bare;
}

/** Refuses a name whose extension the deployment blocks, or that Genesys would refuse (no extension, too long). */
export function checkFileName(fileName: string, limits: UploadLimits): void {
  const unsafe = [...fileName].some((c) => c.charCodeAt(0) < 0x20 || c === '\u007f' || c === '/' || c === '\\');
  if (fileName.length === 0 || fileName.length >= 1024 || unsafe) {
    throw new AppError('validation_failed', 'The file name must be 1 to 1023 characters, without path separators or control characters.');
  }
  const dot = fileName.lastIndexOf('.');
  if (dot <= 0 || dot === fileName.length - 1) {
    throw new AppError('attachment_type_not_allowed', 'The file name needs an extension (for example photo.png): Genesys refuses files without one.');
  }
  const extension = fileName.slice(dot).toLowerCase();
  if (limits.blockedExtensions.some((b) => b.toLowerCase() === extension)) {
    throw new AppError('attachment_type_not_allowed', `Files ending in ${extension} are not accepted by this deployment.`, { extensions: { extension } });
  }
}

/**
 * The media type the file goes to Genesys as: what its content shows, which
 * must agree with what it was declared as and be one the deployment accepts.
 * Content no sniffer knows (plain text, CSV) keeps its declared type, unless
 * that type is one a sniffer would have recognised.
 */
export function effectiveMediaType(declared: string | undefined, head: Buffer, limits: UploadLimits): string {
  const claimed = normalizeType(declared);
  const sniffed = sniffMediaType(head);
  let type: string;
  if (sniffed !== undefined) {
    if (claimed !== '' && claimed !== 'application/octet-stream' && claimed !== sniffed) {
      throw new AppError('attachment_type_not_allowed', `The file's content is ${sniffed}, not ${claimed} as declared.`, { extensions: { mediaType: sniffed } });
    }
    type = sniffed;
  } else {
    if (claimed === '' || claimed === 'application/octet-stream' || SNIFFABLE.has(claimed)) {
      throw new AppError('attachment_type_not_allowed', claimed ? `The file's content is not ${claimed} as declared.` : 'The file has no recognisable type; send it with its media type.');
    }
    type = claimed;
  }
  if (!typeAllowed(type, limits.mediaTypes)) {
    throw new AppError('attachment_type_not_allowed', `This deployment does not accept ${type} files.`, { extensions: { mediaType: type, accepted: limits.mediaTypes } });
  }
  return type;
}

export function checkEnabled(limits: UploadLimits): void {
  if (!limits.enabled) throw new AppError('attachments_disabled', 'This deployment does not accept files from guests.');
}

export function tooLarge(limits: UploadLimits): AppError {
  return new AppError('attachment_too_large', `The file is larger than this deployment accepts (${limits.maxBytes} bytes).`, { extensions: { limit: limits.maxBytes } });
}
