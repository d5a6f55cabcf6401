import https from 'node:https';

export interface HttpsCallOptions {
  method?: string;
  token?: string;
  body?: unknown;
  /** The CA (PEM) that signed the server's certificate. */
  ca: string;
  /** A client certificate and key (PEM) to present when the server asks. */
  cert?: string;
  key?: string;
  /** Resolve when the answer's head arrives (an SSE stream), with the first chunk of its body. */
  stream?: boolean;
}

/**
 * One HTTPS call on a fresh connection (no pool: each call makes its own TLS handshake, so the
 * client certificate it presents is the one given): the status and the parsed JSON body.
 * @example const r = await httpsCall(`${url}/southbound/v1/heartbeat`, { method: 'POST', token, ca, cert, key, body: {} })
 */
export function httpsCall(url: string, o: HttpsCallOptions): Promise<{ status: number; json: any; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = o.body === undefined ? undefined : JSON.stringify(o.body);
    const req = https.request(
      url,
      {
        method: o.method ?? 'GET',
        agent: false,
        ca: o.ca,
        ...(o.cert ? { cert: o.cert, key: o.key } : {}),
        headers: {
          ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
          ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        const done = () => {
          let json: unknown;
          try {
            json = text && !o.stream ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, json, text });
        };
        res.on('data', (c: string) => {
          text += c;
          if (o.stream && res.statusCode === 200) {
            done();
            req.destroy();
          }
        });
        res.on('end', done);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
