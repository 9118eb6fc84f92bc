/**
 * Appends `value` to the list under `key`, making the list on first use — in place: a copy
 * per append (`[...(map.get(k) ?? []), v]`) makes grouping n items quadratic, which at
 * 10,000 groups cost a cycle ~145 ms (docs/benchmarks.md, issue 9).
 */
export function appendTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
