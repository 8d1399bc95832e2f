import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { htmlToText, loadFile } from '../../src/ingest/index.js';

const corpus = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/corpus');

describe('htmlToText', () => {
  it('drops script, style, nav, aside, noscript and template content', () => {
    const { text } =
      htmlToText(`<html><head><style>.x{color:red}</style><script>var secret = 1;</script></head>
      <body><nav><a href="/">Home menu</a></nav><p>Visible text.</p><aside>Sidebar ad</aside>
      <noscript>Enable JavaScript</noscript><template><p>Template row</p></template>
      <script type="module">import('x')</script></body></html>`);
    expect(text).toBe('Visible text.');
  });

  it('drops the page-level header and footer but keeps an article header with its heading', () => {
    const { text } = htmlToText(`<body><header><div>Site banner</div></header>
      <article><header><h1>Article title</h1></header><p>Body.</p><footer>Article byline</footer></article>
      <footer>© Site footer</footer></body>`);
    expect(text).toBe('# Article title\n\nBody.\n\nArticle byline');
  });

  it('turns headings into Markdown # lines and separates blocks by blank lines', () => {
    const { text } = htmlToText(
      '<h1>Top</h1><p>One.</p><h2>Sub <em>part</em></h2><div>Two.</div><h3>Deep</h3><p>Three.</p>',
    );
    expect(text).toBe('# Top\n\nOne.\n\n## Sub part\n\nTwo.\n\n### Deep\n\nThree.');
  });

  it('renders list items as - lines, one list per block, nested lists indented', () => {
    const { text } = htmlToText(
      '<ul><li>one</li><li>two<ul><li>inner</li></ul></li></ul><ol><li>first</li></ol>',
    );
    expect(text).toBe('- one\n- two\n  - inner\n\n- first');
  });

  it('decodes entities and collapses source whitespace, keeping <br> line breaks', () => {
    const { text } = htmlToText(
      '<p>Fish &amp; chips &lt;3&gt; caf&eacute; &#8212;&nbsp;done\n   here.<br>Next line.</p>',
    );
    expect(text).toBe('Fish & chips <3> café — done here.\nNext line.');
  });

  it('renders table rows as cells joined by |, and keeps preformatted text in a fence', () => {
    const { text } = htmlToText(
      '<table><tr><th>A</th><th>B</th></tr><tr><td>1</td><td>2</td></tr></table><pre>  # code\n  line</pre>',
    );
    expect(text).toBe('A | B\n1 | 2\n\n```\n  # code\n  line\n```');
  });

  it('takes the title from <title>, else from the first <h1>', () => {
    expect(htmlToText('<title> The   Page </title><h1>Heading</h1>').title).toBe('The Page');
    expect(htmlToText('<h2>Not this</h2><h1>Heading one</h1>').title).toBe('Heading one');
    expect(htmlToText('<p>no title</p>').title).toBeUndefined();
  });

  it('ignores the doctype and elements marked hidden', () => {
    expect(htmlToText('<!DOCTYPE html><p>Shown</p><div hidden>Hidden</div>').text).toBe('Shown');
  });
});

describe('HTML files', () => {
  it('loads the demo keeper page without its menu, styles, scripts, sidebar or site footer', async () => {
    const file = path.join(corpus, 'lighthouse-keepers.html');
    const doc = await loadFile(file, { root: corpus });
    expect(doc.id).toBe('lighthouse-keepers.html');
    expect(doc.format).toBe('html');
    expect(doc.metadata['x-localkb-title']).toBe('Life of a Lighthouse Keeper');
    expect(doc.text.startsWith('# Life of a Lighthouse Keeper\n\n')).toBe(true);
    expect(doc.text).toContain('\n## The Flannan Isles mystery\n');
    expect(doc.text).toContain('nicknamed “wickies”');
    expect(doc.text).toContain('Eilean Mòr');
    const source = await readFile(file, 'utf8');
    for (const dropped of [
      'DOMContentLoaded',
      'font-family',
      'Related pages',
      'Back to top',
      'analytics',
      'Keepers\n',
    ]) {
      expect(source.includes(dropped.trim())).toBe(true);
      expect(doc.text).not.toContain(dropped);
    }
  });

  it('rejects an .html file that has no text once the page chrome is dropped as EMPTY_DOCUMENT', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'localkb-html-'));
    try {
      const file = path.join(dir, 'chrome-only.html');
      await writeFile(file, '<html><head><script>x()</script></head><body><nav>menu</nav></body></html>');
      await expect(loadFile(file)).rejects.toMatchObject({ code: 'EMPTY_DOCUMENT', input: file });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
