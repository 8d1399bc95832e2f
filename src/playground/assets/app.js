// The localkb playground page: five views over the playground's JSON API, routed by the URL so any view can be
// shared and reloaded. Plain DOM, no framework, nothing loaded from the network beyond this origin.
import { barChart, curveChart, differenceChart, PALETTE } from './charts.js';

const state = { info: null, evalRuns: loadEvalRuns() };

// ——— small DOM and API helpers ———

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else if (name === 'class') node.className = value;
    else if (name === 'text') node.textContent = value;
    else if (['value', 'checked', 'disabled', 'selected', 'multiple'].includes(name)) node[name] = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

class ApiError extends Error {
  constructor(error, status) {
    super(error?.message ?? `HTTP ${status}`);
    this.code = error?.code ?? 'HTTP_ERROR';
    this.input = error?.input;
    this.status = status;
  }
}

async function api(path, { method = 'GET', body } = {}) {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(data.error, response.status);
  return data;
}

/** Newline-delimited JSON events from a POST. */
async function* apiStream(path, body) {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    const data = await response.json().catch(() => ({}));
    throw new ApiError(data.error, response.status);
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let newline = buffered.indexOf('\n');
    while (newline !== -1) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line) yield JSON.parse(line);
      newline = buffered.indexOf('\n');
    }
  }
  if (buffered.trim()) yield JSON.parse(buffered);
}

function errorBox(error) {
  const code = error?.code ? h('code', {}, `[${error.code}] `) : null;
  return h('div', { class: 'error-box', role: 'alert' }, code, error?.message ?? String(error));
}

function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

const formatMs = (ms) =>
  ms === undefined ? '—' : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
const formatBytes = (bytes) => {
  if (typeof bytes !== 'number' || !Number.isFinite(bytes)) return '—';
  const units = ['B', 'KB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
};
const formatCost = (cost) => (cost ? `$${cost.totalCost.toPrecision(3)}` : undefined);

function field(label, control, extra = {}) {
  return h('label', extra, label, control);
}

function select(options, value, attrs = {}) {
  const node = h(
    'select',
    attrs,
    options
      .map((o) => (typeof o === 'string' ? { value: o, label: o } : o))
      .map((o) => h('option', { value: o.value }, o.label)),
  );
  if (value !== undefined && value !== null && [...node.options].some((o) => o.value === String(value)))
    node.value = String(value);
  return node;
}

// ——— routing ———

const VIEWS = {
  '/': searchView,
  '/search': searchView,
  '/ask': askView,
  '/prompts': promptsView,
  '/eval': evalView,
  '/store': storeView,
  '/document': documentView,
};
const NAV_OF = { '/': 'search', '/document': 'search' };

function navigate(url) {
  history.pushState(null, '', url);
  render();
}

/** Records a view's state in the URL without redrawing it. */
function remember(path, params, { push = true } = {}) {
  const url = `${path}?${params}`;
  if (`${location.pathname}${location.search}` === url) return;
  history[push ? 'pushState' : 'replaceState'](null, '', url);
}

async function render() {
  const main = document.getElementById('view');
  const view = VIEWS[location.pathname] ?? searchView;
  const current = NAV_OF[location.pathname] ?? location.pathname.slice(1);
  for (const link of document.querySelectorAll('nav a[data-view]')) {
    if (link.dataset.view === current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  main.replaceChildren();
  try {
    await view(main, new URLSearchParams(location.search));
  } catch (error) {
    main.append(errorBox(error));
  }
}

document.addEventListener('click', (event) => {
  const link = event.target.closest?.('a[data-nav]');
  if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(link.getAttribute('href'));
});
window.addEventListener('popstate', render);

// ——— shared pieces: results, highlights, citations ———

function highlighted(text, ranges = []) {
  const nodes = [];
  let at = 0;
  for (const [start, end] of ranges) {
    if (start < at) continue;
    nodes.push(text.slice(at, start), h('mark', {}, text.slice(start, end)));
    at = end;
  }
  nodes.push(text.slice(at));
  return nodes;
}

function basename(uri) {
  try {
    const path = decodeURIComponent(new URL(uri).pathname);
    return path.slice(path.lastIndexOf('/') + 1) || uri;
  } catch {
    return uri;
  }
}

function sourceLabel(result) {
  const page = result.location?.page;
  return `${basename(result.location?.uri ?? result.documentId ?? '')}${page === undefined ? '' : ` · page ${page}`}`;
}

function documentHref(result, query) {
  if (!state.info.documents || !result.documentId) return undefined;
  const params = new URLSearchParams({ id: result.documentId });
  if (result.location?.start !== undefined) params.set('start', result.location.start);
  if (result.location?.end !== undefined) params.set('end', result.location.end);
  if (query) params.set('q', query);
  return `/document?${params}`;
}

/** Each search side's rank and score for a hybrid result, where the knowledge base reports them. */
function sidesOf(result) {
  const sides = result.sides ?? result.hybrid;
  if (!sides || typeof sides !== 'object') return [];
  return ['semantic', 'bm25']
    .filter((name) => sides[name])
    .map((name) => ({ name, rank: sides[name].rank, score: sides[name].score }));
}

function scoreBar(score) {
  const fill = h('span', { class: 'bar-fill' });
  fill.style.width = `${Math.max(0, Math.min(1, score)) * 100}%`;
  return h('span', { class: 'bar', title: 'score, normalised to [0, 1]' }, fill);
}

function metadataTable(metadata) {
  const entries = Object.entries(metadata ?? {});
  return h(
    'details',
    {},
    h('summary', {}, `metadata (${entries.length})`),
    h(
      'table',
      { class: 'meta' },
      h(
        'tbody',
        {},
        entries.map(([key, value]) =>
          h('tr', {}, h('td', {}, key), h('td', {}, Array.isArray(value) ? value.join(', ') : String(value))),
        ),
      ),
    ),
  );
}

function resultCard(result, index, query) {
  const href = documentHref(result, query);
  const sides = sidesOf(result);
  return h(
    'article',
    { class: 'card result', 'data-chunk-id': result.chunkId },
    h(
      'div',
      { class: 'card-head' },
      h('span', { class: 'rank' }, `#${index + 1}`),
      h('span', { class: 'score' }, scoreBar(result.score), h('b', {}, result.score.toFixed(3))),
      result.rawScore === undefined
        ? null
        : h(
            'span',
            { class: 'muted small', title: 'score before normalisation' },
            `raw ${Number(result.rawScore).toPrecision(4)}`,
          ),
      sides.map((side) =>
        h(
          'span',
          { class: 'side', title: `${side.name} side of the hybrid search` },
          `${side.name} #${side.rank ?? '—'} · ${side.score === undefined ? '—' : Number(side.score).toFixed(3)}`,
        ),
      ),
      h('span', { class: 'source' }, sourceLabel(result)),
      href
        ? h('a', { class: 'open', href, 'data-nav': true }, 'Open in document →')
        : h('span', { class: 'open muted small' }, result.location?.uri ?? ''),
    ),
    h('div', { class: 'chunk' }, highlighted(result.content.text, result.highlights)),
    metadataTable(result.metadata),
  );
}

/** Where a citation's text is in the answer; tolerant of exclusive or inclusive span ends. */
function citationRange(text, citation) {
  const start = citation.span?.start ?? 0;
  if (citation.text && text.startsWith(citation.text, start)) return [start, start + citation.text.length];
  const found = citation.text ? text.indexOf(citation.text) : -1;
  if (found !== -1) return [found, found + citation.text.length];
  return [start, Math.min(text.length, (citation.span?.end ?? start) + 1)];
}

function sourceNumber(sources, reference) {
  const i = sources.findIndex(
    (s) => s.chunkId === reference.chunkId && s.documentId === reference.documentId,
  );
  return i === -1 ? '?' : String(i + 1);
}

/** The answer with each cited span a button that shows its references. */
function answerWithCitations(text, citations, sources, panel, query) {
  const ranges = citations
    .map((citation) => ({ citation, range: citationRange(text, citation) }))
    .sort((a, b) => a.range[0] - b.range[0]);
  const nodes = [];
  let at = 0;
  for (const { citation, range } of ranges) {
    const [start, end] = range;
    if (start < at) continue;
    nodes.push(text.slice(at, start));
    const numbers = [...new Set(citation.references.map((r) => sourceNumber(sources, r)))];
    // A span, not a button: a cited passage wraps like the text around it.
    const button = h(
      'span',
      { class: 'cite', role: 'button', tabindex: '0', title: 'show the sources of this passage' },
      text.slice(start, end),
      h('sup', {}, numbers.map((n) => `[${n}]`).join('')),
    );
    const show = () => {
      for (const other of button.parentElement.querySelectorAll('.cite.active'))
        other.classList.remove('active');
      button.classList.add('active');
      panel.replaceChildren(citationDetail(citation, sources, query));
    };
    button.addEventListener('click', show);
    button.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        show();
      }
    });
    nodes.push(button);
    // The [n] markers a model writes after the passage are shown by the button's own numbers.
    const marker = /^\s*(?:\[\d+(?:,\s*\d+)*\])+/.exec(text.slice(end));
    at = end + (marker ? marker[0].length : 0);
  }
  nodes.push(text.slice(at));
  return nodes;
}

function citationDetail(citation, sources, query) {
  return h(
    'div',
    { class: 'citation-panel' },
    h('h3', {}, 'Sources of “', citation.text.trim().slice(0, 120), '”'),
    citation.references.map((reference) => {
      const href = documentHref(reference, query);
      return h(
        'div',
        { class: 'card reference' },
        h(
          'div',
          { class: 'card-head' },
          h('span', { class: 'rank' }, `[${sourceNumber(sources, reference)}]`),
          h('span', { class: 'source' }, sourceLabel(reference)),
          href ? h('a', { class: 'open', href, 'data-nav': true }, 'Open source span →') : null,
        ),
        h('div', { class: 'chunk' }, reference.content.text),
      );
    }),
  );
}

function answerMetrics(done) {
  const usage = done.answer?.usage;
  const latency = done.latency ?? {};
  const cost = formatCost(done.answer?.cost);
  const items = [
    ['model', done.model ?? done.generator],
    usage ? ['tokens in', usage.inputTokens] : null,
    usage ? ['tokens out', usage.outputTokens] : null,
    latency.retrieveMs === undefined ? null : ['retrieve', formatMs(latency.retrieveMs)],
    ['first token', formatMs(latency.firstTokenMs)],
    ['total', formatMs(latency.totalMs)],
    ['cost', cost ?? (done.generator === 'extractive' ? '$0 (local)' : 'no price listed')],
  ].filter(Boolean);
  return h(
    'div',
    { class: 'metrics' },
    items.map(([label, value]) => h('span', { class: 'metric' }, `${label} `, h('b', {}, String(value)))),
  );
}

function retrievalControls(params, { withRerank = true } = {}) {
  const info = state.info;
  // 'default' leaves the choice to the knowledge base (hybrid where it has vectors; Bedrock's own choice).
  const controls = {
    type: select([{ value: '', label: 'default' }, ...info.searchTypes], params.get('type') ?? '', {
      name: 'type',
    }),
    k: h('input', { type: 'number', name: 'k', min: 1, max: info.maxK, value: params.get('k') ?? '5' }),
    rerank: h('input', {
      type: 'checkbox',
      name: 'rerank',
      checked: params.get('rerank') === '1',
      disabled: !info.reranker,
    }),
  };
  controls.nodes = [
    field('search type', controls.type),
    field('k', controls.k),
    withRerank
      ? h(
          'label',
          {
            class: 'check',
            title: info.reranker
              ? `rerank with ${info.reranker.id}`
              : 'start the playground with --rerank <model> to rerank',
          },
          controls.rerank,
          info.reranker ? 'rerank' : 'rerank (none configured)',
        )
      : null,
  ];
  controls.body = () => ({
    ...(controls.type.value ? { searchType: controls.type.value } : {}),
    k: Number(controls.k.value),
    rerank: controls.rerank.checked,
  });
  return controls;
}

function generatorControls(params, prefix = '') {
  const info = state.info;
  const generator = select(
    info.generators.map((g) => ({
      value: g.name,
      label: g.description ? `${g.name} — ${g.description}` : g.name,
    })),
    params.get(`${prefix}generator`),
    { name: `${prefix}generator` },
  );
  const listId = `models-${prefix || 'main'}-${Math.random().toString(36).slice(2)}`;
  const list = h('datalist', { id: listId });
  const model = h('input', {
    type: 'text',
    name: `${prefix}model`,
    list: listId,
    placeholder: 'default model',
    value: params.get(`${prefix}model`) ?? '',
  });
  const refresh = () => {
    const entry = info.generators.find((g) => g.name === generator.value);
    list.replaceChildren(...(entry?.models ?? []).map((m) => h('option', { value: m })));
    model.disabled = generator.value === 'extractive';
    model.placeholder =
      entry?.models?.[0] ?? (generator.value === 'extractive' ? 'no model' : 'default model');
  };
  generator.addEventListener('change', refresh);
  refresh();
  return {
    generator,
    model,
    nodes: [field('generator', generator), field('model', h('span', {}, model, list))],
    body: () => ({
      generator: generator.value,
      ...(model.value.trim() && !model.disabled ? { model: model.value.trim() } : {}),
    }),
  };
}

// ——— Search ———

function searchView(main, params) {
  const query = h('input', {
    type: 'search',
    name: 'q',
    placeholder: 'Search the knowledge base…',
    value: params.get('q') ?? '',
    autofocus: true,
  });
  const retrieval = retrievalControls(params);
  const filter = h('textarea', {
    class: 'code',
    name: 'filter',
    spellcheck: 'false',
    placeholder: '{"equals": {"key": "topic", "value": "lighthouses"}}',
    value: params.get('filter') ?? '',
  });
  const filterStatus = h('div', { class: 'status', id: 'filter-status' });
  const summary = h('div', { class: 'summary' });
  const results = h('div', { id: 'results' });
  let filterValue = null;
  let filterError = null;

  async function checkFilter() {
    const text = filter.value;
    if (text.trim() === '') {
      filterValue = null;
      filterError = null;
      filterStatus.className = 'status muted';
      filterStatus.textContent = 'No filter: every chunk can match.';
      return;
    }
    const check = await api('/api/filter', { method: 'POST', body: { text } });
    if (text !== filter.value) return;
    filterValue = check.valid ? check.filter : null;
    filterError = check.valid ? null : check.error;
    filterStatus.className = check.valid ? 'status ok' : 'status error';
    filterStatus.textContent = check.valid
      ? '✓ a valid Bedrock RetrievalFilter'
      : `✗ [${check.error.code}] ${check.error.message}`;
  }
  filter.addEventListener(
    'input',
    debounce(() => checkFilter().catch((e) => filterStatus.replaceChildren(errorBox(e))), 150),
  );

  async function search({ push }) {
    const text = query.value.trim();
    if (!text) return;
    await checkFilter();
    const body = retrieval.body();
    const urlParams = new URLSearchParams({ q: text, k: String(body.k) });
    if (body.searchType) urlParams.set('type', body.searchType);
    if (filter.value.trim()) urlParams.set('filter', filter.value);
    if (body.rerank) urlParams.set('rerank', '1');
    remember('/search', urlParams, { push });
    if (filterError) {
      results.replaceChildren(errorBox(filterError));
      summary.textContent = '';
      return;
    }
    summary.textContent = 'Searching…';
    results.replaceChildren();
    try {
      const data = await api('/api/retrieve', {
        method: 'POST',
        body: { query: text, ...body, ...(filterValue ? { filter: filterValue } : {}) },
      });
      summary.textContent = `${data.results.length} result${data.results.length === 1 ? '' : 's'} in ${formatMs(data.latencyMs)} · ${body.searchType ?? 'default search'}${body.rerank ? ' · reranked' : ''}`;
      results.replaceChildren(
        ...(data.results.length
          ? data.results.map((r, i) => resultCard(r, i, text))
          : [h('p', { class: 'empty' }, 'Nothing matched. Try another query, search type or filter.')]),
      );
    } catch (error) {
      summary.textContent = '';
      results.replaceChildren(errorBox(error));
    }
  }

  const form = h(
    'form',
    {
      class: 'panel',
      onsubmit: (e) => {
        e.preventDefault();
        search({ push: true });
      },
    },
    h(
      'div',
      { class: 'row' },
      field('query', query, { class: 'grow' }),
      ...retrieval.nodes,
      h('button', { type: 'submit' }, 'Search'),
    ),
    h(
      'h3',
      {},
      'Metadata filter ',
      h('span', { class: 'muted small' }, '(Bedrock RetrievalFilter JSON, checked as you type)'),
    ),
    filter,
    filterStatus,
  );
  main.append(h('h1', {}, 'Search'), form, summary, results);
  checkFilter().catch(() => {});
  if (query.value.trim()) search({ push: false });
}

// ——— Ask ———

async function askView(main, params) {
  const info = state.info;
  const { versions } = await api('/api/prompts');
  const question = h('input', {
    type: 'search',
    name: 'q',
    placeholder: 'Ask a question…',
    value: params.get('q') ?? '',
  });
  const generator = generatorControls(params);
  if (!params.get('generator') && info.kind === 'managed') generator.generator.value = 'knowledge-base';
  const prompt = select(
    [
      { value: '', label: 'default template' },
      ...versions.map((v) => ({ value: String(v.id), label: `${v.name} v${v.version}` })),
    ],
    params.get('prompt') ?? '',
    { name: 'prompt' },
  );
  const retrieval = retrievalControls(params);
  const answer = h('div', { class: 'answer', id: 'answer' });
  const metrics = h('div');
  const panel = h('div', { id: 'citation' });
  const sourcesBox = h('div', { id: 'sources' });

  async function ask({ push }) {
    const text = question.value.trim();
    if (!text) return;
    const body = {
      question: text,
      ...generator.body(),
      ...retrieval.body(),
      ...(prompt.value ? { promptVersionId: Number(prompt.value) } : {}),
    };
    const urlParams = new URLSearchParams({
      q: text,
      generator: body.generator,
      k: String(body.k),
    });
    if (body.searchType) urlParams.set('type', body.searchType);
    if (body.model) urlParams.set('model', body.model);
    if (prompt.value) urlParams.set('prompt', prompt.value);
    if (body.rerank) urlParams.set('rerank', '1');
    remember('/ask', urlParams, { push });
    answer.replaceChildren();
    metrics.replaceChildren();
    panel.replaceChildren();
    sourcesBox.replaceChildren();
    let sources = [];
    let streamed = '';
    try {
      for await (const event of apiStream('/api/ask', body)) {
        if (event.type === 'sources') {
          sources = event.results;
          sourcesBox.replaceChildren(
            h('h2', {}, `Sources (${sources.length})`),
            ...sources.map((r, i) => resultCard(r, i, text)),
          );
        } else if (event.type === 'text') {
          streamed += event.text;
          answer.textContent = streamed;
        } else if (event.type === 'done') {
          answer.replaceChildren(
            ...answerWithCitations(event.answer.text, event.answer.citations, sources, panel, text),
          );
          metrics.replaceChildren(
            answerMetrics(event),
            event.answer.citations.length
              ? h('p', { class: 'muted small' }, 'Click a highlighted passage to see its sources.')
              : h('p', { class: 'muted small' }, 'This answer cites no source.'),
          );
        } else if (event.type === 'error') {
          metrics.replaceChildren(errorBox(event.error));
        }
      }
    } catch (error) {
      metrics.replaceChildren(errorBox(error));
    }
  }

  const form = h(
    'form',
    {
      class: 'panel',
      onsubmit: (e) => {
        e.preventDefault();
        ask({ push: true });
      },
    },
    h(
      'div',
      { class: 'row' },
      field('question', question, { class: 'grow' }),
      h('button', { type: 'submit' }, 'Ask'),
    ),
    h('div', { class: 'row' }, ...generator.nodes, field('prompt', prompt), ...retrieval.nodes),
  );
  main.append(
    h('h1', {}, 'Ask'),
    form,
    h('section', { class: 'panel' }, h('h2', {}, 'Answer'), answer, metrics, panel),
    sourcesBox,
  );
  if (question.value.trim()) ask({ push: false });
}

// ——— Prompt lab ———

async function promptsView(main, params) {
  const info = state.info;
  let { versions, persistent } = await api('/api/prompts');
  const template = h('textarea', {
    class: 'code template',
    name: 'template',
    spellcheck: 'false',
    value: info.defaultPromptTemplate,
  });
  const name = h('input', {
    type: 'text',
    name: 'version-name',
    placeholder: 'version name, e.g. concise',
    value: '',
  });
  const saveStatus = h('div', { class: 'status' });
  const versionsTable = h('div');
  const variantSelects = [];

  const versionOptions = (withEditor) => [
    ...(withEditor ? [{ value: 'editor', label: 'editor (unsaved)' }] : []),
    ...versions.map((v) => ({ value: String(v.id), label: `${v.name} v${v.version}` })),
  ];
  function drawVersions() {
    versionsTable.replaceChildren(
      versions.length === 0
        ? h('p', { class: 'empty' }, 'No saved versions yet.')
        : h(
            'table',
            { id: 'versions' },
            h(
              'thead',
              {},
              h('tr', {}, h('th', {}, 'name'), h('th', {}, 'version'), h('th', {}, 'saved'), h('th', {}, '')),
            ),
            h(
              'tbody',
              {},
              versions.map((v) =>
                h(
                  'tr',
                  {},
                  h('td', {}, v.name),
                  h('td', {}, `v${v.version}`),
                  h('td', {}, new Date(v.createdAt).toLocaleString()),
                  h(
                    'td',
                    {},
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'secondary',
                        onclick: () => {
                          template.value = v.template;
                          name.value = v.name;
                        },
                      },
                      'Load',
                    ),
                  ),
                ),
              ),
            ),
          ),
    );
    for (const { node, withEditor } of variantSelects) {
      const value = node.value;
      node.replaceChildren(
        ...versionOptions(withEditor).map((o) => h('option', { value: o.value }, o.label)),
      );
      if ([...node.options].some((o) => o.value === value)) node.value = value;
    }
  }

  async function save() {
    try {
      const saved = await api('/api/prompts', {
        method: 'POST',
        body: { name: name.value, template: template.value },
      });
      versions = (await api('/api/prompts')).versions;
      drawVersions();
      saveStatus.className = 'status ok';
      saveStatus.textContent = `Saved ${saved.name} v${saved.version} at ${new Date(saved.createdAt).toLocaleString()}${persistent ? ' in the store' : ' (this session only)'}.`;
    } catch (error) {
      saveStatus.className = 'status error';
      saveStatus.textContent = `✗ [${error.code}] ${error.message}`;
    }
  }

  // Side by side
  const question = h('input', {
    type: 'search',
    name: 'compare-question',
    placeholder: 'One question for both sides…',
    value: params.get('q') ?? '',
  });
  const retrieval = retrievalControls(params);
  const sides = ['A', 'B'].map((label) => {
    const prefix = label.toLowerCase();
    const version = select(versionOptions(true), params.get(`${prefix}prompt`) ?? 'editor', {
      name: `${prefix}-prompt`,
    });
    variantSelects.push({ node: version, withEditor: true });
    const generator = generatorControls(params, `${prefix}-`);
    return {
      label,
      version,
      generator,
      node: h(
        'div',
        { class: 'panel variant' },
        h('h3', {}, `Side ${label}`),
        h('div', { class: 'row' }, field('prompt', version), ...generator.nodes),
      ),
      body: () => ({
        label,
        ...generator.body(),
        ...(version.value === 'editor'
          ? { promptTemplate: template.value }
          : { promptVersionId: Number(version.value) }),
      }),
    };
  });
  const compareOut = h('div', { id: 'compare' });

  async function compare() {
    const text = question.value.trim();
    if (!text) return;
    compareOut.replaceChildren(h('p', { class: 'muted' }, 'Answering on one retrieved context…'));
    try {
      const data = await api('/api/compare', {
        method: 'POST',
        body: { question: text, ...retrieval.body(), variants: sides.map((s) => s.body()) },
      });
      compareOut.replaceChildren(
        h(
          'p',
          { class: 'summary' },
          `Both sides answered from the same ${data.context.length} chunks (retrieved once in ${formatMs(data.retrieveMs)}).`,
        ),
        h(
          'div',
          { class: 'columns' },
          data.answers.map((a) => {
            const panel = h('div');
            return h(
              'section',
              { class: 'panel variant', 'data-side': a.label },
              h(
                'h3',
                {},
                `Side ${a.label}`,
                h(
                  'span',
                  { class: 'tag' },
                  `${a.promptVersion ? `${a.promptVersion.name} v${a.promptVersion.version}` : 'editor template'} · ${a.generator} · ${a.model}`,
                ),
              ),
              a.error
                ? errorBox(a.error)
                : [
                    h(
                      'div',
                      { class: 'answer' },
                      answerWithCitations(a.text, a.citations, data.context, panel, text),
                    ),
                    answerMetrics({ ...a, answer: a }),
                    panel,
                  ],
            );
          }),
        ),
        h(
          'details',
          {},
          h('summary', {}, `The shared context (${data.context.length} chunks)`),
          data.context.map((r, i) => resultCard(r, i, text)),
        ),
      );
    } catch (error) {
      compareOut.replaceChildren(errorBox(error));
    }
  }

  // Question set
  const questions = h('textarea', { name: 'questions', placeholder: 'One question per line', value: '' });
  const setVersion = select(versionOptions(false), undefined, { name: 'set-prompt' });
  variantSelects.push({ node: setVersion, withEditor: false });
  const setGenerator = generatorControls(new URLSearchParams(), 'set-');
  const setOut = h('div', { id: 'run-result' });
  const runsList = h('div', { id: 'runs' });

  function runTable(run) {
    const settings = run.settings ?? {};
    return h(
      'div',
      {},
      h(
        'h3',
        {},
        `Run ${run.id}: ${settings.promptVersion ? `${settings.promptVersion.name} v${settings.promptVersion.version}` : 'deleted version'} · ${settings.generator} · ${settings.model}`,
        h('span', { class: 'muted small' }, ` ${new Date(run.createdAt).toLocaleString()}`),
      ),
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'question'),
            h('th', {}, 'answer'),
            h('th', { class: 'num' }, 'citations'),
            h('th', { class: 'num' }, 'tokens'),
            h('th', { class: 'num' }, 'latency'),
            h('th', { class: 'num' }, 'cost'),
          ),
        ),
        h(
          'tbody',
          {},
          run.results.map((r) =>
            h(
              'tr',
              {},
              h('td', {}, r.question),
              h('td', {}, r.error ? errorBox(r.error) : r.text.slice(0, 300)),
              h('td', { class: 'num' }, r.error ? '—' : String(r.citations)),
              h('td', { class: 'num' }, r.usage ? `${r.usage.inputTokens} / ${r.usage.outputTokens}` : '—'),
              h('td', { class: 'num' }, r.latency ? formatMs(r.latency.totalMs) : '—'),
              h('td', { class: 'num' }, formatCost(r.cost) ?? '—'),
            ),
          ),
        ),
      ),
    );
  }

  async function drawRuns() {
    const { runs } = await api('/api/runs');
    runsList.replaceChildren(
      runs.length === 0
        ? h('p', { class: 'empty' }, 'No runs kept yet.')
        : h(
            'table',
            {},
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', {}, 'run'),
                h('th', {}, 'prompt'),
                h('th', {}, 'generator'),
                h('th', { class: 'num' }, 'questions'),
                h('th', {}, 'when'),
                h('th', {}, ''),
              ),
            ),
            h(
              'tbody',
              {},
              runs.map((run) =>
                h(
                  'tr',
                  {},
                  h('td', {}, `#${run.id}`),
                  h(
                    'td',
                    {},
                    run.settings.promptVersion
                      ? `${run.settings.promptVersion.name} v${run.settings.promptVersion.version}`
                      : '—',
                  ),
                  h('td', {}, `${run.settings.generator} · ${run.settings.model}`),
                  h('td', { class: 'num' }, String(run.questions)),
                  h('td', {}, new Date(run.createdAt).toLocaleString()),
                  h(
                    'td',
                    {},
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'secondary',
                        onclick: async () =>
                          setOut.replaceChildren(runTable(await api(`/api/runs/${run.id}`))),
                      },
                      'Show',
                    ),
                  ),
                ),
              ),
            ),
          ),
    );
  }

  async function runSet() {
    const list = questions.value
      .split('\n')
      .map((q) => q.trim())
      .filter(Boolean);
    if (!setVersion.value) {
      setOut.replaceChildren(
        errorBox({
          code: 'INVALID_OPTION',
          message: 'Save a prompt version first: a run keeps the version it ran.',
        }),
      );
      return;
    }
    setOut.replaceChildren(h('p', { class: 'muted' }, `Running ${list.length} questions…`));
    try {
      const run = await api('/api/runs', {
        method: 'POST',
        body: {
          promptVersionId: Number(setVersion.value),
          questions: list,
          ...setGenerator.body(),
          ...retrieval.body(),
        },
      });
      setOut.replaceChildren(runTable(run));
      await drawRuns();
    } catch (error) {
      setOut.replaceChildren(errorBox(error));
    }
  }

  main.append(
    h('h1', {}, 'Prompt lab'),
    h(
      'section',
      { class: 'panel' },
      h('h2', {}, 'Template'),
      h(
        'p',
        { class: 'muted small' },
        'Bedrock Knowledge Base syntax: $search_results$ (required), $query$, $output_format_instructions$.',
        persistent
          ? ' Versions are kept in the store.'
          : ' This knowledge base has no local store: versions last for this session (start with --prompt-store <file> to keep them).',
      ),
      template,
      h(
        'div',
        { class: 'row' },
        field('name', name),
        h('button', { type: 'button', id: 'save-version', onclick: save }, 'Save version'),
      ),
      saveStatus,
      h('h3', {}, 'Saved versions'),
      versionsTable,
    ),
    h(
      'section',
      { class: 'panel' },
      h('h2', {}, 'Side by side'),
      h(
        'p',
        { class: 'muted small' },
        'Two prompt versions or two models on the same question and the same retrieved context.',
      ),
      h(
        'div',
        { class: 'row' },
        field('question', question, { class: 'grow' }),
        ...retrieval.nodes,
        h('button', { type: 'button', id: 'run-compare', onclick: compare }, 'Run side by side'),
      ),
      h(
        'div',
        { class: 'columns' },
        sides.map((s) => s.node),
      ),
      compareOut,
    ),
    h(
      'section',
      { class: 'panel' },
      h('h2', {}, 'Question set'),
      h('p', { class: 'muted small' }, 'Run one saved version over a few questions; the results are kept.'),
      questions,
      h(
        'div',
        { class: 'row' },
        field('prompt version', setVersion),
        ...setGenerator.nodes,
        h('button', { type: 'button', id: 'run-set', onclick: runSet }, 'Run and keep'),
      ),
      setOut,
      h('h3', {}, 'Kept runs'),
      runsList,
    ),
  );
  drawVersions();
  await drawRuns();
}

// ——— Evaluation ———

function loadEvalRuns() {
  try {
    return JSON.parse(sessionStorage.getItem('localkb.evalRuns') ?? '[]');
  } catch {
    return [];
  }
}

function saveEvalRuns() {
  try {
    sessionStorage.setItem('localkb.evalRuns', JSON.stringify(state.evalRuns));
  } catch {
    // Too large for session storage: the runs stay until the page reloads.
  }
}

function evalView(main) {
  const input = h('input', {
    type: 'file',
    accept: '.json,application/json',
    multiple: true,
    name: 'eval-files',
  });
  const status = h('div', { id: 'eval-status' });
  const drop = h(
    'div',
    { class: 'drop' },
    'Load ',
    h('code', {}, 'localkb eval --output'),
    ' files: ',
    input,
    ' or drop them here.',
  );
  const out = h('div', { id: 'eval-charts' });

  async function load(files) {
    status.replaceChildren();
    for (const file of files) {
      try {
        let report;
        try {
          report = JSON.parse(await file.text());
        } catch (error) {
          throw { code: 'INVALID_OPTION', message: `${file.name} is not JSON: ${error.message}` };
        }
        const { runs } = await api('/api/eval-report', { method: 'POST', body: { file: file.name, report } });
        for (const run of runs) {
          const used = new Set(state.evalRuns.map((r) => r.color));
          run.color = PALETTE.find((c) => !used.has(c)) ?? PALETTE[state.evalRuns.length % PALETTE.length];
          run.file = file.name;
          state.evalRuns.push(run);
        }
      } catch (error) {
        status.append(errorBox(error));
      }
    }
    saveEvalRuns();
    draw();
  }
  input.addEventListener('change', () => load([...input.files]));
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    load([...e.dataTransfer.files]);
  });

  function draw() {
    const runs = state.evalRuns;
    if (runs.length === 0) {
      out.replaceChildren(
        h(
          'p',
          { class: 'empty' },
          'No runs loaded. Write one with: localkb eval --beir <dataset> --db <file> --output run.json',
        ),
      );
      return;
    }
    const legend = h(
      'div',
      { class: 'chips' },
      runs.map((run, i) => {
        const swatch = h('span', { class: 'swatch' });
        swatch.style.background = run.color;
        return h(
          'span',
          { class: 'chip' },
          swatch,
          `${run.name}${run.dataset ? ` (${run.dataset}${run.split ? ` ${run.split}` : ''})` : ''}`,
          h(
            'button',
            {
              type: 'button',
              class: 'secondary',
              title: 'remove',
              onclick: () => {
                runs.splice(i, 1);
                saveEvalRuns();
                draw();
              },
            },
            '×',
          ),
        );
      }),
    );
    const shown = ['ndcg@10', 'recall@10', 'recall@100', 'mrr@10', 'map@10'].filter((m) =>
      runs.some((r) => r.metrics[m] !== undefined),
    );
    const sections = [
      legend,
      h('section', { class: 'panel' }, h('h2', {}, 'Mean scores per run'), barChart(shown, runs)),
      h('section', { class: 'panel' }, h('h2', {}, 'Recall at k'), curveChart(runs)),
    ];
    const withQueries = runs.filter((r) => r.perQuery.length > 0);
    if (withQueries.length === 0) {
      sections.push(
        h(
          'p',
          { class: 'muted' },
          'These files have no per-query scores; files written by this version of localkb eval --output have them.',
        ),
      );
    } else {
      sections.push(perQuerySection(withQueries));
    }
    out.replaceChildren(...sections);
  }

  main.append(h('h1', {}, 'Evaluation'), h('div', { class: 'panel' }, drop, status), out);
  draw();
}

function perQuerySection(runs) {
  const options = runs.map((r, i) => ({ value: String(i), label: `${r.name} · ${r.file ?? ''}` }));
  const a = select(options, '0', { name: 'run-a' });
  const b = select(options, runs.length > 1 ? '1' : '0', { name: 'run-b' });
  const metrics = [...new Set(runs.flatMap((r) => Object.keys(r.perQuery[0]?.metrics ?? {})))];
  const metric = select(metrics, metrics.includes('ndcg@10') ? 'ndcg@10' : metrics[0], { name: 'metric' });
  const body = h('div');

  function queryLink(run, row) {
    const params = new URLSearchParams({ q: row.query ?? row.id, k: '10' });
    if (run.searchType && state.info.searchTypes.includes(run.searchType)) params.set('type', run.searchType);
    return h('a', { href: `/search?${params}`, 'data-nav': true, class: 'query-link' }, row.query ?? row.id);
  }

  function draw() {
    const runA = runs[Number(a.value)];
    const runB = runs[Number(b.value)];
    const name = metric.value;
    const byId = new Map(runA.perQuery.map((row) => [row.id, row]));
    const differences = runB.perQuery
      .filter((row) => byId.has(row.id))
      .map((row) => ({
        id: row.id,
        query: row.query ?? byId.get(row.id).query,
        row,
        delta: (row.metrics[name] ?? 0) - (byId.get(row.id).metrics[name] ?? 0),
      }))
      .sort((x, y) => y.delta - x.delta);
    const wins = differences.filter((d) => d.delta > 0).length;
    const losses = differences.filter((d) => d.delta < 0).length;
    const worst = [...runB.perQuery]
      .sort((x, y) => (x.metrics[name] ?? 0) - (y.metrics[name] ?? 0))
      .slice(0, 10);
    const biggest = (list) =>
      list.length === 0
        ? h('p', { class: 'empty' }, 'none')
        : h(
            'table',
            {},
            h(
              'tbody',
              {},
              list.map((d) =>
                h(
                  'tr',
                  {},
                  h('td', {}, queryLink(runB, d.row)),
                  h('td', { class: 'num' }, `${d.delta > 0 ? '+' : ''}${d.delta.toFixed(3)}`),
                ),
              ),
            ),
          );
    body.replaceChildren(
      runA === runB
        ? h('p', { class: 'muted' }, 'Pick two different runs to see where one wins or loses.')
        : h(
            'div',
            {},
            h(
              'p',
              { class: 'summary' },
              `${runB.name} against ${runA.name} on ${differences.length} shared queries: better on ${wins}, worse on ${losses}, tied on ${differences.length - wins - losses}.`,
            ),
            differenceChart(differences, name),
            h(
              'div',
              { class: 'columns' },
              h(
                'div',
                {},
                h('h3', {}, `Where ${runB.name} wins most`),
                biggest(differences.filter((d) => d.delta > 0).slice(0, 5)),
              ),
              h(
                'div',
                {},
                h('h3', {}, `Where ${runB.name} loses most`),
                biggest(
                  differences
                    .filter((d) => d.delta < 0)
                    .reverse()
                    .slice(0, 5),
                ),
              ),
            ),
          ),
      h(
        'h3',
        {},
        `Worst queries of ${runB.name} by ${name}`,
        h('span', { class: 'muted small' }, ' (click one to search it)'),
      ),
      h(
        'table',
        { id: 'worst-queries' },
        h('thead', {}, h('tr', {}, h('th', {}, 'query'), h('th', { class: 'num' }, name))),
        h(
          'tbody',
          {},
          worst.map((row) =>
            h(
              'tr',
              {},
              h('td', {}, queryLink(runB, row)),
              h('td', { class: 'num' }, (row.metrics[name] ?? 0).toFixed(3)),
            ),
          ),
        ),
      ),
    );
  }
  for (const control of [a, b, metric]) control.addEventListener('change', draw);
  draw();
  return h(
    'section',
    { class: 'panel' },
    h('h2', {}, 'Per query'),
    h('div', { class: 'row' }, field('run A', a), field('run B', b), field('metric', metric)),
    body,
  );
}

// ——— Store ———

const DOCUMENTS_PER_PAGE = 100;

async function storeView(main, params = new URLSearchParams()) {
  const offset = Math.max(0, Number.parseInt(params.get('offset') ?? '0', 10) || 0);
  const [store, listing] = await Promise.all([
    api('/api/store'),
    api(
      `/api/documents?${new URLSearchParams({ offset: String(offset), limit: String(DOCUMENTS_PER_PAGE) })}`,
    ),
  ]);
  const stats = store.stats;
  const stat = (label, value, note, text = false) =>
    h(
      'div',
      { class: 'stat' },
      h('div', { class: 'label' }, label),
      h('div', { class: text ? 'value text' : 'value' }, value),
      note ? h('div', { class: 'note' }, note) : null,
    );
  const vectors = stats.vectors;
  const indexed = stats.indexedVectors;
  const indexState =
    store.kind === 'managed'
      ? (stats.status ?? '—')
      : vectors === undefined
        ? '—'
        : vectors === 0
          ? 'no vectors (BM25 only)'
          : indexed === vectors
            ? 'in step'
            : `${indexed} of ${vectors} indexed`;
  const cards = h(
    'div',
    { class: 'stats' },
    stat('documents', String(stats.documents ?? '—')),
    stat(
      'chunks',
      Number.isFinite(stats.chunks) ? String(stats.chunks) : 'not reported',
      store.kind === 'managed' ? 'Bedrock does not report chunk counts' : null,
    ),
    stat(
      'embedder',
      stats.embedderId ?? '—',
      stats.dimensions ? `${stats.dimensions} dimensions` : null,
      true,
    ),
    stat(
      'vector index',
      indexState,
      store.kind === 'local' && vectors
        ? `${vectors} vectors in SQLite, ${indexed ?? 0} in the HNSW cache`
        : null,
      true,
    ),
    stat(
      'disk',
      formatBytes((stats.storeBytes ?? 0) + (store.indexBytes ?? 0)),
      store.kind === 'local'
        ? `store ${formatBytes(stats.storeBytes)} + index ${formatBytes(store.indexBytes ?? 0)}`
        : null,
    ),
  );
  const documentsBox = h('div', { id: 'documents' });
  const status = h('div', { class: 'status', id: 'delete-status' });

  async function remove(id) {
    if (!window.confirm(`Delete ${id} and its chunks from the knowledge base?`)) return;
    try {
      await api(`/api/documents?id=${encodeURIComponent(id)}`, { method: 'DELETE' });
      main.replaceChildren();
      await storeView(main, params);
      main
        .querySelector('#delete-status')
        .replaceChildren(h('span', { class: 'status ok' }, `Deleted ${id}.`));
    } catch (error) {
      status.replaceChildren(errorBox(error));
    }
  }

  if (listing.listed) {
    const page = (at, label) =>
      h('a', { href: `/store?${new URLSearchParams({ offset: String(at) })}`, 'data-nav': true }, label);
    const last = offset + listing.documents.length;
    if (listing.total > listing.documents.length) {
      documentsBox.append(
        h(
          'p',
          { class: 'summary', id: 'documents-page' },
          `Documents ${listing.documents.length ? offset + 1 : 0}–${last} of ${listing.total} `,
          offset > 0 ? page(Math.max(0, offset - DOCUMENTS_PER_PAGE), '← previous') : null,
          ' ',
          last < listing.total ? page(last, 'next →') : null,
        ),
      );
    }
    documentsBox.append(
      listing.documents.length === 0
        ? h('p', { class: 'empty' }, 'No documents yet: localkb ingest <files> --db <file>.')
        : h(
            'table',
            {},
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', {}, 'document'),
                h('th', {}, 'title'),
                h('th', {}, 'format'),
                h('th', { class: 'num' }, 'size'),
                h('th', { class: 'num' }, 'pages'),
                h('th', {}, 'ingested'),
                h('th', {}, ''),
              ),
            ),
            h(
              'tbody',
              {},
              listing.documents.map((d) =>
                h(
                  'tr',
                  { 'data-document-id': d.id },
                  h(
                    'td',
                    {},
                    h(
                      'a',
                      { href: `/document?${new URLSearchParams({ id: d.id })}`, 'data-nav': true },
                      d.id,
                    ),
                  ),
                  h('td', {}, d.title ?? ''),
                  h('td', {}, d.format),
                  h('td', { class: 'num' }, formatBytes(d.sizeBytes)),
                  h('td', { class: 'num' }, d.pages ? String(d.pages.length) : '—'),
                  h('td', {}, d.ingestedAt ? new Date(d.ingestedAt).toLocaleString() : ''),
                  h(
                    'td',
                    {},
                    h('button', { type: 'button', class: 'danger', onclick: () => remove(d.id) }, 'Delete'),
                  ),
                ),
              ),
            ),
          ),
    );
  } else {
    const id = h('input', { type: 'text', name: 'delete-id', placeholder: 'document id' });
    documentsBox.append(
      h(
        'p',
        { class: 'muted' },
        'A managed knowledge base lists its documents per data source; delete one by its id.',
      ),
      h(
        'div',
        { class: 'row' },
        field('document id', id),
        h(
          'button',
          { type: 'button', class: 'danger', onclick: () => id.value.trim() && remove(id.value.trim()) },
          'Delete',
        ),
      ),
    );
  }
  const other = Object.entries(stats).filter(
    ([key]) => !['documents', 'chunks', 'embedderId', 'dimensions'].includes(key),
  );
  main.append(
    h('h1', {}, 'Store'),
    h('p', { class: 'muted' }, store.description),
    cards,
    h('section', { class: 'panel' }, h('h2', {}, 'Documents'), status, documentsBox),
    h(
      'section',
      { class: 'panel' },
      h(
        'details',
        {},
        h('summary', {}, 'Everything stats() reports'),
        h(
          'table',
          { class: 'meta' },
          h(
            'tbody',
            {},
            other.map(([key, value]) =>
              h(
                'tr',
                {},
                h('td', {}, key),
                h('td', {}, typeof value === 'object' ? JSON.stringify(value) : String(value)),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

// ——— Document ———

async function documentView(main, params) {
  const id = params.get('id');
  const doc = await api(`/api/document?${new URLSearchParams({ id: id ?? '' })}`);
  const start = Number(params.get('start'));
  const end = Number(params.get('end'));
  const hasSpan =
    params.has('start') &&
    params.has('end') &&
    Number.isInteger(start) &&
    Number.isInteger(end) &&
    start >= 0 &&
    end > start &&
    end <= doc.text.length;
  const page = hasSpan ? doc.pages?.find((p) => start >= p.start && start < p.end)?.page : undefined;
  const mark = hasSpan ? h('mark', { class: 'chunk-mark', id: 'chunk' }, doc.text.slice(start, end)) : null;
  const text = h(
    'div',
    { class: 'doc-text' },
    hasSpan ? [doc.text.slice(0, start), mark, doc.text.slice(end)] : doc.text,
  );
  main.append(
    h('h1', {}, doc.title ?? doc.id),
    h(
      'p',
      { class: 'muted small' },
      `${doc.id} · ${doc.format} · ${formatBytes(doc.sizeBytes)}${doc.pages ? ` · ${doc.pages.length} pages` : ''} · `,
      h('code', {}, doc.uri),
    ),
    hasSpan
      ? h(
          'p',
          { class: 'summary' },
          `Characters ${start}–${end}${page ? `, page ${page}` : ''}, marked below.`,
        )
      : null,
    text,
    metadataTable(doc.metadata),
  );
  if (mark) requestAnimationFrame(() => mark.scrollIntoView({ block: 'center' }));
}

// ——— start ———

async function start() {
  try {
    state.info = await api('/api/info');
    document.getElementById('kb-description').textContent = state.info.description;
    document.title = `localkb playground · ${state.info.description}`;
  } catch (error) {
    document.getElementById('view').replaceChildren(errorBox(error));
    return;
  }
  await render();
}

start();
