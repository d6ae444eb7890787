// Where things are in a JSON text, for editors that mark the server's errors: the offset of
// every member and element by its JSON pointer ("/steps/2/template" → the offset of its key),
// and a syntax error at its line and column. A strict JSON parser that only keeps positions.

export class JsonSyntaxError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) { super(message); this.offset = offset; }
}

const escapePointer = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

// The offsets of every value by pointer ('' is the whole text); throws JsonSyntaxError.
export function jsonOffsets(text: string): Map<string, number> {
  const out = new Map<string, number>();
  let i = 0;
  const ws = () => { while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++; };
  const fail = (what: string): never => { throw new JsonSyntaxError(i >= text.length ? 'unexpected end of the text' : `${what}, not '${text[i]}'`, Math.min(i, text.length)); };
  const expect = (c: string) => { if (text[i] !== c) fail(`expected '${c}'`); i++; };
  const string = (): string => {
    expect('"');
    let s = '';
    while (i < text.length && text[i] !== '"') {
      const c = text[i]!;
      if (c === '\\') {
        const e = text[i + 1] ?? '';
        if (e === 'u') {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) { i += 2; fail('expected four hex digits'); }
          s += String.fromCharCode(parseInt(hex, 16)); i += 6;
        } else {
          const m: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
          if (!(e in m)) { i++; fail('expected an escape sequence'); }
          s += m[e]; i += 2;
        }
      } else if (c < ' ') throw new JsonSyntaxError('a line break or control character inside a string', i);
      else { s += c; i++; }
    }
    expect('"');
    return s;
  };
  const value = (pointer: string, at: number) => {
    ws();
    out.set(pointer, at < 0 ? i : at);
    const c = text[i];
    if (c === '{') {
      i++; ws();
      if (text[i] === '}') { i++; return; }
      for (;;) {
        ws();
        const keyAt = i;
        const key = string();
        ws(); expect(':');
        value(`${pointer}/${escapePointer(key)}`, keyAt);
        ws();
        if (text[i] === ',') { i++; continue; }
        expect('}'); return;
      }
    }
    if (c === '[') {
      i++; ws();
      if (text[i] === ']') { i++; return; }
      for (let n = 0; ; n++) {
        value(`${pointer}/${n}`, -1);
        ws();
        if (text[i] === ',') { i++; continue; }
        expect(']'); return;
      }
    }
    if (c === '"') { string(); return; }
    const lit = /^(true|false|null|-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?)/.exec(text.slice(i, i + 64));
    if (!lit) fail('expected a value');
    i += lit![0].length;
  };
  value('', -1);
  ws();
  if (i < text.length) fail('expected the end of the text');
  return out;
}

// 1-based line and column of an offset.
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - (before.lastIndexOf('\n') + 1) + 1 };
}

// The position of a pointer in the text: the member itself, else its nearest parent that is
// there (a missing required member is marked at the object that lacks it).
export function pointerPosition(offsets: Map<string, number>, text: string, pointer: string): { line: number; column: number } | null {
  let p = pointer;
  for (;;) {
    const at = offsets.get(p);
    if (at !== undefined) return lineColumn(text, at);
    if (p === '') return null;
    p = p.slice(0, p.lastIndexOf('/'));
  }
}

// A JSON value on one line with spaces after ':' and ','.
function oneLine(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(oneLine).join(', ')}]`;
  if (v && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${oneLine(x)}`).join(', ')}}`;
  return JSON.stringify(v);
}

// An object with one member per line, and the elements of arrays of objects one per line
// (a journey's steps), as docs write them.
export function formatJson(v: Record<string, unknown>): string {
  const members = Object.entries(v).map(([k, x]) => {
    const key = `  ${JSON.stringify(k)}: `;
    if (Array.isArray(x) && x.length > 0 && x.every((e) => e && typeof e === 'object'))
      return `${key}[\n${x.map((e) => `    ${oneLine(e)}`).join(',\n')}\n  ]`;
    return key + oneLine(x);
  });
  return `{\n${members.join(',\n')}\n}`;
}
