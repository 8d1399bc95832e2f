/** One Markdown heading: ATX (`## Title`) or setext (`Title` underlined with `===` or `---`). */
export interface MarkdownHeading {
  level: number;
  /** Heading text without markers and simple inline formatting. */
  text: string;
  /** Offset of the heading's first line. */
  start: number;
  /** Offset just after the heading (after the underline for setext headings), before its line break. */
  end: number;
}

const ATX = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const SETEXT_UNDERLINE = /^ {0,3}(=+|-+)[ \t]*$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;
/** Lines that start a list item, quote or table row rather than a paragraph. */
const BLOCK_START = /^ {0,3}([-*+>|]|\d+[.)](\s|$))/;

/**
 * Headings of a Markdown (or HTML-rendered-as-Markdown) text, in order.
 * Lines inside fenced code blocks and a leading YAML front matter block are not headings.
 */
export function findMarkdownHeadings(text: string): MarkdownHeading[] {
  const headings: MarkdownHeading[] = [];
  let fence: string | undefined;
  let previous: { start: number; end: number; text: string; isParagraph: boolean } | undefined;
  let lineStart = skipFrontMatter(text);
  while (lineStart <= text.length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd === -1) lineEnd = text.length;
    const line = text.slice(lineStart, lineEnd);
    let isParagraph = false;
    const fenceMatch = FENCE.exec(line);
    if (fence !== undefined) {
      if (fenceMatch && fenceMatch[1]![0] === fence[0] && fenceMatch[1]!.length >= fence.length)
        fence = undefined;
    } else if (fenceMatch) {
      fence = fenceMatch[1]!;
    } else {
      const atx = ATX.exec(line);
      const underline = SETEXT_UNDERLINE.exec(line);
      if (atx) {
        headings.push({
          level: atx[1]!.length,
          text: plainHeadingText(atx[2] ?? ''),
          start: lineStart,
          end: lineEnd,
        });
      } else if (underline && previous?.isParagraph) {
        headings.push({
          level: underline[1]![0] === '=' ? 1 : 2,
          text: plainHeadingText(previous.text),
          start: previous.start,
          end: lineEnd,
        });
      } else {
        // A setext heading's text is a single ordinary line after a blank line (or at the start).
        isParagraph =
          line.trim() !== '' &&
          !BLOCK_START.test(line) &&
          (previous === undefined || previous.text.trim() === '');
      }
    }
    previous = { start: lineStart, end: lineEnd, text: line, isParagraph };
    lineStart = lineEnd + 1;
  }
  return headings.filter((h) => h.text !== '');
}

/** The first level-1 heading's text, the conventional title of a Markdown document. */
export function firstMarkdownH1(text: string): string | undefined {
  return findMarkdownHeadings(text).find((h) => h.level === 1)?.text;
}

/** Strips links, images, emphasis and code markers from heading text. */
export function plainHeadingText(raw: string): string {
  return raw
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/(\*\*|__|\*|_|`)(.+?)\1/g, '$2')
    .replace(/\s+/g, ' ')
    .trim();
}

function skipFrontMatter(text: string): number {
  if (!text.startsWith('---\n')) return 0;
  const close = /\n(---|\.\.\.)[ \t]*(\n|$)/.exec(text.slice(3));
  return close ? 3 + close.index + close[0].length : 0;
}
