/**
 * Every pair of images the labels prove same or different, not only the pairs a file lists.
 *
 * Labelled same-person pairs are closed transitively into identities (union-find). Two identities
 * are provably different when a labelled different-person pair joins them; then every image pair
 * across them is an impostor pair. Nothing is inferred from looks, file names across sources or
 * scores: two public figures from different sources with no labelled pair between them (the same
 * person can appear in two sets, e.g. Obama) stay unpaired.
 *
 * A set declared `disjoint` is one whose people, by its documented provenance, appear in no other
 * set (e.g. anonymous volunteers of a capture campaign, when every other set shows public figures):
 * every pair between its images and the other sets' images is an impostor pair too. The declaration
 * is the caller's, and the calibration description records it.
 */
import type { LabelledPair } from './sets';

export interface ExpandedPairs {
  /** listed pairs first (file order, duplicates dropped), then derived ones (sorted by path) */
  pairs: LabelledPair[];
  /** identity (index) of each image */
  identityOf: Map<string, number>;
  images: number;
  identities: number;
  counts: { listedSame: number; listedDifferent: number; derivedSame: number; derivedDifferent: number; disjointDifferent: number };
}

export function expandPairs(labelled: readonly LabelledPair[], disjointSets: ReadonlyArray<readonly LabelledPair[]> = []): ExpandedPairs {
  const disjoint = disjointSets.flat();
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    if (!parent.has(x)) parent.set(x, x);
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(x, r);
    return r;
  };
  const all = [...labelled, ...disjoint];
  for (const p of all) {
    const [ra, rb] = [find(p.a), find(p.b)];
    if (p.same && ra !== rb) parent.set(ra, rb);
  }
  const key = (x: string, y: string) => (x < y ? `${x}\n${y}` : `${y}\n${x}`);
  const different = new Set<string>();
  for (const p of all) {
    if (p.same) continue;
    const [ra, rb] = [find(p.a), find(p.b)];
    if (ra === rb) throw new Error(`labels contradict each other: ${p.a} and ${p.b} are labelled different but linked by same-person pairs`);
    different.add(key(ra, rb));
  }
  // which disjoint set an image belongs to (−1: none)
  const setOf = new Map<string, number>();
  disjointSets.forEach((set, n) =>
    set.flatMap((p) => [p.a, p.b]).forEach((img) => {
      if ((setOf.get(img) ?? n) !== n) throw new Error(`an image is in two disjoint sets: ${img}`);
      setOf.set(img, n);
    }),
  );
  const overlap = labelled.flatMap((p) => [p.a, p.b]).filter((i) => setOf.has(i));
  if (overlap.length) throw new Error(`an image of a disjoint set also appears in another set: ${overlap[0]}`);

  const counts = { listedSame: 0, listedDifferent: 0, derivedSame: 0, derivedDifferent: 0, disjointDifferent: 0 };
  const seen = new Set<string>();
  const pairs: LabelledPair[] = [];
  for (const p of all) {
    const k = key(p.a, p.b);
    if (p.a === p.b || seen.has(k)) continue;
    seen.add(k);
    pairs.push(p);
    counts[p.same ? 'listedSame' : 'listedDifferent']++;
  }
  const images = [...parent.keys()].sort();
  for (let i = 0; i < images.length; i++) {
    for (let j = i + 1; j < images.length; j++) {
      const [a, b] = [images[i], images[j]];
      if (seen.has(key(a, b))) continue;
      const [ra, rb] = [find(a), find(b)];
      if (ra === rb) {
        pairs.push({ a, b, same: true });
        counts.derivedSame++;
      } else if (different.has(key(ra, rb))) {
        pairs.push({ a, b, same: false });
        counts.derivedDifferent++;
      } else if ((setOf.get(a) ?? -1) !== (setOf.get(b) ?? -1)) {
        pairs.push({ a, b, same: false });
        counts.disjointDifferent++;
      }
    }
  }
  const roots = [...new Set(images.map(find))];
  const identityOf = new Map(images.map((img) => [img, roots.indexOf(find(img))]));
  return { pairs, identityOf, images: images.length, identities: roots.length, counts };
}
