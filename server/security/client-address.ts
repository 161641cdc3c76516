// Who the client is, by network address: the socket's peer, or, when that peer is a proxy the
// operator declared trusted (--trust-proxy), the address that proxy recorded in
// X-Forwarded-For. A header a client sends is never believed on its own: entries are read from
// the right, and the first one not added by a trusted proxy is the client.
import net from 'node:net';
import type { Context, Next } from 'koa';

export interface TrustedProxies {
  /** Whether `address` (IPv4 or IPv6, normalized) is a trusted proxy. */
  has(address: string): boolean;
  /** The entries as given, for logs. */
  readonly entries: readonly string[];
}

export class TrustProxyError extends Error {
  readonly code = 'invalid_trust_proxy';
}

const MAX_FORWARDED_HOPS = 32;

/** `::ffff:10.0.0.1` is 10.0.0.1; anything else as given. */
export function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1] : address;
}

/**
 * Parses the --trust-proxy value: comma-separated IP addresses and CIDR ranges, e.g.
 * `10.0.0.0/8,192.168.1.5,fd00::/8`. Empty means no proxy is trusted.
 */
export function parseTrustedProxies(text: string | undefined): TrustedProxies {
  const list = new net.BlockList();
  const entries = (text ?? '').split(',').map((e) => e.trim()).filter(Boolean);
  for (const entry of entries) {
    const [address, prefixText, extra] = entry.split('/');
    const family = net.isIP(address);
    if (family === 0 || extra !== undefined) throw new TrustProxyError(`--trust-proxy: ${JSON.stringify(entry)} is not an IP address or CIDR range`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefixText === undefined) {
      list.addAddress(address, type);
      continue;
    }
    const prefix = Number(prefixText);
    if (!/^\d{1,3}$/.test(prefixText) || prefix > (family === 4 ? 32 : 128)) {
      throw new TrustProxyError(`--trust-proxy: ${JSON.stringify(entry)} has an invalid prefix length`);
    }
    list.addSubnet(address, prefix, type);
  }
  return {
    entries,
    has(address: string): boolean {
      const a = normalizeAddress(address);
      const family = net.isIP(a);
      return family !== 0 && entries.length > 0 && list.check(a, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

/** The client's address given the socket peer and the X-Forwarded-For header (if any). */
export function clientAddress(socketAddress: string | undefined, forwardedFor: string | undefined, trusted: TrustedProxies): string {
  let client = normalizeAddress(socketAddress ?? '');
  if (!forwardedFor || !trusted.has(client)) return client;
  const hops = forwardedFor.split(',').map((h) => h.trim()).filter(Boolean);
  // Right to left: each trusted hop vouches for the entry before it; stop at the first that is not trusted.
  for (let i = hops.length - 1, seen = 0; i >= 0 && seen < MAX_FORWARDED_HOPS; i -= 1, seen += 1) {
    const hop = normalizeAddress(hops[i].replace(/^\[(.*)\](?::\d+)?$/, '$1'));
    // A trusted proxy wrote something that is not an address: the proxy itself is all that is known.
    if (net.isIP(hop) === 0) return client;
    client = hop;
    if (!trusted.has(hop)) return client;
  }
  return client;
}

/** Sets `ctx.ip` (what the audit log, the rate limits and the services read) to the client's address. */
export function clientAddressMiddleware(trusted: TrustedProxies) {
  return async function resolveClientAddress(ctx: Context, next: Next): Promise<void> {
    ctx.request.ip = clientAddress(ctx.req.socket.remoteAddress, ctx.get('X-Forwarded-For') || undefined, trusted);
    await next();
  };
}
