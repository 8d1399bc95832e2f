/**
 * A page's text from pdf.js text items. pdf.js marks most line ends (`hasEOL`) and most word gaps (space items);
 * what it misses are breaks between separately drawn runs, found here from positions: a baseline that moves by more
 * than half the text height starts a new line, a horizontal gap wider than a third of it is a space.
 */

/** The fields of pdf.js's TextItem this file reads; marked-content items (no `str`) are skipped. */
export interface PdfTextItem {
  str: string;
  /** The text matrix: [a, b, c, d, x, y] in PDF units. */
  transform: number[];
  width: number;
  height: number;
  hasEOL: boolean;
}

const NEW_LINE_FRACTION = 0.5;
const SPACE_FRACTION = 0.3;

export function pageTextFromItems(items: ReadonlyArray<PdfTextItem | object>): string {
  let text = '';
  let previous: { end: number; y: number; size: number } | undefined;
  for (const item of items) {
    if (!('str' in item)) continue;
    const [a = 0, b = 0, c = 0, d = 0, x = 0, y = 0] = item.transform;
    // Rotated or scaled text: the height the matrix gives, when pdf.js reports none.
    const size = item.height || Math.hypot(c, d) || Math.hypot(a, b);
    if (previous && item.str !== '' && !/\s$/.test(text)) {
      const lineSize = Math.max(previous.size, size);
      if (Math.abs(y - previous.y) > lineSize * NEW_LINE_FRACTION) text += '\n';
      else if (x - previous.end > lineSize * SPACE_FRACTION && !/^\s/.test(item.str)) text += ' ';
    }
    text += item.str;
    if (item.hasEOL) text += '\n';
    if (item.str !== '' || item.hasEOL) previous = { end: x + item.width, y, size };
  }
  return text;
}
