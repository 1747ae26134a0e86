/**
 * Named console operators: one token per person, so what the journal records as "who" is who
 * signed in, not a name typed into a form. The file keeps only each token's SHA-256; a token is
 * shown once, when it is created. The file is readable by its owner only.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';

/** Where `warden console` looks for operators when no `--operators FILE` is given. */
export const DEFAULT_OPERATORS_FILE = 'data/console.operators.json';

/** An operator's name: what the journal records for each action. */
export const OperatorName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/, 'an operator name is 1-40 letters, digits, ".", "_" or "-"');

/**
 * One operator as the console knows it: a name and the SHA-256 (hex) of their token.
 *
 * @example
 * const ana: ConsoleOperator = { name: 'ana', tokenSha256: tokenDigest('…') };
 */
export interface ConsoleOperator {
  readonly name: string;
  readonly tokenSha256: string;
}

const OperatorsFile = z.strictObject({
  operators: z.array(z.strictObject({ name: OperatorName, tokenSha256: z.string().regex(/^[0-9a-f]{64}$/), createdAt: z.string().max(64) })).max(1_000),
});

/**
 * The SHA-256 (hex) of a token, as the operators file stores it.
 *
 * @example
 * tokenDigest('secret-token').length; // 64
 */
export const tokenDigest = (token: string): string => createHash('sha256').update(token).digest('hex');

/**
 * Reads an operators file; a file others can read, or one that does not parse, is refused with why.
 *
 * @example
 * const operators = readOperators('data/console.operators.json');
 */
export function readOperators(file: string): ConsoleOperator[] {
  if ((statSync(file).mode & 0o077) !== 0) throw new Error(`${file} is readable by others (mode ${(statSync(file).mode & 0o777).toString(8)}): chmod 600 it first`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file} is not JSON (${(e as Error).message})`);
  }
  const parsed = OperatorsFile.safeParse(json);
  if (!parsed.success) throw new Error(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('; ')}`);
  return parsed.data.operators.map(({ name, tokenSha256 }) => ({ name, tokenSha256 }));
}

/**
 * Adds an operator to the file (created, owner-only, when missing) and returns their new token,
 * which is stored nowhere but in the operator's hands. A name already present is refused.
 *
 * @example
 * const token = addOperator('data/console.operators.json', 'ana');
 */
export function addOperator(file: string, name: string): string {
  const valid = OperatorName.safeParse(name);
  if (!valid.success) throw new Error(valid.error.issues[0]!.message);
  let existing: z.infer<typeof OperatorsFile>['operators'] = [];
  if (existsSync(file)) {
    readOperators(file); // the same checks as at the console's start: owner-only, well-formed
    existing = OperatorsFile.parse(JSON.parse(readFileSync(file, 'utf8'))).operators;
  }
  if (existing.some((o) => o.name === name)) throw new Error(`operator ${name} already exists in ${file}`);
  const token = randomBytes(24).toString('base64url');
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ operators: [...existing, { name, tokenSha256: tokenDigest(token), createdAt: new Date().toISOString() }] }, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
  return token;
}
