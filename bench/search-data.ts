/**
 * Synthetic corpus for bench:search: clustered 384-d unit vectors (a stand-in for sentence embeddings: topics,
 * with spread inside each) and ~400-character texts whose words follow the same topics, so BM25 queries have
 * answers too. Documents carry a `group` (1 of 100: a 1% filter) and a `decile` (1 of 10: a 10% filter).
 */

import { normalize } from '../src/embed/vector-math.js';

export const DIMENSIONS = 384;

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/**
 * √n topics in a 32-d latent space, projected into 384-d with a little full-rank noise. Sentence embeddings have a
 * low intrinsic dimension like this, which is what lets HNSW navigate them.
 */
export class ClusteredVectors {
  private static readonly LATENT = 32;
  readonly clusters: number;
  private readonly centres: Float64Array[];
  private readonly projection: Float64Array;

  constructor(
    count: number,
    private readonly random: () => number,
  ) {
    const latent = ClusteredVectors.LATENT;
    this.clusters = Math.max(16, Math.round(Math.sqrt(count)));
    this.centres = Array.from({ length: this.clusters }, () =>
      Float64Array.from({ length: latent }, () => gaussian(random)),
    );
    this.projection = Float64Array.from(
      { length: DIMENSIONS * latent },
      () => gaussian(random) / Math.sqrt(latent),
    );
  }

  /** A vector of a random topic, and that topic. */
  next(): { vector: Float32Array; topic: number } {
    const latent = ClusteredVectors.LATENT;
    const topic = Math.floor(this.random() * this.centres.length);
    const centre = this.centres[topic]!;
    const z = Float64Array.from(centre, (value) => value + 0.5 * gaussian(this.random));
    const vector = new Float32Array(DIMENSIONS);
    for (let row = 0; row < DIMENSIONS; row++) {
      let sum = 0;
      for (let j = 0; j < latent; j++) sum += this.projection[row * latent + j]! * z[j]!;
      vector[row] = sum + 0.048 * gaussian(this.random);
    }
    return { vector: normalize(vector), topic };
  }
}

const SYLLABLES = 'ka lo mi ne ru sa ti vo ze ba du fe gi ho ju ly'.split(' ');

/** A pronounceable word per number: word(0) = "kaka", ... */
function word(n: number): string {
  let out = '';
  let v = n + 17;
  for (let i = 0; i < 3; i++) {
    out += SYLLABLES[v % SYLLABLES.length];
    v = Math.floor(v / SYLLABLES.length);
  }
  return out;
}

/** Texts of ~400 characters: a topic's own words mixed with words common to every topic. */
export class TopicTexts {
  constructor(
    private readonly random: () => number,
    private readonly wordsPerTopic = 40,
  ) {}

  topicWord(topic: number, i: number): string {
    return word(1000 + topic * this.wordsPerTopic + i);
  }

  text(topic: number): string {
    const words: string[] = [];
    let length = 0;
    while (length < 400) {
      const w =
        this.random() < 0.4
          ? this.topicWord(topic, Math.floor(this.random() * this.wordsPerTopic))
          : word(Math.floor(this.random() * 800));
      words.push(w);
      length += w.length + 1;
    }
    return words.join(' ');
  }

  /** Two words of one topic: a BM25 query with a few hundred matches. */
  query(topic: number): string {
    const a = Math.floor(this.random() * this.wordsPerTopic);
    const b = (a + 1 + Math.floor(this.random() * (this.wordsPerTopic - 1))) % this.wordsPerTopic;
    return `${this.topicWord(topic, a)} ${this.topicWord(topic, b)}`;
  }
}
