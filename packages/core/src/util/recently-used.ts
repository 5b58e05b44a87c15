/**
 * Marks `key` (holding `value`) as just used in a Map whose insertion order is its least-recently-used
 * order and which drops its oldest entry beyond `max`. Moving an entry (delete, then set) makes the
 * Map rebuild its table every few hits, so it is moved only once the Map is past half of `max`: below
 * that nothing can be dropped before at least `max / 2` more inserts, and every hit from then on moves
 * its entry to the young end.
 */
export function markUsed<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  if (map.size <= max / 2) return;
  map.delete(key);
  map.set(key, value);
}
