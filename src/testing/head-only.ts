import { connect } from 'node:net';
import tls from 'node:tls';

/**
 * Sends a request head announcing `length` bytes of body, and no body; resolves with the status line
 * of the answer, or 'no answer' after `ms`. Over TLS with `tlsOptions` (the server's CA, a client
 * certificate). What a server that reads the body before checking the caller never answers.
 * @example await headOnly(url, 'POST', '/southbound/v1/heartbeat', { authorization: 'Bearer x' }, 400_000, 3000) // 'HTTP/1.1 401 Unauthorized'
 */
export function headOnly(url: string, method: string, path: string, headers: Record<string, string>, length: number, ms: number, tlsOptions?: tls.ConnectionOptions): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = tlsOptions ? tls.connect({ host: hostname, port: Number(port), ...tlsOptions }) : connect(Number(port), hostname);
    let got = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve('no answer');
    }, ms);
    s.on('data', (b) => {
      got += b;
      if (got.includes('\r\n')) {
        clearTimeout(timer);
        s.destroy();
        resolve(got.split('\r\n')[0]!);
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    s.write(`${method} ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n${extra}\r\n`);
  });
}
