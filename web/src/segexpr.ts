// The visual builder's rows, the segment-language text they generate, and rows read back
// from the JSON form of a parsed expression (docs/segments.md).
import type { SegmentField } from './api';

export type Op = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'contains' | 'starts_with' | 'null' | 'notnull' | 'true' | 'false' | 'before_ago' | 'within_ago';
export interface Row { field: string; op: Op; value: string }
export type Joiner = 'and' | 'or';

const SYMBOL: Partial<Record<Op, string>> = { eq: '=', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=', contains: 'contains', starts_with: 'starts_with' };
const FROM_SYMBOL: Record<string, Op> = { '=': 'eq', '!=': 'ne', '<': 'lt', '<=': 'le', '>': 'gt', '>=': 'ge', contains: 'contains', starts_with: 'starts_with' };

export function opsFor(type: string): Op[] {
  switch (type) {
    case 'number': case 'money': return ['gt', 'ge', 'lt', 'le', 'eq', 'ne', 'null', 'notnull'];
    case 'time': return ['within_ago', 'before_ago', 'lt', 'gt', 'null', 'notnull'];
    case 'duration': return ['gt', 'ge', 'lt', 'le', 'eq', 'ne'];
    case 'bool': return ['true', 'false'];
    case 'enum': return ['eq', 'ne', 'null', 'notnull'];
    case 'string': return ['eq', 'ne', 'contains', 'starts_with', 'null', 'notnull'];
    default: return ['eq', 'ne', 'gt', 'lt', 'contains', 'null', 'notnull'];
  }
}

export const needsValue = (op: Op) => !['null', 'notnull', 'true', 'false'].includes(op);

export function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t')}"`;
}

const NUMBER = /^-?\d+(\.\d+)?$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DURATION = /^\d+(h|d|w|mo|y)$/;

// One row as text, or null while it is incomplete.
export function rowText(row: Row, field: SegmentField | undefined): string | null {
  if (!row.field) return null;
  const type = field?.type ?? 'any';
  const v = row.value.trim();
  switch (row.op) {
    case 'null': return `${row.field} is null`;
    case 'notnull': return `${row.field} is not null`;
    case 'true': return row.field;
    case 'false': return `not ${row.field}`;
    case 'before_ago': case 'within_ago':
      if (!/^\d+$/.test(v)) return null;
      return `${row.field} ${row.op === 'before_ago' ? '<' : '>='} now() - ${v}d`;
    default: break;
  }
  const sym = SYMBOL[row.op];
  if (!sym || v === '') return null;
  let lit: string;
  if (type === 'number' || type === 'money') { if (!NUMBER.test(v)) return null; lit = v; }
  else if (type === 'time') { if (!DATE.test(v)) return null; lit = quote(v); }
  else if (type === 'duration') { if (!DURATION.test(v)) return null; lit = v; }
  else if (type === 'any') lit = NUMBER.test(v) ? v : v === 'true' || v === 'false' ? v : quote(row.value);
  else lit = quote(row.value);
  return `${row.field} ${sym} ${lit}`;
}

export function generate(rows: Row[], joiner: Joiner, fields: Map<string, SegmentField>): string {
  return rows.map((r) => rowText(r, fields.get(r.field))).filter((s): s is string => s !== null).join(`\n  ${joiner} `);
}

interface Node { kind: string; [k: string]: unknown }

// Rows from a parsed tree, or null when the tree is not a flat and/or of simple conditions.
export function rowsFromAst(ast: unknown): { rows: Row[]; joiner: Joiner } | null {
  const root = ast as Node | null;
  if (!root) return null;
  const joiner: Joiner = root.kind === 'or' ? 'or' : 'and';
  const leaves: Node[] = [];
  const walk = (n: Node): boolean => {
    if (n.kind === joiner) return walk(n.left as Node) && walk(n.right as Node);
    leaves.push(n);
    return true;
  };
  walk(root);
  const rows: Row[] = [];
  for (const n of leaves) {
    const r = leafRow(n);
    if (!r) return null;
    rows.push(r);
  }
  return { rows, joiner };
}

function leafRow(n: Node): Row | null {
  if (n.kind === 'field') return { field: n.name as string, op: 'true', value: '' };
  if (n.kind === 'not' && (n.operand as Node).kind === 'field') return { field: (n.operand as Node).name as string, op: 'false', value: '' };
  if (n.kind === 'is_null' && (n.operand as Node).kind === 'field') return { field: (n.operand as Node).name as string, op: n.negated ? 'notnull' : 'null', value: '' };
  if (n.kind !== 'compare') return null;
  const left = n.left as Node, right = n.right as Node;
  if (left.kind !== 'field') return null;
  const field = left.name as string;
  const op = FROM_SYMBOL[n.op as string];
  if (!op) return null;
  if (right.kind === 'number') return { field, op, value: String(right.value) };
  if (right.kind === 'string') return { field, op, value: String(right.value) };
  if (right.kind === 'bool') return { field, op: (right.value === true) === (op === 'eq') ? 'true' : 'false', value: '' };
  if (right.kind === 'duration') return { field, op, value: `${right.amount as number}${right.unit as string}` };
  if (right.kind === 'arith' && right.op === '-' && (right.left as Node).kind === 'now' && (right.right as Node).kind === 'duration') {
    const d = right.right as Node;
    if (d.unit !== 'd') return null;
    if (op === 'lt') return { field, op: 'before_ago', value: String(d.amount) };
    if (op === 'ge') return { field, op: 'within_ago', value: String(d.amount) };
  }
  return null;
}
