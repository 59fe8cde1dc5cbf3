/**
 * What a TLS handshake says about a server: protocol, cipher, the certificate (subject, issuer,
 * days to expiry) and every problem with the chain, collected rather than stopping at the first:
 * an expired certificate is often also self-signed or for another name, and the operator wants
 * all of it in one report.
 */
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate, DetailedPeerCertificate, TLSSocket } from 'node:tls';

export interface TlsProblem {
  /** OpenSSL's verify code where there is one (CERT_HAS_EXPIRED...), else our own. */
  readonly code: string;
  readonly message: string;
}

export interface TlsReport {
  readonly protocol: string | null;
  readonly cipher: string | null;
  readonly alpn: string | null;
  readonly subject: string | null;
  readonly issuer: string | null;
  readonly subjectAltNames: string | null;
  readonly validFrom: string | null;
  readonly validTo: string | null;
  /** Negative when the certificate has expired. */
  readonly daysToExpiry: number | null;
  readonly chainLength: number;
  readonly problems: readonly TlsProblem[];
}

const DAY_MS = 86_400_000;

function distinguishedName(name: Record<string, unknown> | undefined): string | null {
  if (name === undefined) return null;
  const parts = Object.entries(name).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`);
  return parts.length === 0 ? null : parts.join(', ');
}

/** The chain as the server sent it, leaf first; stops at a self-reference (a root). */
function chainOf(leaf: DetailedPeerCertificate): PeerCertificate[] {
  const chain: PeerCertificate[] = [];
  let current: DetailedPeerCertificate | undefined = leaf;
  while (current !== undefined && Object.keys(current).length > 0 && chain.length < 10) {
    chain.push(current);
    const next: DetailedPeerCertificate | undefined = current.issuerCertificate;
    if (next === undefined || next === current || next.fingerprint256 === current.fingerprint256) break;
    current = next;
  }
  return chain;
}

const VERIFY_MESSAGES: Record<string, string> = {
  CERT_HAS_EXPIRED: 'the certificate has expired',
  CERT_NOT_YET_VALID: 'the certificate is not yet valid',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'the chain ends in a self-signed root that is not trusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the issuer is not in the trusted CAs (missing intermediate or private CA)',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the leaf certificate cannot be verified (missing intermediate?)',
  CERT_REVOKED: 'the certificate is revoked',
};

export function inspectTls(socket: TLSSocket, servername: string, extraCas: readonly string[] = [], now = Date.now()): TlsReport {
  const problems: TlsProblem[] = [];
  const add = (code: string, message: string): void => {
    if (!problems.some((p) => p.code === code)) problems.push({ code, message });
  };
  const leaf = socket.getPeerCertificate(true);
  const hasLeaf = Object.keys(leaf).length > 0;
  const chain = hasLeaf ? chainOf(leaf) : [];

  // OpenSSL's verdict (it reports one error: the first it met walking the chain).
  const verifyError = socket.authorizationError;
  if (verifyError !== null && verifyError !== undefined) {
    const code = typeof verifyError === 'string' ? verifyError : String((verifyError as Error & { code?: string }).code ?? verifyError.message);
    add(code, VERIFY_MESSAGES[code] ?? `verification failed: ${code}`);
  }
  if (!hasLeaf) add('NO_CERTIFICATE', 'the server sent no certificate');

  // Our own checks, so that every problem shows, not only OpenSSL's first.
  chain.forEach((cert, depth) => {
    const what = depth === 0 ? 'the certificate' : `chain certificate ${depth} (${distinguishedName(cert.subject) ?? '?'})`;
    const notAfter = Date.parse(cert.valid_to);
    const notBefore = Date.parse(cert.valid_from);
    if (Number.isFinite(notAfter) && notAfter < now) add(depth === 0 ? 'CERT_HAS_EXPIRED' : `CHAIN_CERT_EXPIRED_${depth}`, `${what} expired on ${new Date(notAfter).toISOString()}`);
    if (Number.isFinite(notBefore) && notBefore > now) add(depth === 0 ? 'CERT_NOT_YET_VALID' : `CHAIN_CERT_NOT_YET_VALID_${depth}`, `${what} is not valid before ${new Date(notBefore).toISOString()}`);
  });
  // Trust, checked apart from the dates: OpenSSL stops at its first error, and for an expired
  // self-signed certificate that is the expiry, hiding that nobody trusts it anyway.
  const trust = trustProblem(chain, extraCas);
  if (trust !== null) add(trust.code, trust.message);
  if (hasLeaf) {
    const mismatch = tls.checkServerIdentity(servername, leaf);
    if (mismatch !== undefined) add('ERR_TLS_CERT_ALTNAME_INVALID', `the certificate does not match ${servername}: ${mismatch.message}`);
  }
  const protocol = socket.getProtocol();
  if (protocol === 'TLSv1' || protocol === 'TLSv1.1') add('WEAK_PROTOCOL', `${protocol} is deprecated (RFC 8996)`);

  const validTo = hasLeaf ? Date.parse(leaf.valid_to) : NaN;
  const alpn = socket.alpnProtocol;
  return {
    protocol: protocol ?? null,
    cipher: socket.getCipher()?.name ?? null,
    alpn: typeof alpn === 'string' ? alpn : null,
    subject: hasLeaf ? distinguishedName(leaf.subject) : null,
    issuer: hasLeaf ? distinguishedName(leaf.issuer) : null,
    subjectAltNames: hasLeaf ? (leaf.subjectaltname ?? null) : null,
    validFrom: hasLeaf ? new Date(leaf.valid_from).toISOString() : null,
    validTo: Number.isFinite(validTo) ? new Date(validTo).toISOString() : null,
    daysToExpiry: Number.isFinite(validTo) ? Math.floor((validTo - now) / DAY_MS) : null,
    chainLength: chain.length,
    problems,
  };
}

let systemRoots: X509Certificate[] | null = null;

function parsePems(pems: readonly string[]): X509Certificate[] {
  const certs: X509Certificate[] = [];
  for (const pem of pems) {
    for (const block of pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []) {
      try {
        certs.push(new X509Certificate(block));
      } catch {
        // An unparsable CA is simply not a trust anchor.
      }
    }
  }
  return certs;
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/** Does the chain end at a trusted root (Node's bundled roots plus `extraCas`)? Dates ignored. */
function trustProblem(chain: readonly PeerCertificate[], extraCas: readonly string[]): TlsProblem | null {
  const certs = chain.map((c) => {
    try {
      return new X509Certificate(c.raw);
    } catch {
      return null;
    }
  });
  if (certs.length === 0 || certs.some((c) => c === null)) return null;
  const parsed = certs as X509Certificate[];
  systemRoots ??= parsePems(tls.rootCertificates);
  const anchors = [...systemRoots, ...parsePems(extraCas)];
  const top = parsed[parsed.length - 1] as X509Certificate;
  const trusted = anchors.some((root) => root.fingerprint256 === top.fingerprint256 || issuedBy(top, root));
  if (trusted) return null;
  const selfSigned = issuedBy(top, top);
  if (selfSigned && parsed.length === 1) return { code: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: 'the certificate is self-signed and not trusted' };
  if (selfSigned) return { code: 'SELF_SIGNED_CERT_IN_CHAIN', message: 'the chain ends in a self-signed root that is not trusted' };
  return { code: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', message: 'the issuer is not among the trusted CAs (missing intermediate or private CA?)' };
}
