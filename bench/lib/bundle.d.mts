/** The repository's top directory. */
export const REPO_ROOT: string;
/** `EIM_BENCH_TSX=1`: the benchmarks run their TypeScript through tsx instead of bundled. */
export const THROUGH_TSX: boolean;
/** Bundles `entry` with esbuild into a file of this process's, removed when it exits; returns its path. */
export function bundle(entry: string): Promise<string>;
