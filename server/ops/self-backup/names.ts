// The names of Slipway's backup archives, and their order in time (backups.ts, copies.ts).

/** An archive's file name: `slipway-20261205T101500Z.tar.age` (a second one in the same second gets `-2`). */
export const NAME = /^slipway-\d{8}T\d{6}Z(?:-\d+)?\.tar\.age$/;

/** An archive's place in time, for sorting: its stamp, then its number within the second (`-2` after none). */
export function order(name: string): string {
  const m = /^slipway-(\d{8}T\d{6}Z)(?:-(\d+))?\./.exec(name);
  return m ? `${m[1]}-${(m[2] ?? '1').padStart(6, '0')}` : name;
}

/** Newest first. */
export const newestFirst = (a: { name: string }, b: { name: string }) => {
  const [x, y] = [order(a.name), order(b.name)];
  return x < y ? 1 : x > y ? -1 : 0;
};
