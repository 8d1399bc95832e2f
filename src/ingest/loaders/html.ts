import { type HTMLElement, type Node, NodeType, parse } from 'node-html-parser';
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
 * decoded. The title is the <title>, or else the first <h1>.
 */
export function htmlToText(html: string): { text: string; title?: string } {
  // The parser keeps a doctype or XML declaration as text.
  const root = parse(html.replace(/^\s*(<\?xml[^>]*>\s*)?(<!doctype[^>]*>)?/i, ''), {
    comment: false,
    // Raw-text elements: parse their content as text, not markup (it is dropped or kept verbatim).
    blockTextElements: {
      script: true,
      style: true,
      noscript: true,
      template: true,
      pre: true,
      textarea: true,
    },
  });
  const renderer = new HtmlTextRenderer();
  renderer.render(root, false);
  const text = renderer.finish();
  const title = collapse(root.querySelector('title')?.text ?? '') || renderer.firstH1;
  return title ? { text, title } : { text };
}

class HtmlTextRenderer {
  private readonly blocks: Block[] = [];
  private inline = '';
  private listDepth = 0;
  /** Set while inside a list item: the next flushed text becomes the item's `- ` line. */
  private itemPrefix: string | undefined;
  private group = 0;
  firstH1: string | undefined;

  render(node: Node, insideSectioning: boolean): void {
    if (node.nodeType === NodeType.TEXT_NODE) {
      // Line breaks in the source are plain whitespace in HTML; only <br> breaks a line.
      this.inline += node.text.replace(/\s+/g, ' ');
      return;
    }
    if (node.nodeType !== NodeType.ELEMENT_NODE) return;
    const element = node as HTMLElement;
    const tag = element.rawTagName?.toLowerCase() ?? '';
    if (DROPPED.has(tag) || element.hasAttribute('hidden')) return;
    if ((tag === 'header' || tag === 'footer') && !insideSectioning) return;
    const inSection = insideSectioning || SECTIONING.has(tag);

    const heading = /^h([1-6])$/.exec(tag);
    if (heading) {
      const text = collapse(this.renderDetached(element, inSection));
      if (text) {
        this.flush();
        this.blocks.push({ text: `${'#'.repeat(Number(heading[1]))} ${text}` });
        if (heading[1] === '1' && this.firstH1 === undefined) this.firstH1 = text;
      }
      return;
    }
    switch (tag) {
      case 'br':
        this.inline += '\n';
        return;
      case 'pre': {
        this.flush();
        const code = element.text.replace(/^\n/, '').replace(/\s+$/, '');
        if (code.trim()) this.blocks.push({ text: '```\n' + code + '\n```' });
        return;
      }
      case 'ul':
      case 'ol':
        this.flush();
        if (this.listDepth === 0) this.group++;
        this.listDepth++;
        this.renderChildren(element, inSection);
        this.listDepth--;
        this.flush();
        return;
      case 'li':
        this.flush();
        this.itemPrefix = `${'  '.repeat(Math.max(0, this.listDepth - 1))}- `;
        this.renderChildren(element, inSection);
        this.flush();
        return;
      case 'tr': {
        this.flush();
        const cells = element.childNodes
          .filter((c): c is HTMLElement => c.nodeType === NodeType.ELEMENT_NODE)
          .map((cell) => collapse(this.renderDetached(cell, inSection).replace(/\n/g, ' ')))
          .filter(Boolean);
        if (cells.length > 0) this.blocks.push({ text: cells.join(' | '), group: this.group });
        return;
      }
      case 'table':
      case 'thead':
      case 'tbody':
      case 'tfoot':
        this.flush();
        if (tag === 'table') this.group++;
        this.renderChildren(element, inSection);
        this.flush();
        return;
      case 'title':
        return;
    }
    const block = BLOCK.has(tag);
    if (block) this.flush();
    this.renderChildren(element, inSection);
    if (block) this.flush();
  }

  finish(): string {
    this.flush();
    let out = '';
    this.blocks.forEach((block, i) => {
      const previous = this.blocks[i - 1];
      if (previous) out += block.group !== undefined && previous.group === block.group ? '\n' : '\n\n';
      out += block.text;
    });
    return out;
  }

  private renderChildren(element: HTMLElement, insideSectioning: boolean): void {
    for (const child of element.childNodes) this.render(child, insideSectioning);
  }

  /** Renders an element's content into a string of its own (for headings, list items and cells). */
  private renderDetached(element: HTMLElement, insideSectioning: boolean): string {
    const inner = new HtmlTextRenderer();
    inner.renderChildren(element, insideSectioning);
    return inner.finish();
  }

  private flush(): void {
    const lines = this.inline.split('\n').map(collapse).filter(Boolean);
    this.inline = '';
    if (lines.length === 0) return;
    if (this.itemPrefix === undefined) {
      this.blocks.push({ text: lines.join('\n') });
    } else {
      this.blocks.push({ text: this.itemPrefix + lines.join(' '), group: this.group });
      this.itemPrefix = undefined;
    }
  }
}

function collapse(text: string): string {
  return text.replace(/[\s\u00a0]+/g, ' ').trim();
}
