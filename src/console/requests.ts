/** What the console accepts from a request: its forms and queries (zod), and the host names it answers at. */
import { z } from 'zod';
import { SymbolSchema } from '../domain/schemas.js';

export const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
/** The names a loopback console answers to (Host header): anything else may be a name rebound to this machine. */
export const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]'];

/** Typed by whoever signed in with the shared token; ignored for a named operator's session. */
export const TypedOperator = z.string().trim().max(100).optional();
export const KillSwitchForm = z.object({
  state: z.enum(['off', 'warning', 'active']),
  symbol: z.union([z.literal(''), SymbolSchema]).default(''),
  reason: z.string().trim().min(1, 'a reason is required').max(500),
  operator: TypedOperator,
  confirmed: z.literal('yes').optional(),
  csrf: z.string().max(128),
});
export const ResolveForm = z.object({
  advisoryId: z.string().min(1).max(128),
  operator: TypedOperator,
  note: z.string().trim().min(1, 'a note is required').max(2000),
  csrf: z.string().max(128),
});
export const StopForm = z.object({
  reason: z.string().trim().max(500).optional(),
  operator: TypedOperator,
  confirmed: z.literal('yes').optional(),
  csrf: z.string().max(128),
});
export const FinishedQuery = z.object({
  q: z.string().trim().max(128).default(''),
  status: z.string().max(40).default(''),
  symbol: z.string().max(32).default(''),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
});
export const LoginForm = z.object({ token: z.string().min(1).max(512) });
export const AdvisoryId = z.string().max(128);

/** The hostname of a Host header value (`name:port`, `[v6]:port`), lower-cased; null when malformed. */
export function hostnameOf(host: string | undefined): string | null {
  if (!host) return null;
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::\d{1,5})?$/i.exec(host.trim());
  return m ? m[1]!.toLowerCase() : null;
}

/** A form's problems, one line. */
export const issues = (e: z.ZodError) => e.issues.map((i) => `${i.path.join('.') || 'form'}: ${i.message}`).join('; ');
