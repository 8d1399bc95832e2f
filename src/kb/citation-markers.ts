/**
 * The opt-in `[n]` markers of an answer (`citationMarkers: true`): Bedrock's wire answer is plain text with
 * citations beside it; a person reading a terminal wants the numbers in the text. Each citation gets a marker
 * right after its part, numbering the cited chunks 1..n in the order the answer first cites them; the spans
 * move onto the marked text. Works the same for local and managed answers, whole or streamed.
 */
import type { RetrievalResult } from '../types.js';
import type { Answer, AnswerStreamEvent, Citation } from './types.js';

/** What makes two references the same source for numbering: the chunk. */
function referenceKey(reference: RetrievalResult): string {
  return reference.chunkId || `${reference.documentId}\u0000${reference.content.text}`;
}

/**
 * The chunks the citations of a marked answer cite, once each, in the order its markers number them ([1] first):
 * markAnswer and markAnswerStream keep citations in the order they wrote the markers.
 */
export function citedChunks(citations: readonly Citation[]): RetrievalResult[] {
  const chunks = new Map<string, RetrievalResult>();
  for (const citation of citations) {
    for (const reference of citation.references) {
      if (!chunks.has(referenceKey(reference))) chunks.set(referenceKey(reference), reference);
    }
  }
  return [...chunks.values()];
}

/** Numbers cited chunks by first use and keeps track of how far markers have shifted the text. */
class MarkerWriter {
  readonly #numbers = new Map<string, number>();
  #inserted = 0;

  /** The citation moved onto the marked text, and the marker to write after its part. */
  mark(citation: Citation): { citation: Citation; marker: string } {
    const numbers = [
      ...new Set(
        citation.references.map((reference) => {
          const key = referenceKey(reference);
          if (!this.#numbers.has(key)) this.#numbers.set(key, this.#numbers.size + 1);
          return this.#numbers.get(key)!;
        }),
      ),
    ];
    const moved = {
      ...citation,
      span: { start: citation.span.start + this.#inserted, end: citation.span.end + this.#inserted },
    };
    const marker = numbers.length === 0 ? '' : ` [${numbers.join(', ')}]`;
    this.#inserted += marker.length;
    return { citation: moved, marker };
  }
}

/** The answer with a marker after each cited part. */
export function markAnswer(answer: Answer): Answer {
  const writer = new MarkerWriter();
  const ordered = [...answer.citations].sort((a, b) => a.span.end - b.span.end);
  const citations: Citation[] = [];
  let text = '';
  let cursor = 0;
  for (const citation of ordered) {
    const end = Math.min(Math.max(citation.span.end, cursor), answer.text.length);
    text += answer.text.slice(cursor, end);
    cursor = end;
    const marked = writer.mark(citation);
    citations.push(marked.citation);
    text += marked.marker;
  }
  text += answer.text.slice(cursor);
  return { ...answer, text, citations };
}

/**
 * A streamed answer with a marker after each citation event; the final answer is the text as streamed. Citation
 * events are expected right after the text they cite (localkb's own streams do so); a citation arriving later
 * gets its marker where the stream is at that moment.
 */
export async function* markAnswerStream(
  events: AsyncIterable<AnswerStreamEvent>,
): AsyncIterable<AnswerStreamEvent> {
  const writer = new MarkerWriter();
  const citations: Citation[] = [];
  let text = '';
  for await (const event of events) {
    if (event.type === 'text') {
      text += event.text;
      yield event;
    } else if (event.type === 'citation') {
      const marked = writer.mark(event.citation);
      citations.push(marked.citation);
      yield { type: 'citation', citation: marked.citation };
      if (marked.marker !== '') {
        text += marked.marker;
        yield { type: 'text', text: marked.marker };
      }
    } else if (event.type === 'done') {
      yield { type: 'done', answer: { ...event.answer, text, citations } };
    } else {
      yield event;
    }
  }
}
