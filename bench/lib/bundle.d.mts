/** The repository's top directory. */
export const REPO_ROOT: string;
/** Bundles `entry` with esbuild into a file of this process's, removed when it exits; returns its path. */
export function bundle(entry: string): Promise<string>;
