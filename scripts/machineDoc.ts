/**
 * Renders the execution statechart as Markdown, from the machine definition itself: a Mermaid
 * state diagram (guards and delays labelled) and tables of states and transitions.
 */
import type { AnyStateMachine } from 'xstate';

interface Node {
  id: string;
  key: string;
  type: string;
  states: Record<string, Node>;
  initial?: { target: Node[] };
  transitions: Map<string, Transition[]>;
  always?: Transition[];
  invoke: { id: string; src: unknown }[];
  tags: string[];
  entry: unknown[];
}
interface Transition {
  eventType: string;
  guard?: unknown;
  target?: Node[];
  actions: unknown[];
}

const mermaidId = (id: string) => id.replace(/^execution\.?/, '').replace(/\./g, '_') || 'execution';
const shortName = (id: string) => id.replace(/^execution\./, '');

export function guardLabel(guard: unknown): string {
  if (guard === undefined) return '';
  if (typeof guard === 'string') return guard;
  const g = guard as { type?: string; guards?: unknown[]; check?: { name?: string } };
  if (typeof g.type === 'string') return g.type;
  const parts = (g.guards ?? []).map(guardLabel);
  const kind = g.check?.name ?? '';
  if (/not/i.test(kind)) return /\s/.test(parts[0] ?? '') ? `!(${parts[0]})` : `!${parts[0] ?? '?'}`;
  if (/and/i.test(kind)) return parts.join(' && ');
  if (/or/i.test(kind)) return parts.join(' || ');
  return 'guard';
}

function eventLabel(eventType: string): string {
  if (eventType === '') return 'always';
  const done = /^xstate\.done\.actor\.(.+)$/.exec(eventType);
  if (done) return `done: ${done[1]}`;
  const error = /^xstate\.error\.actor\.(.+)$/.exec(eventType);
  if (error) return `error: ${error[1]}`;
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (after) return `after ${after[1]}`;
  return eventType;
}

function actionLabel(a: unknown): string {
  if (typeof a === 'string') return a;
  const x = a as { type?: unknown; id?: unknown; src?: unknown; sendId?: unknown; event?: { type?: unknown } };
  // XState's own actions, by what they do: a spawned child, a raised (delayed) event, a cancelled one.
  if (x.type === 'xstate.spawnChild') return `spawn ${String(x.id)} (${String(x.src)})`;
  if (x.type === 'xstate.raise') return `raise ${String(x.event?.type)}`;
  if (x.type === 'xstate.cancel') return `cancel ${String(x.sendId)}`;
  if (x.type === 'xstate.stopChild') return `stop ${typeof (a as { actorRef?: unknown }).actorRef === 'string' ? String((a as { actorRef: string }).actorRef) : 'child'}`;
  return typeof x.type === 'string' ? x.type : 'inline';
}

/** The ids of actors a transition spawns. */
const spawnedBy = (t: Transition): string[] =>
  t.actions.flatMap((a) => ((a as { type?: unknown }).type === 'xstate.spawnChild' ? [String((a as { id?: unknown }).id)] : []));

function transitionsOf(node: Node): Transition[] {
  return [...(node.always ?? []), ...[...node.transitions.values()].flat()];
}

function walk(node: Node, visit: (n: Node) => void): void {
  visit(node);
  for (const child of Object.values(node.states)) walk(child, visit);
}

export function renderMachineDoc(machine: AnyStateMachine, source: string): string {
  const root = machine.root as unknown as Node;
  // Flat on purpose: Mermaid cannot draw transitions between states of different composite
  // states, and this chart has many. Leaves carry their full path; a transition into a compound
  // state is drawn to the leaf XState actually enters (its initial descendant).
  const lines: string[] = ['stateDiagram-v2', '  direction TB'];
  const leafOf = (n: Node): Node => (n.initial?.target[0] ? leafOf(n.initial.target[0]) : n);
  walk(root, (n) => {
    if (n !== root && Object.keys(n.states).length === 0) lines.push(`  state "${shortName(n.id)}" as ${mermaidId(n.id)}`);
  });
  lines.push(`  [*] --> ${mermaidId(leafOf(root).id)}`);
  walk(root, (n) => {
    if (n === root || Object.keys(n.states).length > 0) return;
    for (const t of transitionsOf(n)) {
      for (const target of t.target ?? []) {
        const guard = guardLabel(t.guard);
        const label = `${eventLabel(t.eventType)}${guard ? ` [${guard}]` : ''}`.replace(/:/g, '﹕');
        lines.push(`  ${mermaidId(n.id)} --> ${mermaidId(leafOf(target).id)} : ${label}`);
      }
    }
    if (n.type === 'final') lines.push(`  ${mermaidId(n.id)} --> [*]`);
  });
  // Transitions declared on a compound state apply to every leaf inside it: listed in the table, drawn once per compound.
  walk(root, (n) => {
    if (n === root || Object.keys(n.states).length === 0) return;
    for (const t of transitionsOf(n)) {
      for (const target of t.target ?? []) lines.push(`  ${mermaidId(leafOf(n).id)} --> ${mermaidId(leafOf(target).id)} : ${eventLabel(t.eventType)} (from anywhere in ${shortName(n.id)})`);
    }
  });

  // Actors a compound state spawns alongside its own flow (they outlive its sub-states): a note
  // beside the compound state's first leaf, with every transition that spawns them or hears from them.
  walk(root, (n) => {
    if (n === root || Object.keys(n.states).length === 0) return;
    const spawned = new Set(transitionsOf(n).flatMap(spawnedBy));
    if (spawned.size === 0) return;
    const about = (t: Transition) => (t.target ?? []).length === 0 && (spawnedBy(t).length > 0 || [...spawned].some((id) => new RegExp(`^xstate\\.(done|error)\\.actor\\.${id}$`).test(t.eventType)));
    const rows = transitionsOf(n)
      .filter(about)
      .map((t) => {
        const guard = guardLabel(t.guard);
        const actions = t.actions.map(actionLabel).filter((a) => !a.startsWith('cancel ')).join(', ');
        return `${eventLabel(t.eventType)}${guard ? ` [${guard}]` : ''} / ${actions}`.replace(/:/g, '﹕');
      });
    lines.push(`  note right of ${mermaidId(leafOf(n).id)}`, `    alongside anywhere in ${shortName(n.id)}, the order's own flow untouched﹕`, ...rows.map((r) => `    ${r}`), '  end note');
  });

  const stateRows: string[] = [];
  const transitionRows: string[] = [];
  walk(root, (n) => {
    if (n === root) return;
    const invokes = n.invoke.map((i) => `\`${i.id}\``).join(', ');
    const entry = n.entry.map(actionLabel).filter((a) => !a.startsWith('xstate.') && !a.startsWith('raise xstate.')).join(', ');
    stateRows.push(`| \`${shortName(n.id)}\` | ${n.type} | ${invokes} | ${entry} | ${n.tags.join(', ')} |`);
  });
  walk(root, (n) => {
    for (const t of transitionsOf(n)) {
      const targets = (t.target ?? []).map((x) => `\`${shortName(x.id)}\``).join(', ') || '(stays)';
      const actions = t.actions.map(actionLabel).join(', ');
      const guard = guardLabel(t.guard);
      transitionRows.push(`| \`${n === root ? '(any)' : shortName(n.id)}\` | ${eventLabel(t.eventType).replace('*', '\\*')} | ${guard ? `\`${guard}\`` : ''} | ${targets} | ${actions} |`);
    }
  });

  return [
    '# The execution statechart',
    '',
    `<!-- Generated by \`npm run docs\` from \`${source}\`. Do not edit by hand: a test fails when this file and the machine differ. -->`,
    '',
    'The lifecycle of one snapshot. Guards are named after the rule they encode (see [rules.md](rules.md)).',
    'Events handled without a change of state (order updates, kill switch changes) are in the transition table as "(stays)".',
    '',
    '```mermaid',
    ...lines,
    '```',
    '',
    '## States',
    '',
    '| state | type | invokes | entry | tags |',
    '|---|---|---|---|---|',
    ...stateRows,
    '',
    '## Transitions',
    '',
    '| from | event | guard | to | actions |',
    '|---|---|---|---|---|',
    ...transitionRows,
    '',
  ].join('\n');
}
