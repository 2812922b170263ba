// Kendall's tau-b rank correlation in O(n log n) (Knight's algorithm): sort by x then y,
// count tied pairs, and count discordant pairs as the swaps a merge sort on y needs.
// tau-b = (n0 - n1 - n2 + n3 - 2·swaps) / sqrt((n0 - n1)(n0 - n2)), where n1 and n2 are
// pairs tied in x and in y, and n3 pairs tied in both.

function tiedPairs(sorted: readonly number[]): number {
  let pairs = 0;
  let run = 1;
  for (let i = 1; i <= sorted.length; i++) {
    if (i < sorted.length && sorted[i] === sorted[i - 1]) run++;
    else {
      pairs += (run * (run - 1)) / 2;
      run = 1;
    }
  }
  return pairs;
}

/** Sorts `a` in place (ascending) and returns the number of strict inversions. */
function mergeSortSwaps(a: number[]): number {
  const n = a.length;
  let buf = new Array<number>(n);
  let src = a;
  let swaps = 0;
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        if (src[j] < src[i]) {
          swaps += mid - i;
          buf[k++] = src[j++];
        } else buf[k++] = src[i++];
      }
      while (i < mid) buf[k++] = src[i++];
      while (j < hi) buf[k++] = src[j++];
    }
    [src, buf] = [buf, src];
  }
  if (src !== a) for (let i = 0; i < n; i++) a[i] = src[i];
  return swaps;
}

/** Kendall's tau-b of paired observations, or null when undefined (n < 2 or a constant side). */
export function kendallTauB(x: readonly number[], y: readonly number[]): number | null {
  const n = Math.min(x.length, y.length);
  if (n < 2) return null;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => x[i] - x[j] || y[i] - y[j]);
  const xs = order.map((i) => x[i]);
  const ys = order.map((i) => y[i]);
  const n1 = tiedPairs(xs);
  // joint ties: runs equal in both x and y (adjacent after the sort)
  let n3 = 0;
  let run = 1;
  for (let i = 1; i <= n; i++) {
    if (i < n && xs[i] === xs[i - 1] && ys[i] === ys[i - 1]) run++;
    else {
      n3 += (run * (run - 1)) / 2;
      run = 1;
    }
  }
  const swaps = mergeSortSwaps(ys);
  const n2 = tiedPairs(ys);
  const n0 = (n * (n - 1)) / 2;
  const denominator = Math.sqrt((n0 - n1) * (n0 - n2));
  if (denominator === 0) return null;
  return (n0 - n1 - n2 + n3 - 2 * swaps) / denominator;
}
