// Layer: cli.
// Random qtest lines for robustness tests: real commands with words of every kind (addresses
// of RAM, BARs and ports, sizes, huge and negative numbers, octal) and plain garbage.

import fc from 'fast-check';

const COMMANDS = [
  'outb',
  'outw',
  'outl',
  'inb',
  'inw',
  'inl',
  'readb',
  'readw',
  'readl',
  'readq',
  'writeb',
  'writew',
  'writel',
  'writeq',
  'read',
  'write',
  'b64read',
  'b64write',
  'memset',
  'endianness',
  'clock_step',
  'clock_set',
];

const bigintWord = fc.oneof(
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((n) => `0x${n.toString(16)}`),
  fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }).map((n) => n.toString()),
  fc.nat().map((n) => `0${n.toString(8)}`),
);
const addressWord = fc.oneof(
  fc.integer({ min: 0, max: 0x1fffff }).map((n) => `0x${n.toString(16)}`),
  fc.integer({ min: 0, max: 0x3fff }).map((n) => `0x${(0xe0000000 + n).toString(16)}`),
  fc.integer({ min: 0, max: 0xfffff }).map((n) => `0x${(0xe1000000 + n).toString(16)}`),
  fc.constantFrom('0xcf8', '0xcfc', '0xcfd', '0xcfe', '0xcff', '0x80'),
);
const sizeWord = fc.oneof(
  fc.integer({ min: 0, max: 64 }).map(String),
  fc.constantFrom('0', '0x1000', '0x200000', '0x1000001'),
);
const garbageWord = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.uint8Array({ maxLength: 12 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
  fc.constantFrom('', '0x', '-', '0xzz', '\r', '\t1', 'AQID', '0xdeadbeef', 'A*Q!'),
);
const word = fc.oneof(addressWord, sizeWord, bigintWord, garbageWord);
const commandLine = fc
  .tuple(fc.constantFrom(...COMMANDS), fc.array(word, { maxLength: 4 }))
  .map(([name, args]) => [name, ...args].join(' '));
export const qtestLine = fc
  .oneof(commandLine, commandLine, commandLine, garbageWord, fc.string({ maxLength: 40 }))
  .map((text) => text.replace(/\n/g, ''));
