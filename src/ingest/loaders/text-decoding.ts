import { kbError } from '../../errors.js';

const UTF8_BOM = [0xef, 0xbb, 0xbf];
/** How many leading bytes decide whether a file is binary (git looks at 8000). */
const SNIFF_BYTES = 8000;
/** Share of control bytes above which a NUL-free file is still treated as binary. */
const MAX_CONTROL_SHARE = 0.1;
/** Bytes windows-1252 leaves undefined: text that has them is neither Latin-1 prose nor Windows-1252. */
const UNDEFINED_IN_CP1252 = new Set([0x81, 0x8d, 0x8f, 0x90, 0x9d]);

/** The encoding a text file was read in: what `decodeText` detected. */
export type TextEncoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';

/**
 * Decodes a text file: UTF-8 (a BOM is stripped), UTF-16 with a BOM (or without one, when every other byte of
 * ASCII-range text is NUL), and, when the bytes are not valid UTF-8, Latin-1 / Windows-1252 as long as the file
 * has no bytes Windows-1252 leaves undefined. Binary content is refused. CRLF/CR become LF; offsets downstream
 * refer to the returned (normalised) string.
 */
export function decodeTextFile(bytes: Uint8Array, file: string): string {
  return decodeText(bytes, file).text;
}

/** decodeTextFile with the encoding it detected. */
export function decodeText(bytes: Uint8Array, file: string): { text: string; encoding: TextEncoding } {
  const utf16 = utf16Encoding(bytes);
  if (utf16) {
    const body = hasUtf16Bom(bytes) ? bytes.subarray(2) : bytes;
    let text: string;
    try {
      text = new TextDecoder(utf16, { fatal: true, ignoreBOM: true }).decode(body);
    } catch (cause) {
      throw kbError(
        'INVALID_ENCODING',
        `${file} looks like ${utf16.toUpperCase()} but does not decode as it.`,
        {
          input: file,
          cause,
        },
      );
    }
    if (looksBinary(new TextEncoder().encode(text))) throw binaryFile(file);
    return { text: normaliseLineEndings(text), encoding: utf16 };
  }
  const hasBom = bytes.length >= 3 && UTF8_BOM.every((b, i) => bytes[i] === b);
  const body = hasBom ? bytes.subarray(3) : bytes;
  if (looksBinary(body)) throw binaryFile(file);
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body);
    return { text: normaliseLineEndings(text), encoding: 'utf-8' };
  } catch (cause) {
    if (!hasBom && looksLatin1(body)) {
      return {
        text: normaliseLineEndings(new TextDecoder('windows-1252').decode(body)),
        encoding: 'windows-1252',
      };
    }
    throw kbError(
      'INVALID_ENCODING',
      `${file} is not valid UTF-8 (first bad byte at offset ${firstInvalidUtf8Offset(body)}) and not Latin-1 ` +
        'or UTF-16 either. Re-save it as UTF-8 (e.g. `iconv -f <its encoding> -t utf-8`).',
      { input: file, cause },
    );
  }
}

function binaryFile(file: string) {
  return kbError(
    'BINARY_FILE',
    `${file} contains binary data (NUL or control bytes), not text. Remove it from the ingest paths or ` +
      'exclude it with a glob.',
    { input: file },
  );
}

function hasUtf16Bom(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 2 &&
    ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))
  );
}

/** UTF-16 by its BOM, or by its shape: in ASCII-range UTF-16, nearly every other byte is NUL and the others not. */
function utf16Encoding(bytes: Uint8Array): 'utf-16le' | 'utf-16be' | undefined {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  const sniff = bytes.subarray(0, Math.min(bytes.length, SNIFF_BYTES) & ~1);
  if (sniff.length < 4) return undefined;
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < sniff.length; i += 2) {
    if (sniff[i] === 0) evenNul++;
    if (sniff[i + 1] === 0) oddNul++;
  }
  const pairs = sniff.length / 2;
  if (oddNul / pairs > 0.9 && evenNul / pairs < 0.05) return 'utf-16le';
  if (evenNul / pairs > 0.9 && oddNul / pairs < 0.05) return 'utf-16be';
  return undefined;
}

/**
 * Latin-1 / Windows-1252 prose: high bytes are letters and punctuation (é, ü, ’…), so none is a byte that
 * Windows-1252 leaves undefined, and most high bytes stand alone between ASCII characters.
 */
function looksLatin1(bytes: Uint8Array): boolean {
  let high = 0;
  let runs = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b < 0x80) continue;
    if (UNDEFINED_IN_CP1252.has(b)) return false;
    high++;
    if (i > 0 && bytes[i - 1]! >= 0x80) runs++;
  }
  return high > 0 && runs / high < 0.5;
}

export function normaliseLineEndings(text: string): string {
  return text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
}

function looksBinary(bytes: Uint8Array): boolean {
  if (bytes.indexOf(0) !== -1) return true;
  const sniff = bytes.subarray(0, SNIFF_BYTES);
  if (sniff.length === 0) return false;
  let control = 0;
  for (const b of sniff) {
    // Tab, LF, VT, FF, CR and ESC (ANSI colour codes in logs) are normal in text.
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0b && b !== 0x0c && b !== 0x0d && b !== 0x1b)
      control++;
    else if (b === 0x7f) control++;
  }
  return control / sniff.length > MAX_CONTROL_SHARE;
}

/** Byte offset of the first sequence that is not well-formed UTF-8, for a message that helps find it. */
function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const need =
      b < 0x80
        ? 0
        : b >= 0xc2 && b <= 0xdf
          ? 1
          : b >= 0xe0 && b <= 0xef
            ? 2
            : b >= 0xf0 && b <= 0xf4
              ? 3
              : -1;
    if (need < 0) return i;
    let valid = i + need < bytes.length;
    for (let k = 1; valid && k <= need; k++) valid = (bytes[i + k]! & 0xc0) === 0x80;
    if (valid && need > 0) {
      const second = bytes[i + 1]!;
      // Reject overlong forms, surrogates and code points above U+10FFFF.
      if ((b === 0xe0 && second < 0xa0) || (b === 0xed && second > 0x9f)) valid = false;
      if ((b === 0xf0 && second < 0x90) || (b === 0xf4 && second > 0x8f)) valid = false;
    }
    if (!valid) return i;
    i += need + 1;
  }
  return bytes.length;
}
