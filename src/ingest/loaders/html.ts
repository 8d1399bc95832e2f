import { type HtmlEvent, htmlEvents } from './html-events.js';
import type { Loader } from './loader.js';
import { decodeTextFile } from './text-decoding.js';

/** HTML pages, rendered to readable Markdown-like text (see `htmlToText`). */
export const htmlLoader: Loader = {
  format: 'html',
  extensions: ['.html', '.htm'],
  async load(bytes, file) {
    return htmlToText(decodeTextFile(bytes, file));
  },
};

/** Elements whose content is never document text. */
const DROPPED = new Set([
  'script',
  'style',
  'nav',
  'aside',
  'noscript',
  'template',
  'head',
  'svg',
  'canvas',
  'iframe',
  'object',
  'select',
  'button',
]);
/** Sectioning elements inside which <header>/<footer> belong to the content rather than to the page chrome. */
const SECTIONING = new Set(['article', 'aside', 'main', 'nav', 'section']);
const BLOCK = new Set([
  'address',
  'article',
  'blockquote',
  'body',
  'caption',
  'dd',
  'details',
  'dialog',
  'div',
  'dl',
  'dt',
  'fieldset',
  'figcaption',
  'figure',
  'footer',
  'form',
  'header',
  'hgroup',
  'hr',
  'html',
  'legend',
  'main',
  'p',
  'section',
  'summary',
]);

interface Block {
  text: string;
  /** Items of one list (rows of one table) share a group and are separated by one line break, not a blank line. */
  group?: number;
}

/**
 * Renders HTML as readable text: page chrome (script, style, nav, aside, page-level header/footer, noscript,
 * template) is dropped, headings become Markdown `#` lines so the Markdown-aware chunker splits at them, paragraphs
 * and lists are separated by blank lines, list items become `- ` lines, table rows `a | b` lines, and entities are
 * decoded. The title is the <title>, or else the first <h1>. One pass over `htmlEvents` with an explicit stack, so
 * time is linear in the page and nesting depth never reaches the call stack.
 */
export function htmlToText(html: string): { text: string; title?: string } {
  const renderer = new HtmlTextRenderer();
  for (const event of htmlEvents(html)) renderer.take(event);
  const text = renderer.finish();
  const title = collapse(renderer.title ?? '') || renderer.firstH1;
  return title ? { text, title } : { text };
}

/** Where rendered text goes: the page, or a detached piece (a heading, a table cell) or a <pre> block. */
class TextSink {
  readonly blocks: Block[] = [];
  inline: string[] = [];
  listDepth = 0;
  /** Set while inside a list item: the next flushed text becomes the item's `- ` line. */
  itemPrefix: string | undefined;
  group = 0;

  /**
   * `detached` sinks (a heading, a table cell) render what nests inside them inline, so no text is re-rendered
   * once per level of nesting.
   */
  constructor(readonly kind: 'page' | 'detached' | 'preformatted' = 'page') {}

  get preformatted(): boolean {
    return this.kind === 'preformatted';
  }

  add(text: string): void {
    // Line breaks in the source are plain whitespace in HTML; only <br> breaks a line.
    this.inline.push(this.preformatted ? text : text.replace(/\s+/g, ' '));
  }

  lineBreak(): void {
    this.inline.push('\n');
  }

  flush(): void {
    if (this.inline.length === 0) return;
    const lines = this.inline.join('').split('\n').map(collapse).filter(Boolean);
    this.inline = [];
    if (lines.length === 0) return;
    if (this.itemPrefix === undefined) {
      this.blocks.push({ text: lines.join('\n') });
    } else {
      this.blocks.push({ text: this.itemPrefix + lines.join(' '), group: this.group });
      this.itemPrefix = undefined;
    }
  }

  finish(): string {
    this.flush();
    const out: string[] = [];
    this.blocks.forEach((block, i) => {
      const previous = this.blocks[i - 1];
      if (previous) out.push(block.group !== undefined && previous.group === block.group ? '\n' : '\n\n');
      out.push(block.text);
    });
    return out.join('');
  }
}

/** One open element: what its close does. */
interface Frame {
  name: string;
  sectioning: boolean;
  /** Cells of an open <tr>; its element children render detached into it. */
  cells?: string[];
  /** Cells met so far in a <tr> inside a detached sink, whose cells are rendered inline between ` | `. */
  inlineCells?: number;
  close?: () => void;
}

class HtmlTextRenderer {
  private readonly frames: Frame[] = [];
  private readonly sinks: TextSink[] = [new TextSink()];
  /** Depth of the frame of a dropped element while its content is skipped. */
  private skipFrom = -1;
  private inTitle = false;
  private svgDepth = 0;
  title: string | undefined;
  firstH1: string | undefined;

  take(event: HtmlEvent): void {
    if (event.type === 'open') this.open(event.name, event.attributes);
    else if (event.type === 'close') this.close();
    else this.text(event.text);
  }

  finish(): string {
    return this.sinks[0]!.finish();
  }

  private get sink(): TextSink {
    return this.sinks[this.sinks.length - 1]!;
  }

  private text(text: string): void {
    if (this.inTitle) {
      if (this.title === undefined) this.title = text;
      return;
    }
    if (this.skipFrom >= 0) return;
    // Text between the cells of a row is not part of any cell.
    if (this.frames[this.frames.length - 1]?.cells) return;
    this.sink.add(text);
  }

  private open(name: string, attributes: Readonly<Record<string, string>>): void {
    const parent = this.frames[this.frames.length - 1];
    const insideSectioning = parent?.sectioning ?? false;
    const frame: Frame = { name, sectioning: insideSectioning || SECTIONING.has(name) };
    const depth = this.frames.length;
    this.frames.push(frame);
    if (name === 'svg') this.svgDepth++;
    if (name === 'title' && this.svgDepth === 0) this.inTitle = true;
    if (this.skipFrom >= 0) return;
    if (
      DROPPED.has(name) ||
      'hidden' in attributes ||
      ((name === 'header' || name === 'footer') && !insideSectioning) ||
      name === 'title'
    ) {
      this.skipFrom = depth;
      return;
    }
    if (parent?.inlineCells !== undefined) {
      if (parent.inlineCells++ > 0) this.sink.add(' | ');
      return;
    }
    if (parent?.cells) {
      const cells = parent.cells;
      this.detach(frame, (text) => {
        const cell = collapse(text.replace(/\n/g, ' '));
        if (cell) cells.push(cell);
      });
      return;
    }
    const sink = this.sink;
    if (sink.preformatted) {
      if (name === 'br') sink.lineBreak();
      return;
    }
    if (sink.kind === 'detached') {
      if (name === 'br') sink.lineBreak();
      else if (name === 'tr') {
        frame.inlineCells = 0;
        sink.add(' ');
      } else if (name === 'li' || BLOCK.has(name) || /^h[1-6]$|^pre$/.test(name)) sink.add(' ');
      return;
    }
    const heading = /^h([1-6])$/.exec(name);
    if (heading) {
      this.detach(frame, (rendered) => {
        const text = collapse(rendered);
        if (!text) return;
        sink.flush();
        sink.blocks.push({ text: `${'#'.repeat(Number(heading[1]))} ${text}` });
        if (heading[1] === '1' && this.firstH1 === undefined) this.firstH1 = text;
      });
      return;
    }
    switch (name) {
      case 'br':
        sink.lineBreak();
        return;
      case 'pre': {
        sink.flush();
        const pre = new TextSink('preformatted');
        this.sinks.push(pre);
        frame.close = () => {
          this.sinks.pop();
          const code = pre.inline.join('').replace(/^\n/, '').replace(/\s+$/, '');
          if (code.trim()) sink.blocks.push({ text: '```\n' + code + '\n```' });
        };
        return;
      }
      case 'ul':
      case 'ol':
        sink.flush();
        if (sink.listDepth === 0) sink.group++;
        sink.listDepth++;
        frame.close = () => {
          sink.listDepth--;
          sink.flush();
        };
        return;
      case 'li':
        sink.flush();
        sink.itemPrefix = `${'  '.repeat(Math.max(0, sink.listDepth - 1))}- `;
        frame.close = () => sink.flush();
        return;
      case 'tr': {
        sink.flush();
        const cells: string[] = [];
        frame.cells = cells;
        frame.close = () => {
          if (cells.length > 0) sink.blocks.push({ text: cells.join(' | '), group: sink.group });
        };
        return;
      }
      case 'table':
      case 'thead':
      case 'tbody':
      case 'tfoot':
        sink.flush();
        if (name === 'table') sink.group++;
        frame.close = () => sink.flush();
        return;
    }
    if (BLOCK.has(name)) {
      sink.flush();
      frame.close = () => sink.flush();
    }
  }

  /** Renders the element's content into a sink of its own, handed to `done` when the element closes. */
  private detach(frame: Frame, done: (text: string) => void): void {
    const inner = new TextSink('detached');
    this.sinks.push(inner);
    frame.close = () => {
      this.sinks.pop();
      done(inner.finish());
    };
  }

  private close(): void {
    const frame = this.frames.pop()!;
    if (frame.name === 'svg') this.svgDepth--;
    if (frame.name === 'title') this.inTitle = false;
    if (this.skipFrom >= 0) {
      if (this.frames.length === this.skipFrom) this.skipFrom = -1;
      return;
    }
    frame.close?.();
  }
}

function collapse(text: string): string {
  return text.replace(/[\s\u00a0]+/g, ' ').trim();
}
