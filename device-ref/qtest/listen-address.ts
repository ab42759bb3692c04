// Layer: qtest.
// Where the qtest server listens: `unix:PATH`, or `tcp:HOST:PORT` where HOST may be empty
// (or the whole `HOST:` left out) for 127.0.0.1, or `[v6]`. PORT 0 picks a free port.

export type ListenAddress =
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

const DEFAULT_TCP_HOST = '127.0.0.1';

export function parseListenAddress(text: string): ListenAddress {
  if (text.startsWith('unix:') && text.length > 'unix:'.length) {
    return { kind: 'unix', path: text.slice('unix:'.length) };
  }
  const tcp = /^tcp:(?:(\[[^\]]+\]|[^:[\]]*):)?(\d{1,5})$/.exec(text);
  if (tcp !== null) {
    const port = Number(tcp[2]);
    const host = (tcp[1] ?? '').replace(/^\[(.*)\]$/, '$1');
    if (port <= 65535) return { kind: 'tcp', host: host === '' ? DEFAULT_TCP_HOST : host, port };
  }
  throw new Error(`invalid listen address '${text}': expected unix:PATH or tcp:[HOST:]PORT`);
}

export function formatListenAddress(address: ListenAddress): string {
  if (address.kind === 'unix') return `unix:${address.path}`;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `tcp:${host}:${address.port}`;
}
