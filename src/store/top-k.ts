import type { ScoredId } from './sqlite-store.js';

/** Keeps the k highest-scoring ids seen so far in a min-heap: O(n log k) over a scan, O(k) memory. */
export class TopK {
  private readonly heap: ScoredId[] = [];

  constructor(readonly k: number) {}

  /** Lowest score that still gets in once the heap is full. */
  get threshold(): number {
    return this.heap.length < this.k ? Number.NEGATIVE_INFINITY : this.heap[0]!.score;
  }

  push(id: number, score: number): void {
    const heap = this.heap;
    if (heap.length < this.k) {
      heap.push({ id, score });
      this.siftUp(heap.length - 1);
    } else if (worse(heap[0]!, { id, score })) {
      heap[0] = { id, score };
      this.siftDown(0);
    }
  }

  /** Best first; equal scores in ascending id order so results are deterministic. */
  sorted(): ScoredId[] {
    return [...this.heap].sort((a, b) => b.score - a.score || a.id - b.id);
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!worse(heap[i]!, heap[parent]!)) return;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && worse(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && worse(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  }
}

/** a ranks below b: lower score, or the same score and a higher id. */
function worse(a: ScoredId, b: ScoredId): boolean {
  return a.score < b.score || (a.score === b.score && a.id > b.id);
}
