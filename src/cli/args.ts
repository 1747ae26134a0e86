/**
 * What every `warden` command shares: the strict option parser, a command's shape, and the option
 * groups several commands take. A command is one file under `commands/` exporting a {@link Command}.
 */
import { parseArgs } from 'node:util';
import { SymbolSchema } from '../domain/schemas.js';

/** The journal file every command works on unless told otherwise. */
export const DEFAULT_JOURNAL = 'data/warden.journal.sqlite';

/** A mistake in how the command was called: one clear line and exit code 2. */
export class UsageError extends Error {}

/** A command's arguments once parsed: `--name` → its values (the last one counts), and the flags given. */
export interface Args {
  positional: string[];
  options: Map<string, string[]>;
  flags: Set<string>;
}

/** One option a command understands; `help` is its line in `warden COMMAND --help`. */
export type OptionSpec = { readonly type: 'string' | 'boolean'; readonly help: string; readonly multiple?: boolean };

/**
 * One `warden` command: its usage text, every option it understands and how many positional
 * arguments it takes (parsing is strict), and what it does. `run` gets the parsed arguments and the
 * raw ones (for a command that parses its own), and resolves with the exit code.
 *
 * @example
 * export const flags: Command = { help: 'usage: warden flags', options: { ...JOURNAL }, positionals: [0, 0], run: async () => 0 };
 */
export interface Command {
  readonly help: string;
  readonly options: Record<string, OptionSpec>;
  readonly positionals: readonly [min: number, max: number];
  run(a: Args, rest: string[]): Promise<number>;
}

export const JOURNAL: Record<string, OptionSpec> = { journal: { type: 'string', help: `the journal file (default ${DEFAULT_JOURNAL})` } };
/** A store several engines share instead of a journal file. */
export const STORE: Record<string, OptionSpec> = { store: { type: 'string', help: 'a PostgreSQL store shared by many engines (postgres://…; default $WARDEN_DATABASE_URL) instead of --journal' } };
export const BROKER: Record<string, OptionSpec> = {
  broker: { type: 'string', help: 'URL of a paper/HTTP broker, "paper" (in-process), ccxt:EXCHANGE, or oanda:practice|oanda:live' },
  sandbox: { type: 'boolean', help: "with ccxt: the venue's test environment" },
};
export const JSON_OUTPUT: Record<string, OptionSpec> = {
  json: { type: 'boolean', help: 'print the results as JSON' },
  'log-file': { type: 'string', help: 'where the operational log goes (default: JOURNAL.log beside the journal)' },
};

/**
 * Parses a command's arguments. Strict: an unknown or misspelt option, a missing value or a stray
 * argument is one clear error and a non-zero exit, before anything is opened or written.
 */
export function parse(name: string, spec: Command, argv: string[]): Args {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: Object.fromEntries(Object.entries(spec.options).map(([k, v]) => [k, { type: v.type, multiple: v.multiple === true }])), allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.replace(/\. To specify a positional argument.*$/s, '')} (warden ${name} --help lists its options)`);
  }
  const [min, max] = spec.positionals;
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    const what = parsed.positionals.length > max ? `unexpected argument "${parsed.positionals[max]}"` : 'missing argument';
    throw new UsageError(`${name}: ${what}\n${spec.help}`);
  }
  const args: Args = { positional: parsed.positionals, options: new Map(), flags: new Set() };
  for (const [option, raw] of Object.entries(parsed.values)) {
    const values = Array.isArray(raw) ? raw : [raw];
    for (const value of values) {
      if (typeof value === 'string') {
        if (value === '' || value.startsWith('--')) throw new UsageError(`--${option} needs a value`);
        args.options.set(`--${option}`, [...(args.options.get(`--${option}`) ?? []), value]);
      } else if (value === true) args.flags.add(`--${option}`);
    }
  }
  return args;
}

/** A command's help: its usage text, then its options from the same definitions the parser uses. */
export const helpFor = (spec: Command): string =>
  `${spec.help}\n\noptions:\n${Object.entries(spec.options)
    .map(([k, v]) => `${`  --${k}${v.type === 'string' ? ' VALUE' : ''}`.padEnd(22)}${v.help}`)
    .join('\n')}\n  --help              this text`;

/** The last value given for an option, if any. */
export const opt = (a: Args, name: string) => a.options.get(name)?.at(-1);
/** An option's value, or a usage error naming it. */
export const required = (a: Args, name: string) => {
  const v = opt(a, name);
  if (!v) throw new UsageError(`${name} is required`);
  return v;
};

/**
 * What one action of a command takes (`kill-switch show`, `journal verify`): a stray argument after
 * its `positionals` (the action included), or an option only another action understands, is a
 * usage error naming it, before anything is opened. An option silently ignored is a question
 * answered as if it had not been asked.
 *
 * @example
 * takesOnly(a, 'kill-switch show', { positionals: 1, options: ['--journal', '--store', '--symbol'] });
 */
export function takesOnly(a: Args, action: string, { positionals, options }: { readonly positionals: number; readonly options: readonly string[] }): void {
  const stray = a.positional.slice(positionals);
  if (stray.length > 0) throw new UsageError(`${action}: unexpected argument${stray.length > 1 ? 's' : ''} ${stray.map((s) => `"${s}"`).join(' ')}`);
  const unused = [...a.options.keys(), ...a.flags].filter((o) => !options.includes(o));
  if (unused.length > 0) throw new UsageError(`${action} does not take ${unused.join(', ')} (warden ${action.split(' ')[0]} --help)`);
}

/** The --symbol given, checked as the engine checks a symbol (upper-case, as the broker spells it), or undefined. */
export function symbolOption(a: Args, { orAll = false }: { orAll?: boolean } = {}): string | undefined {
  const symbol = opt(a, '--symbol');
  if (symbol === undefined || (orAll && symbol === '*')) return symbol;
  const checked = SymbolSchema.safeParse(symbol);
  if (!checked.success) throw new UsageError(`--symbol ${JSON.stringify(symbol)}: ${checked.error.issues[0]?.message ?? 'not a symbol'}${/[a-z]/.test(symbol) && SymbolSchema.safeParse(symbol.toUpperCase()).success ? ` (did you mean ${symbol.toUpperCase()}?)` : ''}`);
  return checked.data;
}
