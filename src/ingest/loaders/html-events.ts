import { decodeHTML, decodeHTMLAttribute } from 'entities';

/**
 * HTML as a flat stream of balanced element events, in one linear pass and without recursion, so neither a
 * page of unclosed elements nor nesting 100,000 levels deep costs more than its length: every `open` has its
 * `close` (implied ones included, as browsers imply them: a new <li> closes the open one, a block closes an
 * open <p>, the end of the page closes everything), text comes with entities decoded, comments and
 * doctypes are skipped, and raw-text elements (script, style, textarea, title…) keep their content as text.
 */
export type HtmlEvent =
  | { type: 'open'; name: string; attributes: Readonly<Record<string, string>> }
  | { type: 'close'; name: string }
  | { type: 'text'; text: string };

const VOID = new Set([
  'area',
  'base',
  'br',
  'col',
  'embed',
  'hr',
  'img',
  'input',
  'keygen',
  'link',
  'meta',
  'param',
  'source',
  'track',
  'wbr',
]);

/** Elements whose content is text up to their own end tag, never markup. */
const RAW_TEXT = new Set([
  'script',
  'style',
  'textarea',
  'title',
  'xmp',
  'noscript',
  'noembed',
  'noframes',
  'iframe',
]);

/** Opening one of these closes an open <p> (HTML's "close a p element"). */
const CLOSES_P = new Set([
  'address',
  'article',
  'aside',
  'blockquote',
  'details',
  'dialog',
  'div',
  'dl',
  'fieldset',
  'figcaption',
  'figure',
  'footer',
  'form',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'header',
  'hgroup',
  'hr',
  'main',
  'menu',
  'nav',
  'ol',
  'p',
  'pre',
  'section',
  'table',
  'ul',
]);

/**
 * For an element that implies the end of an earlier one: which open elements it closes, and which open
 * elements stop the search (the earlier one belongs to an outer structure then).
 */
const IMPLIED_END: Readonly<Record<string, { closes: ReadonlySet<string>; boundary: ReadonlySet<string> }>> =
  {
    li: { closes: new Set(['li']), boundary: new Set(['ul', 'ol', 'menu', 'table']) },
    dt: { closes: new Set(['dt', 'dd']), boundary: new Set(['dl', 'table']) },
    dd: { closes: new Set(['dt', 'dd']), boundary: new Set(['dl', 'table']) },
    tr: { closes: new Set(['tr', 'td', 'th']), boundary: new Set(['table', 'thead', 'tbody', 'tfoot']) },
    td: { closes: new Set(['td', 'th']), boundary: new Set(['tr', 'table']) },
    th: { closes: new Set(['td', 'th']), boundary: new Set(['tr', 'table']) },
    thead: { closes: new Set(['thead', 'tbody', 'tfoot', 'tr', 'td', 'th']), boundary: new Set(['table']) },
    tbody: { closes: new Set(['thead', 'tbody', 'tfoot', 'tr', 'td', 'th']), boundary: new Set(['table']) },
    tfoot: { closes: new Set(['thead', 'tbody', 'tfoot', 'tr', 'td', 'th']), boundary: new Set(['table']) },
    option: { closes: new Set(['option']), boundary: new Set(['select', 'datalist', 'optgroup']) },
  };
const P_BOUNDARY = new Set(['button', 'table', 'td', 'th', 'li', 'dd', 'dt', 'caption']);

/** How far down the open elements an implied end is looked for; bounded, so each open costs O(1). */
const IMPLIED_END_WINDOW = 64;

const TAG_NAME = /[^\s/>]+/y;
const ATTRIBUTE = /\s*([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?|\s*\//y;

export function* htmlEvents(html: string): Generator<HtmlEvent> {
  const open: string[] = [];
  /** Open elements per name: a close tag for a name with none open is ignored in O(1). */
  const openCount = new Map<string, number>();
  const push = (name: string) => {
    open.push(name);
    openCount.set(name, (openCount.get(name) ?? 0) + 1);
  };
  const pop = (): string => {
    const name = open.pop()!;
    openCount.set(name, openCount.get(name)! - 1);
    return name;
  };
  /**
   * Closes the outermost open element in `closes` that lies above any `boundary`, within the window, and every
   * element opened inside it (a new <tr> ends the open <td> and its <tr>).
   */
  function* closeImplied(closes: ReadonlySet<string>, boundary: ReadonlySet<string>): Generator<HtmlEvent> {
    let anyOpen = false;
    for (const name of closes) if ((openCount.get(name) ?? 0) > 0) anyOpen = true;
    if (!anyOpen) return;
    const lowest = Math.max(0, open.length - IMPLIED_END_WINDOW);
    let target = -1;
    for (let i = open.length - 1; i >= lowest; i--) {
      const name = open[i]!;
      if (boundary.has(name)) break;
      if (closes.has(name)) target = i;
    }
    if (target >= 0) while (open.length > target) yield { type: 'close', name: pop() };
  }

  let at = 0;
  const length = html.length;
  while (at < length) {
    const lt = html.indexOf('<', at);
    if (lt === -1) {
      yield { type: 'text', text: decodeHTML(html.slice(at)) };
      break;
    }
    if (lt > at) yield { type: 'text', text: decodeHTML(html.slice(at, lt)) };
    at = lt;
    const next = html.charCodeAt(at + 1);
    if (html.startsWith('<!--', at)) {
      const end = html.indexOf('-->', at + 4);
      at = end === -1 ? length : end + 3;
      continue;
    }
    if (next === 0x21 /* ! */ || next === 0x3f /* ? */) {
      const end = html.indexOf('>', at + 2);
      at = end === -1 ? length : end + 1;
      continue;
    }
    const closing = next === 0x2f; /* / */
    TAG_NAME.lastIndex = at + (closing ? 2 : 1);
    const nameMatch = isLetter(html.charCodeAt(TAG_NAME.lastIndex)) ? TAG_NAME.exec(html) : null;
    if (!nameMatch) {
      yield { type: 'text', text: '<' };
      at += 1;
      continue;
    }
    const name = nameMatch[0].toLowerCase();
    at = TAG_NAME.lastIndex;
    const attributes: Record<string, string> = {};
    for (;;) {
      ATTRIBUTE.lastIndex = at;
      const attribute = ATTRIBUTE.exec(html);
      if (!attribute || attribute[0].length === 0) break;
      at = ATTRIBUTE.lastIndex;
      const key = attribute[1]?.toLowerCase();
      if (key !== undefined && !(key in attributes)) {
        attributes[key] = decodeHTMLAttribute(attribute[2] ?? attribute[3] ?? attribute[4] ?? '');
      }
    }
    const gt = html.indexOf('>', at);
    at = gt === -1 ? length : gt + 1;

    if (closing) {
      if (name === 'br') {
        yield { type: 'open', name, attributes: {} };
        yield { type: 'close', name };
        continue;
      }
      if ((openCount.get(name) ?? 0) === 0) continue;
      // pops stop at the element itself: each element is pushed once and popped once, so this is amortised O(1)
      for (;;) {
        const popped = pop();
        yield { type: 'close', name: popped };
        if (popped === name) break;
      }
      continue;
    }

    if (CLOSES_P.has(name)) yield* closeImplied(P_SET, P_BOUNDARY);
    const implied = IMPLIED_END[name];
    if (implied) yield* closeImplied(implied.closes, implied.boundary);
    // Only a heading that is the current element is ended by a new one (<h1><a><h2> nests, as in browsers).
    if (HEADINGS.has(name) && HEADINGS.has(open[open.length - 1] ?? '')) yield { type: 'close', name: pop() };
    yield { type: 'open', name, attributes };
    if (VOID.has(name)) {
      yield { type: 'close', name };
      continue;
    }
    if (RAW_TEXT.has(name)) {
      const end = new RegExp(`</${name}[\\s/>]`, 'gi');
      end.lastIndex = at;
      const found = end.exec(html);
      const contentEnd = found ? found.index : length;
      if (contentEnd > at) {
        const raw = html.slice(at, contentEnd);
        yield { type: 'text', text: name === 'textarea' || name === 'title' ? decodeHTML(raw) : raw };
      }
      yield { type: 'close', name };
      const gtAfter = found ? html.indexOf('>', found.index) : -1;
      at = gtAfter === -1 ? length : gtAfter + 1;
      continue;
    }
    push(name);
  }
  while (open.length > 0) yield { type: 'close', name: pop() };
}

const P_SET = new Set(['p']);
const HEADINGS = new Set(['h1', 'h2', 'h3', 'h4', 'h5', 'h6']);

function isLetter(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}
