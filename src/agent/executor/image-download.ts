import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import type { Progress } from './executor.ts';

/**
 * An image could not be fetched or is not the one expected. `recoverable` says whether fetching
 * again may help (a timeout, a 503) or not (a checksum mismatch, a 404: the OS profile is wrong).
 */
export class ImageDownloadError extends Error {
  constructor(
    message: string,
    readonly recoverable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ImageDownloadError';
  }
}

export interface ImageDownloadRequest {
  url: string;
  /** Lower-case hex. */
  sha256: string;
  /** Where the verified image ends up. */
  file: string;
  progress: Progress;
  signal: AbortSignal;
  /** Stall timeout for the connection. @default 60000 */
  timeoutMs?: number;
}

/**
 * Downloads `url` to `file` (through `file.part`), hashing as it goes; renames it into place only
 * when the sha256 matches. A file already there with the right hash is not fetched again.
 * Follows up to 5 redirects. Throws ImageDownloadError.
 * @example await downloadImage({ url, sha256, file: '/var/lib/eim-agent/images/<sha>.img', progress, signal })
 */
export async function downloadImage(req: ImageDownloadRequest): Promise<{ bytes: number; reused: boolean }> {
  await mkdir(path.dirname(req.file), { recursive: true, mode: 0o700 });
  const existing = await stat(req.file).catch(() => undefined);
  if (existing && (await hashFile(req.file)) === req.sha256) return { bytes: existing.size, reused: true };
  const part = `${req.file}.part`;
  try {
    const { bytes, digest } = await fetchTo(req.url, part, req, 5);
    if (digest !== req.sha256) {
      throw new ImageDownloadError(`checksum mismatch for ${req.url}: expected sha256 ${req.sha256}, got ${digest}; the image or the OS profile's sha256 is wrong, fix the profile`, false);
    }
    await rename(part, req.file);
    return { bytes, reused: false };
  } catch (e) {
    await rm(part, { force: true });
    if (e instanceof ImageDownloadError) throw e;
    if (req.signal.aborted) throw new ImageDownloadError('download stopped: the agent is stopping', true, { cause: e });
    throw new ImageDownloadError(`download of ${req.url} failed: ${(e as Error).message}`, true, { cause: e });
  }
}

function fetchTo(url: string, file: string, req: ImageDownloadRequest, redirectsLeft: number): Promise<{ bytes: number; digest: string }> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    const r = mod.get(url, { signal: req.signal, timeout: req.timeoutMs ?? 60_000 }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirectsLeft <= 0) return reject(new ImageDownloadError(`too many redirects fetching ${url}`, false));
        return resolve(fetchTo(new URL(res.headers.location, url).toString(), file, req, redirectsLeft - 1));
      }
      if (status !== 200) {
        res.resume();
        // 404, 403, 410: the URL is wrong and stays wrong. 5xx and 429: the server may recover.
        const recoverable = status >= 500 || status === 429 || status === 408;
        return reject(new ImageDownloadError(`fetching ${url} answered HTTP ${status}${recoverable ? '' : '; check the OS profile\'s imageUrl'}`, recoverable));
      }
      const total = Number(res.headers['content-length']) || 0;
      const hash = createHash('sha256');
      const out = createWriteStream(file, { mode: 0o600 });
      let bytes = 0;
      let lastPercent = -1;
      res.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
        const percent = total > 0 ? Math.floor((bytes / total) * 100) : 0;
        if (percent !== lastPercent) {
          lastPercent = percent;
          req.progress(percent, `downloaded ${bytes} of ${total || '?'} bytes`);
        }
      });
      res.on('error', (e) => {
        out.destroy();
        reject(e);
      });
      out.on('error', reject);
      res.pipe(out);
      out.on('finish', () => {
        if (total > 0 && bytes !== total) return reject(new Error(`connection closed after ${bytes} of ${total} bytes`));
        resolve({ bytes, digest: hash.digest('hex') });
      });
    });
    r.on('timeout', () => r.destroy(new Error(`no data for ${req.timeoutMs ?? 60_000} ms`)));
    r.on('error', reject);
  });
}

function hashFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (c) => hash.update(c))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
