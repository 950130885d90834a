import { crc32, deflateSync } from 'node:zlib';
import { outboundText, type StructuredMessageBody } from './frames';

/**
 * The scripted agent's rich answers (docs/genesys-protocol.md#structuredmessage):
 * an image, a card, a carousel and a date picker, in the shapes the official
 * SDK parses, for a custom UI to show and answer.
 */

/** A PNG of `width`×`height` pixels, colour by position: small, and a real image any browser decodes. */
export function demoPng(width = 96, height = 64): Buffer {
  const rows = [];
  for (let y = 0; y < height; y += 1) {
    const row = Buffer.alloc(1 + width * 3); // filter byte 0, then RGB
    for (let x = 0; x < width; x += 1)
      row.set([Math.round((255 * x) / width), Math.round((255 * y) / height), 160], 1 + x * 3);
    rows.push(row);
  }
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function structured(text: string, content: unknown[], originatingEntity: 'Bot' | 'Human'): StructuredMessageBody {
  return { ...outboundText(text, originatingEntity), type: 'Structured', content };
}

const card = (title: string, description: string, actions: [string, string][]) => ({
  title,
  description,
  actions: actions.map(([text, payload]) => ({ type: 'Postback', text, payload })),
});

export function cardReply(originatingEntity: 'Bot' | 'Human'): StructuredMessageBody {
  const offer = card('Your order', 'Order 1042 is on its way.', [
    ['Track order', 'track'],
    ['Talk to a person', 'human'],
  ]);
  return structured('Here is your order', [{ contentType: 'Card', card: offer }], originatingEntity);
}

export function carouselReply(originatingEntity: 'Bot' | 'Human'): StructuredMessageBody {
  const cards = [
    card('Blue mug', 'Stoneware, 300 ml', [['Buy the blue one', 'buy-blue']]),
    card('Green mug', 'Stoneware, 300 ml', [['Buy the green one', 'buy-green']]),
  ];
  return structured('Which one would you like?', [{ contentType: 'Carousel', carousel: { cards } }], originatingEntity);
}

/** Two slots on the next whole hours a day from now, so the picker always offers the future. */
export function datePickerReply(originatingEntity: 'Bot' | 'Human', now = Date.now()): StructuredMessageBody {
  const first = new Date(Math.ceil((now + 24 * 3600_000) / 3600_000) * 3600_000);
  const availableTimes = [0, 1].map((h) => ({
    dateTime: new Date(first.getTime() + h * 3600_000).toISOString().replace('.000Z', 'Z'),
    duration: 1800,
  }));
  const datePicker = { title: 'Book a call', subtitle: 'Pick a time that suits you', availableTimes };
  return structured('When shall we call you?', [{ contentType: 'DatePicker', datePicker }], originatingEntity);
}

export function imageReply(originatingEntity: 'Bot' | 'Human', attachment: unknown): StructuredMessageBody {
  return { ...outboundText('Here is the picture', originatingEntity), content: [attachment] };
}
