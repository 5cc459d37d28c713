/**
 * Tenant ids. Every object key and index key is scoped by tenant, so the id
 * must be safe inside both: the rules of Cortex/Mimir tenant ids (letters,
 * digits and `!-_.*'()`, at most 150 characters, not `.` or `..`).
 */
import { BadInputError } from '../util/errors.ts';

export const DefaultTenant = 'anonymous';
export const TenantHeader = 'x-scope-orgid';

const TenantRe = /^[A-Za-z0-9!\-_.*'()]{1,150}$/;

/** Returns the tenant id or throws BadInputError naming what is wrong. */
export function validateTenant(id: string): string {
  if (!TenantRe.test(id) || id === '.' || id === '..') {
    throw new BadInputError(`invalid tenant id ${JSON.stringify(id.slice(0, 160))}: use 1-150 of A-Z a-z 0-9 ! - _ . * ' ( )`);
  }
  return id;
}

/** The tenant of a request: the X-Scope-OrgID header, or `anonymous`. */
export function tenantFromHeaders(headers: Readonly<Record<string, string | undefined>>): string {
  const h = headers[TenantHeader];
  return h === undefined || h === '' ? DefaultTenant : validateTenant(h);
}
