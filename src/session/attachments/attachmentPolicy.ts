import mime from 'mime-types';
import { AppError } from '../../domain/errors';
import { uploadTypeDecisions } from '../../observability/metrics';

/**
 * Whether a file may go to Genesys, decided here before Genesys sees a byte,
 * as Genesys's own transport SDK decides it
 * (docs/genesys-protocol.md#attachments-onattachment-getattachment-deleteattachment):
 * uploads on, a size within the deployment's, an extension it does not
 * block, a type it lists. The SDK never judges a file by its content; this
 * service looks at the first bytes for one reason only, to refuse a program
 * or script dressed up as something else. A document, archive or recording
 * the deployment allows is never refused for its bytes.
 */
export interface UploadLimits {
  enabled: boolean;
  /** MIME types, possibly with wildcards (`image/*`, `*\/*`). */
  mediaTypes: string[];
  maxBytes: number;
  /** With the dot, as Genesys sends them (`.exe`). */
  blockedExtensions: string[];
  /** The conversation was ended (read-only): Genesys takes no more files in it. */
  readOnly?: boolean;
}

/** How many leading bytes the program check reads (an HTA's marker may sit after some markup). */
export const SNIFF_BYTES = 1024;

/** Room for the multipart framing around the file (boundaries, a 1023-character name twice, headers). */
export const MULTIPART_OVERHEAD_BYTES = 16 * 1024;

/** What runs when opened, by its first bytes. */
type Runnable =
  'Windows program' | 'Linux program' | 'macOS program' | 'script' | 'HTML application' | 'Windows shortcut';

const hex = (s: string) => Buffer.from(s, 'hex');
const MACH_O = ['feedface', 'feedfacf', 'cefaedfe', 'cffaedfe', 'cafebabe', 'cafebabf', 'bebafeca'].map(hex);
const ELF = hex('7f454c46');
const LNK = hex('4c0000000114020000000000c000000000000046');
const UTF8_BOM = hex('efbbbf');

/** Extensions that say honestly what each kind of program is; under any other name it is a disguise. */
const HONEST_EXTENSIONS: Record<Runnable, ReadonlySet<string>> = {
  'Windows program': new Set([
    '.exe',
    '.dll',
    '.com',
    '.scr',
    '.sys',
    '.cpl',
    '.ocx',
    '.drv',
    '.efi',
    '.mui',
    '.ax',
    '.pif',
  ]),
  'Linux program': new Set(['.so', '.elf', '.bin', '.o', '.out', '.axf', '.prx', '.ko', '.run', '.appimage']),
  'macOS program': new Set(['.dylib', '.bundle', '.o', '.macho', '.bin', '.class']),
  script: new Set([
    '.sh',
    '.bash',
    '.zsh',
    '.ksh',
    '.csh',
    '.fish',
    '.py',
    '.pl',
    '.pm',
    '.rb',
    '.php',
    '.js',
    '.mjs',
    '.cjs',
    '.command',
    '.tcl',
    '.lua',
    '.awk',
    '.r',
    '.cgi',
  ]),
  'HTML application': new Set(['.hta']),
  'Windows shortcut': new Set(['.lnk']),
};

/** The kind of program the content is, from its first bytes; undefined for anything that does not run when opened. */
export function runnableKind(head: Buffer): Runnable | undefined {
  const at = (bytes: Buffer, offset = 0) => head.subarray(offset, offset + bytes.length).equals(bytes);
  if (at(Buffer.from('MZ')) && isDosHeader(head)) return 'Windows program';
  if (at(ELF)) return 'Linux program';
  if (MACH_O.some((m) => at(m))) return 'macOS program';
  if (at(Buffer.from('#!')) || (at(UTF8_BOM) && at(Buffer.from('#!'), 3))) return 'script';
  if (at(LNK)) return 'Windows shortcut';
  if (head.toString('latin1').toLowerCase().includes('<hta:application')) return 'HTML application';
  return undefined;
}

/**
 * `MZ` followed by a real DOS header, which always has zero bytes in its
 * first 64 (reserved fields, and the high bytes of `e_lfanew`, the offset of
 * the `PE\0\0` signature, which sits within the first few KiB). Two letters
 * alone would catch a CSV whose first cell is `MZ` (Mozambique); text has no
 * zero bytes.
 */
function isDosHeader(head: Buffer): boolean {
  return head.subarray(2, 0x40).includes(0);
}

/**
 * The name as a file system would end up showing it, for judging its
 * extension: compatibility forms folded (full-width letters), Unicode spaces,
 * line and paragraph separators and invisible format characters (NBSP,
 * zero-width space, ideographic space, bidi controls) removed, NTFS's
 * `::$DATA` stream suffix and trailing dots dropped (Windows drops them),
 * lower case. `setup.exe\u00a0` and `setup.EXE::$DATA` are `setup.exe`.
 */
export function normalizedFileName(fileName: string): string {
  let name = fileName
    .normalize('NFKC')
    .replace(/[\p{Zs}\p{Zl}\p{Zp}\p{Cf}\s]/gu, '')
    .toLowerCase();
  let before;
  do {
    before = name;
    name = name.replace(/:+\$data$/, '').replace(/\.+$/, '');
  } while (name !== before);
  return name;
}

/** What follows the last dot, as Genesys's SDK takes it (`.env` is all extension); none for `README` or `name.`. */
function extensionOf(name: string): string | undefined {
  const dot = name.lastIndexOf('.');
  return dot >= 0 && dot < name.length - 1 ? name.slice(dot) : undefined;
}

/**
 * The extensions a name carries for a file system: its own,
 * and (NTFS's `name.exe:stream`) the one before a stream name.
 */
function extensionsOf(name: string): string[] {
  const beforeStream = name.includes(':') ? extensionOf(name.slice(0, name.indexOf(':'))) : undefined;
  return [extensionOf(name), beforeStream].filter((e): e is string => e !== undefined);
}

function blockedSet(limits: UploadLimits): Set<string> {
  return new Set(
    limits.blockedExtensions.map((b) => normalizedFileName(b)).map((b) => (b.startsWith('.') ? b : `.${b}`)),
  );
}

/**
 * Refuses a name whose extension the deployment blocks (however it is
 * dressed), or that Genesys would refuse (no extension, too long).
 */
export function checkFileName(fileName: string, limits: UploadLimits): void {
  const unsafe = [...fileName].some((c) => c.charCodeAt(0) < 0x20 || c === '\u007f' || c === '/' || c === '\\');
  if (fileName.length === 0 || fileName.length >= 1024 || unsafe) {
    throw new AppError(
      'validation_failed',
      'The file name must be 1 to 1023 characters, without path separators or control characters.',
    );
  }
  const extensions = extensionsOf(normalizedFileName(fileName));
  if (extensions.length === 0) {
    throw new AppError(
      'attachment_type_not_allowed',
      'The file name needs an extension (for example photo.png): Genesys refuses files without one.',
    );
  }
  const blocked = blockedSet(limits);
  const extension = extensions.find((e) => blocked.has(e));
  if (extension !== undefined) {
    throw new AppError(
      'attachment_type_not_allowed',
      `Files ending in ${extension} are not accepted by this deployment.`,
      { extensions: { extension } },
    );
  }
}

/** Declared names of the same type: the first is what a browser may send, the second what deployments list. */
const ALIASES: Record<string, string> = {
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'audio/mp3': 'audio/mpeg',
  'audio/x-mp3': 'audio/mpeg',
  'audio/mpeg3': 'audio/mpeg',
  'audio/x-wav': 'audio/wav',
  'audio/wave': 'audio/wav',
  'audio/vnd.wave': 'audio/wav',
  'audio/x-m4a': 'audio/mp4',
  'application/x-zip-compressed': 'application/zip',
  'text/comma-separated-values': 'text/csv',
};

export function typeAllowed(type: string, allowed: readonly string[]): boolean {
  const [major] = type.split('/');
  return allowed.some((a) => a === '*/*' || a === type || (a.endsWith('/*') && a.slice(0, -2) === major));
}

/** The declared type as a type name: lower case, without parameters; empty when none was declared. */
function bareType(declared: string | undefined): string {
  return (declared ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Every extension that names a program (a script too), which the name's type must never make acceptable. */
const PROGRAM_EXTENSIONS = new Set(Object.values(HONEST_EXTENSIONS).flatMap((set) => [...set]));

/**
 * The media type the file goes to Genesys as, one the deployment lists
 * (under its own name or its common alias: `audio/x-wav` is `audio/wav`).
 * Tried in turn: what the browser declared (without parameters), then what
 * the name says, as Genesys's SDK derives it (`resolveContentType(fileName)`,
 * docs/genesys-protocol.md#file-types-by-name): a browser declares a `.csv`
 * as `application/vnd.ms-excel` where Excel is installed, an `.xml` as
 * `text/xml`, where the deployment lists `text/csv` and `application/xml`.
 * A program's name never makes its file acceptable this way.
 */
export function uploadMediaType(declared: string | undefined, fileName: string, limits: UploadLimits): string {
  const bare = bareType(declared);
  const name = normalizedFileName(fileName);
  const fromName = mime.lookup(name) || 'application/octet-stream';
  const stated = bare === '' || bare === 'application/octet-stream' ? fromName : bare;
  const byName = extensionsOf(name).some((e) => PROGRAM_EXTENSIONS.has(e))
    ? []
    : [ALIASES[fromName] ?? fromName, fromName];
  const candidates = [...new Set([ALIASES[stated] ?? stated, stated, ...byName])];
  const type = candidates.find((t) => typeAllowed(t, limits.mediaTypes));
  if (type === undefined) {
    throw new AppError('attachment_type_not_allowed', `This deployment does not accept ${stated} files.`, {
      extensions: { mediaType: stated, accepted: limits.mediaTypes },
    });
  }
  const byDeclared =
    bare !== '' && bare !== 'application/octet-stream' && (type === stated || type === ALIASES[stated]);
  uploadTypeDecisions.inc({ decision: byDeclared ? 'declared' : 'by_name' });
  return type;
}

/** Types a script is honestly sent as: any text, or a script language's own application type. */
const SCRIPT_LANGUAGES = 'javascript|ecmascript|sh|shellscript|csh|python|perl|ruby|php|httpd-php|tcl|lua|awk';
const SCRIPT_TYPE = new RegExp(`^(text/[a-z0-9.+-]+|application/(x-)?(${SCRIPT_LANGUAGES}))$`);

/**
 * A script (`#!`) declared, and sent, as a text or script type: a `tool.js`
 * sent as `text/javascript`, a `.txt` log whose first line is `#!`. Opened,
 * it shows as text; only a name that says it is a picture, a recording or a
 * document (`photo.png` sent as `text/plain`) still makes it a disguise.
 */
function honestScript(fileName: string, mediaType: string, declared: string | undefined): boolean {
  const bare = bareType(declared);
  const sent = ALIASES[bare] ?? bare;
  if (!SCRIPT_TYPE.test(bare) || (mediaType !== bare && mediaType !== sent)) return false;
  const name = normalizedFileName(fileName);
  const extensions = extensionsOf(name);
  const named = mime.lookup(name);
  if (extensions.length === 0) return false;
  return extensions.every((e) => HONEST_EXTENSIONS.script.has(e)) || (named !== false && SCRIPT_TYPE.test(named));
}

/**
 * Refuses a program or script whose name or type says it is something
 * else: a Windows executable called `photo.png`, a shell script sent as
 * `image/png`, or with no type at all under `orders.csv`. One honestly named
 * and typed is left to the deployment's own lists, like any other file; so
 * is a script declared as the text it is, where the deployment takes that
 * type (`mediaType`, what goes to Genesys, is one it lists).
 */
export function checkNotDisguised(head: Buffer, fileName: string, mediaType: string, declared?: string): void {
  const kind = runnableKind(head);
  if (kind === undefined) return;
  if (kind === 'script' && honestScript(fileName, mediaType, declared)) {
    uploadTypeDecisions.inc({ decision: 'script_as_text' });
    return;
  }
  const extensions = extensionsOf(normalizedFileName(fileName));
  const honestName = extensions.length > 0 && extensions.every((e) => HONEST_EXTENSIONS[kind].has(e));
  const mediaLike =
    /^(image|audio|video|font|text)\//.test(mediaType) && !(kind === 'script' && /^text\/x-/.test(mediaType));
  if (!honestName || mediaLike) {
    throw new AppError(
      'attachment_type_not_allowed',
      `The file's content is a ${kind}, not what its name and type say.`,
      { extensions: { content: kind } },
    );
  }
}

export function checkEnabled(limits: UploadLimits): void {
  if (!limits.enabled) throw new AppError('attachments_disabled', 'This deployment does not accept files from guests.');
  if (limits.readOnly) {
    throw new AppError(
      'conflict',
      'The conversation has ended and takes no more files; ' +
        'start a new one with POST /guest-session and { "startNew": true }.',
    );
  }
}

export function tooLarge(limits: UploadLimits): AppError {
  return new AppError(
    'attachment_too_large',
    `The file is larger than this deployment accepts (${limits.maxBytes} bytes).`,
    { extensions: { limit: limits.maxBytes } },
  );
}
