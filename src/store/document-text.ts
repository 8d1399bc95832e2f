/**
 * A document's text is kept once: its chunks hold the parts they cover (each chunk's text is
 * `text.slice(start, end)`), and the document row only what no chunk covers, its gaps. The full text is put back
 * together from both when asked for.
 */

export interface ChunkSpan {
  start: number;
  end: number;
  text: string;
}

/**
 * What of `text` no chunk covers, in order; undefined when a chunk is not the slice of `text` its offsets name
 * (then the text is kept whole).
 */
export function textGaps(text: string, chunks: readonly ChunkSpan[]): string | undefined {
  const spans = [...chunks].sort(bySpan);
  let gaps = '';
  let position = 0;
  for (const span of spans) {
    if (!(span.start >= 0 && span.end <= text.length && span.start <= span.end)) return undefined;
    if (text.slice(span.start, span.end) !== span.text) return undefined;
    if (span.start > position) gaps += text.slice(position, span.start);
    position = Math.max(position, span.end);
  }
  gaps += text.slice(position);
  // What is kept must give the text back: checked once here, not trusted.
  return joinText(gaps, spans) === text ? gaps : undefined;
}

/** The text `textGaps` took apart: chunks and gaps interleaved again. */
export function joinText(gaps: string, chunks: readonly ChunkSpan[]): string {
  const parts: string[] = [];
  let position = 0;
  let used = 0;
  for (const span of [...chunks].sort(bySpan)) {
    if (span.end <= position) continue;
    if (span.start > position) {
      parts.push(gaps.slice(used, used + span.start - position));
      used += span.start - position;
      position = span.start;
    }
    parts.push(span.text.slice(position - span.start));
    position = span.end;
  }
  parts.push(gaps.slice(used));
  return parts.join('');
}

function bySpan(a: ChunkSpan, b: ChunkSpan): number {
  return a.start - b.start || b.end - a.end;
}
