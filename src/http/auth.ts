/**
 * Bearer-token check for the mutating API (docs/design.md §7: `Authorization: Bearer
 * <http.adminToken>`). Constant-time comparison of SHA-256 digests, so neither the
 * token's content nor its length leaks through timing. An empty adminToken disables
 * mutations altogether.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type * as http from 'node:http';
import { HttpError } from './respond';

/** Throws HttpError 403 (mutations disabled) or 401 (missing / wrong token). */
export function requireAdminToken(req: http.IncomingMessage, adminToken: string): void {
  if (adminToken === '') {
    throw new HttpError(
      403,
      'MUTATIONS_DISABLED',
      'mutating endpoints are disabled because http.adminToken is empty; set http.adminToken (e.g. "${VIGIL_ADMIN_TOKEN}") on every replica and restart them one at a time',
    );
  }
  const header = req.headers['authorization'];
  const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (m === null) {
    throw new HttpError(401, 'UNAUTHORIZED', 'this endpoint needs "Authorization: Bearer <http.adminToken>"');
  }
  if (!tokensEqual(m[1] as string, adminToken)) {
    throw new HttpError(401, 'UNAUTHORIZED', 'the bearer token does not match http.adminToken');
  }
}

export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}
