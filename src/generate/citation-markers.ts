/**
 * Generated text arrives with `[n]` markers (n: the prompt's source number); Bedrock answers carry none, only
 * citations beside plain text. CitationMarkerFilter removes the markers as the text streams in — holding back
 * only what could still turn out to be a marker — and reports each marked part of the plain text with the
 * sources it cites.
 */

const GROUP = String.raw`\[\s*\d+(?:\s*,\s*\d+)*\s*\]`;
/** `[1]`, `[1, 2]`, `[1][3]`, `[1], [3]`: bracketed groups of source numbers in a row, with the space before. */
const MARKER_RUN = new RegExp(String.raw`\s*${GROUP}(?:[\s,;]*${GROUP})*`, 'g');
/**
 * The end of the text that is not settled yet: what may still grow into a marker run, or a finished run whose
 * following characters (punctuation, the next group, the next word) have not arrived. Looser than MARKER_RUN,
 * so every unfinished run is held back whole.
 */
const OPEN_TAIL = /\s*(?:\[[\s\d,]*\][\s,;.:!?]*)*(?:\[[\s\d,]*)?$/;
/** Punctuation right after a marker ("… sky [1].", "… sky [1] .") ends the sentence the marker cites. */
const CLOSING_PUNCTUATION = /^[.,;:!?]+/;
const SPACED_PUNCTUATION = /^\s+(?=[.,;:!?])/;

/** A part of the plain text that markers cite: [start, end) in the text emitted so far. */
export interface CitedPart {
  span: { start: number; end: number };
  text: string;
  /** The prompt's source numbers the part's markers name, citable ones only, in marker order, no duplicates. */
  sourceIds: number[];
}

export type CitationFilterEvent = { type: 'text'; text: string } | { type: 'part'; part: CitedPart };

/**
 * Streams generated text without its `[n]` markers. Each marker run cites the text since the previous run
 * (trimmed, with the punctuation that follows the marker); a part event follows the text it covers. Markers
 * naming no citable source are removed and cite nothing.
 */
export class CitationMarkerFilter {
  #pending = '';
  #text = '';
  #partStart = 0;
  #waiting: CitedPart[] = [];
  /** A marker opened the text: the space after it would start the answer. */
  #atStart = false;

  constructor(private readonly isCitable: (sourceId: number) => boolean = () => true) {}

  /** The plain text so far. */
  get text(): string {
    return this.#text;
  }

  /** Takes a piece of generated text; returns what can be shown now. */
  push(piece: string): CitationFilterEvent[] {
    this.#pending += piece;
    const held = OPEN_TAIL.exec(this.#pending)!.index;
    const ready = this.#pending.slice(0, held);
    this.#pending = this.#pending.slice(held);
    return this.#process(ready, false);
  }

  /** The generated text is complete: everything held back is settled. */
  end(): CitationFilterEvent[] {
    const ready = this.#pending;
    this.#pending = '';
    return this.#process(ready, true);
  }

  #process(ready: string, final: boolean): CitationFilterEvent[] {
    const events: CitationFilterEvent[] = [];
    let cursor = 0;
    for (const match of ready.matchAll(MARKER_RUN)) {
      const runStart = match.index;
      const runEnd = runStart + match[0].length;
      this.#append(ready.slice(cursor, runStart), events);
      const cut = this.#text.length;
      // The space of "sky [1] ." goes with the marker; the punctuation ends the cited part.
      const spaced = SPACED_PUNCTUATION.exec(ready.slice(runEnd))?.[0].length ?? 0;
      const after = ready.slice(runEnd + spaced);
      const punctuation = CLOSING_PUNCTUATION.exec(after)?.[0].length ?? 0;
      this.#cite(match[0], cut, punctuation, events);
      if (cut === 0) this.#atStart = true;
      // "x [1]y" keeps one space so the words do not run together.
      const leading = /^\s*/.exec(match[0])![0];
      if (leading !== '' && /^\w/.test(after)) this.#append(leading[0]!, events);
      cursor = runEnd + spaced;
    }
    this.#append(ready.slice(cursor), events);
    if (final) this.#flush(events, Number.POSITIVE_INFINITY);
    return mergeText(events);
  }

  /** Records the part a marker run cites: the text since the previous run, up to the run (and punctuation). */
  #cite(run: string, cut: number, punctuation: number, events: CitationFilterEvent[]): void {
    const sourceIds = sourceIdsOf(run).filter((n) => this.isCitable(n));
    let start = this.#partStart;
    let end = cut;
    while (start < end && /\s/.test(this.#text[start]!)) start++;
    while (end > start && /\s/.test(this.#text[end - 1]!)) end--;
    if (end === cut) end += punctuation;
    this.#partStart = cut + punctuation;
    if (end > start && sourceIds.length > 0) {
      this.#waiting.push({ span: { start, end }, text: '', sourceIds });
      this.#flush(events, this.#text.length);
    }
  }

  /** Adds plain text, putting each waiting part's event right after the text that completes it. */
  #append(text: string, events: CitationFilterEvent[]): void {
    let rest = text;
    while (rest !== '' && this.#waiting.length > 0) {
      const take = Math.max(0, this.#waiting[0]!.span.end - this.#text.length);
      if (take > rest.length) break;
      this.#emit(rest.slice(0, take), events);
      rest = rest.slice(take);
      this.#flush(events, this.#text.length);
    }
    this.#emit(rest, events);
    this.#flush(events, this.#text.length);
  }

  #emit(piece: string, events: CitationFilterEvent[]): void {
    const text = this.#atStart ? piece.trimStart() : piece;
    if (text === '') return;
    this.#atStart = false;
    this.#text += text;
    events.push({ type: 'text', text });
  }

  #flush(events: CitationFilterEvent[], upTo: number): void {
    while (this.#waiting.length > 0 && this.#waiting[0]!.span.end <= upTo) {
      const part = this.#waiting.shift()!;
      part.text = this.#text.slice(part.span.start, part.span.end);
      events.push({ type: 'part', part });
    }
  }
}

/** The source numbers a marker run names, in order, without duplicates. */
function sourceIdsOf(run: string): number[] {
  return [...new Set([...run.matchAll(/\d+/g)].map((n) => Number(n[0])))].filter((n) => n >= 1);
}

function mergeText(events: CitationFilterEvent[]): CitationFilterEvent[] {
  const merged: CitationFilterEvent[] = [];
  for (const event of events) {
    const last = merged[merged.length - 1];
    if (event.type === 'text' && last?.type === 'text') last.text += event.text;
    else merged.push(event);
  }
  return merged;
}

/** The plain text of a whole generation and the parts its markers cite. */
export function stripCitationMarkers(
  generated: string,
  isCitable?: (sourceId: number) => boolean,
): { text: string; parts: CitedPart[] } {
  const filter = new CitationMarkerFilter(isCitable);
  const events = [...filter.push(generated), ...filter.end()];
  return { text: filter.text, parts: events.flatMap((e) => (e.type === 'part' ? [e.part] : [])) };
}

/** A stretch of the answer and the sources its `[n]` markers cite. */
export interface CitationMarker {
  /** Character range [start, end) of the supported text, without the markers. */
  span: { start: number; end: number };
  /** 1-based source numbers, as they appear in the prompt's source blocks; in marker order, no duplicates. */
  sourceIds: number[];
}

/**
 * Finds the `[n]` markers in generated text. Each run of markers cites the text between the previous run (or
 * the start) and itself, trimmed of surrounding whitespace; text after the last marker is uncited.
 */
export function parseCitationMarkers(text: string): CitationMarker[] {
  const markers: CitationMarker[] = [];
  let segmentStart = 0;
  for (const match of text.matchAll(MARKER_RUN)) {
    const runStart = match.index!;
    const runEnd = runStart + match[0].length;
    const sourceIds = sourceIdsOf(match[0]);
    let start = segmentStart;
    let end = runStart;
    // Punctuation right after the marker ("… sky [1].") belongs to the cited sentence's end, not the next one.
    const trailing = CLOSING_PUNCTUATION.exec(text.slice(runEnd));
    const nextStart = runEnd + (trailing ? trailing[0].length : 0);
    while (start < end && /\s/.test(text[start]!)) start++;
    while (end > start && /\s/.test(text[end - 1]!)) end--;
    if (end > start && sourceIds.length > 0) markers.push({ span: { start, end }, sourceIds });
    segmentStart = nextStart;
  }
  return markers;
}
