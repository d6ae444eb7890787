// Named periods of docs/kpis.md: 2024-03 (month), 2024-Q1 (quarter), 2024 (year).
export type Granularity = 'month' | 'quarter' | 'year';

export function granularityOf(label: string): Granularity | null {
  if (/^\d{4}-\d{2}$/.test(label)) return 'month';
  if (/^\d{4}-Q[1-4]$/.test(label)) return 'quarter';
  if (/^\d{4}$/.test(label)) return 'year';
  return null;
}

// Index of months since year 0 of the period's first month.
function firstMonth(label: string): number {
  const y = Number(label.slice(0, 4));
  const g = granularityOf(label);
  if (g === 'month') return y * 12 + Number(label.slice(5, 7)) - 1;
  if (g === 'quarter') return y * 12 + (Number(label.slice(6)) - 1) * 3;
  return y * 12;
}

function labelOf(month: number, g: Granularity): string {
  const y = Math.floor(month / 12), m = month % 12;
  if (g === 'month') return `${y}-${String(m + 1).padStart(2, '0')}`;
  if (g === 'quarter') return `${y}-Q${Math.floor(m / 3) + 1}`;
  return String(y);
}

export function shift(label: string, n: number): string {
  const g = granularityOf(label) ?? 'month';
  const step = g === 'month' ? 1 : g === 'quarter' ? 3 : 12;
  return labelOf(firstMonth(label) + n * step, g);
}

export function convert(label: string, g: Granularity): string { return labelOf(firstMonth(label), g); }

// Current month in a time zone.
function nowMonth(timeZone: string): number {
  let parts: Intl.DateTimeFormatPart[];
  try { parts = new Intl.DateTimeFormat('en', { timeZone, year: 'numeric', month: 'numeric' }).formatToParts(new Date()); }
  catch { parts = new Intl.DateTimeFormat('en', { timeZone: 'UTC', year: 'numeric', month: 'numeric' }).formatToParts(new Date()); }
  const y = Number(parts.find((p) => p.type === 'year')?.value);
  const m = Number(parts.find((p) => p.type === 'month')?.value);
  return y * 12 + m - 1;
}

// The last period of this length that has ended.
export function lastComplete(g: Granularity, timeZone: string): string {
  const cur = labelOf(nowMonth(timeZone), g);
  return shift(cur, -1);
}

export function isFuture(label: string, timeZone: string): boolean {
  const g = granularityOf(label) ?? 'month';
  return firstMonth(label) > firstMonth(labelOf(nowMonth(timeZone), g));
}

export function monthsBack(end: string, n: number): string[] {
  const out: string[] = [];
  for (let i = n - 1; i >= 0; i--) out.push(shift(end, -i));
  return out;
}

// The period has not ended yet (it is the current one or later).
export function notEnded(label: string, timeZone: string): boolean {
  const g = granularityOf(label) ?? 'month';
  return firstMonth(label) >= firstMonth(labelOf(nowMonth(timeZone), g));
}

// The last period of this length that has ended, at or before the month `lastMonth` (YYYY-MM)
// in which the data ends.
export function lastCompleteOfData(g: Granularity, lastMonth: string | null, timeZone: string): string {
  const now = lastComplete(g, timeZone);
  if (!lastMonth || granularityOf(lastMonth) !== 'month') return now;
  const p = convert(lastMonth, g);
  if (notEnded(p, timeZone)) return now;
  return p;
}

export function addMonths(label: string, n: number): string { return labelOf(firstMonth(label) + n, 'month'); }

export function laterMonth(a: string, b: string): string { return firstMonth(a) >= firstMonth(b) ? a : b; }

// This month (YYYY-MM) in a time zone.
export function currentMonth(timeZone: string): string { return labelOf(nowMonth(timeZone), 'month'); }
