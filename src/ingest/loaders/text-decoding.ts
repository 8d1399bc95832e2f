import { kbError } from '../../errors.js';

const BOM = [0xef, 0xbb, 0xbf];
/** How many leading bytes decide whether a file is binary (git looks at 8000). */
const SNIFF_BYTES = 8000;
/** Share of control bytes above which a NUL-free file is still treated as binary. */
const MAX_CONTROL_SHARE = 0.1;

/**
 * Decodes a text file: rejects binary content and invalid UTF-8, strips a UTF-8 BOM and normalises CRLF/CR to LF.
 * Offsets downstream refer to the returned (normalised) string.
 */
export function decodeTextFile(bytes: Uint8Array, file: string): string {
  const hasBom = bytes.length >= 3 && BOM.every((b, i) => bytes[i] === b);
  const body = hasBom ? bytes.subarray(3) : bytes;
  if (looksBinary(body)) {
    throw kbError(
      'BINARY_FILE',
      `${file} contains binary data (NUL or control bytes), not text. Remove it from the ingest paths or ` +
        'exclude it with a glob; if it is UTF-16 text, re-save it as UTF-8.',
      { input: file },
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body);
  } catch (cause) {
    throw kbError(
      'INVALID_ENCODING',
      `${file} is not valid UTF-8 (first bad byte at offset ${firstInvalidUtf8Offset(body)}). ` +
        'Re-save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8`).',
      { input: file, cause },
    );
  }
  return normaliseLineEndings(text);
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
