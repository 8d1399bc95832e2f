/** Dice coefficient of word-bigram multisets: 1 for the same text, near 0 for unrelated or shuffled text. */
export function bigramSimilarity(a: string, b: string): number {
  const bigrams = (text: string) => {
    const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
    const counts = new Map<string, number>();
    for (let i = 0; i + 1 < words.length; i++) {
      const key = `${words[i]} ${words[i + 1]}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return { counts, total: Math.max(0, words.length - 1) };
  };
  const x = bigrams(a);
  const y = bigrams(b);
  if (x.total + y.total === 0) return 1;
  let shared = 0;
  for (const [key, n] of x.counts) shared += Math.min(n, y.counts.get(key) ?? 0);
  return (2 * shared) / (x.total + y.total);
}
