// Node module hooks that make 'ccxt' unresolvable, as on a machine where it is not installed.
// Used with `node --import ./test/venues/withoutCcxt.mjs`.
import { register } from 'node:module';

register(
  'data:text/javascript,' +
    encodeURIComponent(`
export async function resolve(specifier, context, next) {
  if (specifier === 'ccxt' || specifier.startsWith('ccxt/')) {
    throw Object.assign(new Error("Cannot find package 'ccxt' imported from " + context.parentURL), { code: 'ERR_MODULE_NOT_FOUND' });
  }
  return next(specifier, context);
}`),
);
