// Journeys (docs/journeys.md): the list with each journey's report, a journey drawn as a graph
// of its steps with their live counts (refreshed every few seconds), its trigger, re-entry and
// goal in words, pause/resume/enter-members, its runs paged by cursor, and a JSON editor that
// marks every error the server reports at its JSON pointer.
import { Fragment } from 'preact';
import { useEffect, useId, useMemo, useRef, useState } from 'preact/hooks';
import {
  api, ApiError, withQuery, type Journey, type JourneyDefinition, type JourneyPass, type JourneyReport, type JourneyRun,
  type JourneyStep, type JourneyStepReport, type Page, type PreviewError,
} from '../api';
import { Async, Card, Empty, ErrorBox, ErrorList, Loading, PageHeader, Stat } from '../components';
import { useApp } from '../context';
import { useApi, useRefreshWhile } from '../hooks';
import type { Formatter, MessageKey } from '../i18n';
import { formatJson, JsonSyntaxError, jsonOffsets, lineColumn, pointerPosition } from '../jsonpos';
import { href, navigate, useRoute } from '../router';

const enc = encodeURIComponent;
const journeyPath = (name: string) => `/api/v1/journeys/${enc(name)}`;
const REFRESH_MS = 4000;
const RUNS_PAGE = 20;

const label = (fmt: Formatter, key: string, fallback: string) => (fmt.has(key) ? fmt.t(key) : fallback);

export function JourneyStateBadge({ state }: { state: string }) {
  const { fmt } = useApp();
  return <span class={`badge jr-state jr-state-${state}`} data-testid="journey-state" data-value={state}>{label(fmt, `jr.state.${state}`, state)}</span>;
}

function Crumb() {
  const { fmt } = useApp();
  return <p class="breadcrumb"><a href="#/journeys">← {fmt.t('jr.title')}</a></p>;
}

// ---- the list ---------------------------------------------------------------------------

export function JourneysPage() {
  const { fmt, canWrite } = useApp();
  const list = useApi<{ data: Journey[] }>('/api/v1/journeys');
  return (
    <>
      <PageHeader title={fmt.t('jr.title')}>
        {canWrite && <a class="btn btn-primary" href="#/journeys/new" data-testid="journey-new">+ {fmt.t('jr.new')}</a>}
      </PageHeader>
      <p class="muted">{fmt.t('jr.intro')}</p>
      <Card>
        <Async value={list}>{(l) => l.data.length === 0 ? <Empty>{fmt.t('jr.none')}</Empty> : (
          <div class="table-wrap" tabIndex={0}>
            <table class="table" data-testid="journey-table">
              <thead><tr>
                <th scope="col">{fmt.t('common.name')}</th>
                <th scope="col">{fmt.t('jr.state')}</th>
                <th scope="col" class="num">{fmt.t('jr.version')}</th>
                <th scope="col" class="num">{fmt.t('jr.entered')}</th>
                <th scope="col" class="num">{fmt.t('jr.inside')}</th>
                <th scope="col" class="num">{fmt.t('jr.completed')}</th>
                <th scope="col" class="hide-sm">{fmt.t('jr.trigger')}</th>
              </tr></thead>
              <tbody>{l.data.map((j) => <JourneyRow key={j.name} j={j} />)}</tbody>
            </table>
          </div>
        )}</Async>
      </Card>
    </>
  );
}

function JourneyRow({ j }: { j: Journey }) {
  const { fmt } = useApp();
  const report = useApi<JourneyReport>(`${journeyPath(j.name)}/report`);
  const r = report.data;
  const n = (k: 'entered' | 'inside' | 'completed') => (
    <td class="num" data-testid={`journey-${k}`} data-value={r ? r[k] : ''}>{r ? fmt.integer(r[k]) : report.error ? '—' : '…'}</td>
  );
  return (
    <>
      <tr data-testid="journey-row" data-name={j.name} data-state={j.state}>
        <th scope="row"><a href={href(`/journeys/${enc(j.name)}`)}>{j.name}</a></th>
        <td><JourneyStateBadge state={j.state} /></td>
        <td class="num" data-testid="journey-version">{j.version}</td>
        {n('entered')}{n('inside')}{n('completed')}
        <td class="hide-sm">{j.definition ? triggerText(fmt, j.definition) : '—'}</td>
      </tr>
      {j.last_error && (
        <tr class="jr-error-row"><td colSpan={7} class="fail small" data-testid="journey-last-error">{fmt.t('jr.lastError')}: {j.last_error}</td></tr>
      )}
    </>
  );
}

// ---- in words -----------------------------------------------------------------------------

const q = (s: string | undefined) => `“${s ?? ''}”`;

function weekdayName(fmt: Formatter, d: number): string {
  // 2024-01-01 was a Monday (ISO weekday 1).
  return new Intl.DateTimeFormat(fmt.locale === 'de' ? 'de-DE' : 'en-GB', { weekday: 'long', timeZone: 'UTC' }).format(new Date(Date.UTC(2024, 0, d)));
}

function duration(fmt: Formatter, days?: number, hours?: number, minutes?: number): string {
  const parts: string[] = [];
  if (days) parts.push(fmt.t(days === 1 ? 'jr.day' : 'jr.days', { n: fmt.integer(days) }));
  if (hours) parts.push(fmt.t('jr.hours', { n: fmt.integer(hours) }));
  if (minutes) parts.push(fmt.t('jr.minutes', { n: fmt.integer(minutes) }));
  return parts.join(' ') || '—';
}

export function triggerText(fmt: Formatter, d: JourneyDefinition): string {
  const t = d.trigger;
  switch (t.type) {
    case 'event': return fmt.t(t.where ? 'jr.trigger.eventWhere' : 'jr.trigger.event', { event: q(t.event), where: t.where ?? '' });
    case 'segment_entered': return fmt.t('jr.trigger.segment_entered', { segment: t.segment ?? '' });
    case 'segment_left': return fmt.t('jr.trigger.segment_left', { segment: t.segment ?? '' });
    case 'date': {
      const off = t.offset_days ?? 0;
      const when = off === 0 ? fmt.t('jr.trigger.dateOn') : fmt.t(off < 0 ? 'jr.trigger.dateBefore' : 'jr.trigger.dateAfter', { n: fmt.integer(Math.abs(off)) });
      return fmt.t(t.yearly ? 'jr.trigger.dateYearly' : 'jr.trigger.date', { when, attribute: t.attribute ?? '', at: t.at ?? '09:00' });
    }
    case 'survey_answer':
      return fmt.t('jr.trigger.survey_answer', { survey: q(t.survey), min: t.min_score ?? 0, max: t.max_score ?? 10 });
    default: return t.type;
  }
}

function reentryText(fmt: Formatter, d: JourneyDefinition): string {
  const r = d.reentry ?? 'never';
  const mode = typeof r === 'string' ? r : r.mode;
  const days = typeof r === 'string' ? undefined : r.after_days;
  if (mode === 'after_exit' && days) return fmt.t('jr.reentry.afterDays', { n: fmt.integer(days) });
  return label(fmt, `jr.reentry.${mode}`, mode);
}

function goalText(fmt: Formatter, d: JourneyDefinition): string {
  const g = d.goal;
  if (!g) return fmt.t('jr.goal.none');
  const what = g.event ? fmt.t('jr.goal.event', { event: q(g.event) }) : fmt.t('jr.goal.segment', { segment: g.segment ?? '' });
  return g.within_days ? fmt.t('jr.goal.within', { what, n: fmt.integer(g.within_days) }) : what;
}

// A step's short summary: its template, wait, condition…
function stepSummary(fmt: Formatter, s: JourneyStep): string {
  switch (s.type) {
    case 'wait': return duration(fmt, s.days, s.hours, s.minutes);
    case 'wait_until': return s.weekday ? fmt.t('jr.sum.untilWeekday', { time: s.time ?? '', day: weekdayName(fmt, s.weekday) }) : fmt.t('jr.sum.until', { time: s.time ?? '' });
    case 'wait_for_event': return fmt.t('jr.sum.forEvent', { event: q(s.event), timeout: duration(fmt, s.timeout_days, s.timeout_hours) });
    case 'branch': return fmt.t('jr.sum.if', { expr: s.if ?? '' });
    case 'split': return fmt.t('jr.sum.split', { n: s.branches?.length ?? 0 });
    case 'send': {
      const base = s.category === 'transactional' ? fmt.t('jr.sum.sendTransactional', { template: s.template ?? '' }) : s.template ?? '';
      return s.survey ? fmt.t('jr.sum.sendSurvey', { template: base, survey: s.survey }) : base;
    }
    case 'grant_points': return fmt.t('jr.sum.points', { n: fmt.integer(s.points ?? 0) });
    case 'grant_reward': return s.reward ?? '';
    case 'webhook': return s.endpoint ?? '';
    case 'followup': return s.note ?? '';
    case 'set_attribute': return `${s.name ?? ''} = ${JSON.stringify(s.value)}`;
    default: return '';
  }
}

function typeName(fmt: Formatter, type: string): string { return label(fmt, `jr.type.${type}`, type); }
function outcomeName(fmt: Formatter, o: string): string { return label(fmt, `jr.outcome.${o}`, o); }

// ---- the graph ----------------------------------------------------------------------------

interface Edge { from: string; to: string; label: string }
interface Node { step: JourneyStep; layer: number; x: number; y: number; h: number; lines: Line[] }
interface Line { text: string; cls: string; title?: string }

const BOX_W = 232, GAP_X = 36, GAP_Y = 58, LINE_H = 17, PAD = 10, MARGIN = 24, BACK_LANE = 28;
const MAX_CHARS = 31;

function edgesOf(fmt: Formatter, s: JourneyStep): Edge[] {
  const out: Edge[] = [];
  const add = (to: string | undefined, l: string) => { if (to) out.push({ from: s.id, to, label: l }); };
  if (s.type === 'branch') { add(s.then, fmt.t('jr.edge.then')); add(s.else, fmt.t('jr.edge.else')); }
  else if (s.type === 'split') {
    const total = (s.branches ?? []).reduce((a, b) => a + (b.weight ?? 1), 0) || 1;
    for (const b of s.branches ?? []) add(b.next, fmt.percent((b.weight ?? 1) / total, 0));
  } else if (s.type === 'wait_for_event') { add(s.next, fmt.t('jr.edge.event')); add(s.timeout_next, fmt.t('jr.edge.timeout')); }
  else add(s.next, '');
  return out;
}

const clip = (s: string) => (s.length > MAX_CHARS ? `${s.slice(0, MAX_CHARS - 1)}…` : s);

// Counts are never clipped: "a · b · c" parts fill a line each up to MAX_CHARS, and go on to the
// next line (a part longer than a line is clipped on its own).
function countLines(parts: string[], cls: string): Line[] {
  const rows: string[] = [];
  for (const part of parts) {
    const last = rows.length - 1;
    if (last >= 0 && rows[last].length + 3 + part.length <= MAX_CHARS) rows[last] += ` · ${part}`;
    else rows.push(part);
  }
  return rows.map((text) => ({ text: clip(text), cls }));
}

// The lines of a step's box: id, type and summary, its counts.
function linesOf(fmt: Formatter, s: JourneyStep, r: JourneyStepReport | undefined): Line[] {
  const summary = stepSummary(fmt, s);
  const lines: Line[] = [
    { text: clip(s.id), cls: 'jr-node-id', title: s.id },
    { text: clip(typeName(fmt, s.type)), cls: 'jr-node-type' },
  ];
  if (summary) lines.push({ text: clip(summary), cls: 'jr-node-sum', title: summary });
  const executed = r?.executed ?? 0, waiting = r?.waiting ?? 0;
  lines.push(...countLines([`${fmt.t('jr.executed')} ${fmt.integer(executed)}`,
    ...(waiting > 0 || isWait(s.type) ? [`${fmt.t('jr.waitingNow')} ${fmt.integer(waiting)}`] : [])], 'jr-node-count'));
  const outcomes = Object.entries(r?.outcomes ?? {}).filter(([, n]) => n > 0);
  lines.push(...countLines(outcomes.map(([o, n]) => `${outcomeName(fmt, o)} ${fmt.integer(n)}`), 'jr-node-count jr-node-outcome'));
  if (r?.messages) {
    const m = r.messages;
    lines.push(...countLines([`${fmt.t('jr.m.sent')} ${fmt.integer(m.sent)}`, `${fmt.t('jr.m.opened')} ${fmt.integer(m.opened)}`,
      `${fmt.t('jr.m.clicked')} ${fmt.integer(m.clicked)}`], 'jr-node-count jr-node-msg'));
  }
  return lines;
}

const isWait = (t: string) => t === 'wait' || t === 'wait_until' || t === 'wait_for_event';

// Layers top-down from the start step: the longest path from the start over the edges that
// don't close a loop (a depth-first search finds those), so that every edge but a loop's
// points down. Within a layer, steps follow the order of their parents.
function layout(fmt: Formatter, def: JourneyDefinition, report: JourneyReport | null) {
  const steps = def.steps;
  const byId = new Map(steps.map((s) => [s.id, s]));
  const edges = steps.flatMap((s) => edgesOf(fmt, s)).filter((e) => byId.has(e.to));
  const out = new Map<string, Edge[]>();
  for (const e of edges) out.set(e.from, [...(out.get(e.from) ?? []), e]);
  const start = def.start && byId.has(def.start) ? def.start : steps[0]?.id ?? '';
  const back = new Set<Edge>();
  const state = new Map<string, 1 | 2>();
  const order: string[] = [];
  const dfs = (id: string) => {
    state.set(id, 1);
    for (const e of out.get(id) ?? []) {
      const s = state.get(e.to);
      if (s === 1) back.add(e);
      else if (s === undefined) dfs(e.to);
    }
    state.set(id, 2);
    order.push(id);
  };
  if (start) dfs(start);
  for (const s of steps) if (!state.has(s.id)) dfs(s.id);  // unreachable (not in a saved journey)
  const layer = new Map<string, number>();
  for (const id of [...order].reverse()) {  // a topological order of the forward edges
    const l = layer.get(id) ?? 0;
    layer.set(id, l);
    for (const e of out.get(id) ?? []) if (!back.has(e)) layer.set(e.to, Math.max(layer.get(e.to) ?? 0, l + 1));
  }
  const depth = Math.max(0, ...layer.values()) + 1;
  const rows: string[][] = Array.from({ length: depth }, () => []);
  for (const id of [...order].reverse()) rows[layer.get(id)!]!.push(id);
  // Order each layer by the mean position of its parents (one pass top-down).
  const pos = new Map<string, number>();
  rows.forEach((row, l) => {
    if (l > 0) {
      const key = (id: string) => {
        const ps = edges.filter((e) => e.to === id && !back.has(e) && pos.has(e.from)).map((e) => pos.get(e.from)!);
        return ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : 0;
      };
      const keyed = row.map((id, i) => ({ id, k: key(id), i }));
      keyed.sort((a, b) => a.k - b.k || a.i - b.i);
      row.splice(0, row.length, ...keyed.map((x) => x.id));
    }
    row.forEach((id, i) => pos.set(id, i - (row.length - 1) / 2));
  });
  const reports = new Map((report?.steps ?? []).map((s) => [s.id, s]));
  // Edges down more than one layer go round the boxes on the left, loops on the right.
  const long = new Set(edges.filter((e) => !back.has(e) && layer.get(e.to)! - layer.get(e.from)! > 1));
  const left = long.size ? BACK_LANE * (long.size + 1) : 0;
  const widest = Math.max(1, ...rows.map((r) => r.length));
  const width = MARGIN * 2 + left + widest * BOX_W + (widest - 1) * GAP_X + (back.size ? BACK_LANE * (back.size + 1) : 0);
  const nodes = new Map<string, Node>();
  let y = MARGIN;
  for (const row of rows) {
    const ls = row.map((id) => linesOf(fmt, byId.get(id)!, reports.get(id)));
    const h = Math.max(...ls.map((l) => l.length)) * LINE_H + PAD * 2;
    const rowW = row.length * BOX_W + (row.length - 1) * GAP_X;
    const x0 = MARGIN + left + (widest * BOX_W + (widest - 1) * GAP_X - rowW) / 2;
    row.forEach((id, i) => nodes.set(id, { step: byId.get(id)!, layer: layer.get(id)!, x: x0 + i * (BOX_W + GAP_X), y, h, lines: ls[i]! }));
    y += h + GAP_Y;
  }
  return { nodes, edges, back, long, start, width, height: y - GAP_Y + MARGIN, reports };
}

function JourneyGraph({ def, report }: { def: JourneyDefinition; report: JourneyReport | null }) {
  const { fmt } = useApp();
  const g = useMemo(() => layout(fmt, def, report), [fmt, def, report]);
  const titleId = useId();
  const laneBase = MARGIN + Math.max(...[...g.nodes.values()].map((n) => n.x + BOX_W));
  let lane = 0, leftLane = 0;
  const paths = g.edges.map((e, i) => {
    const a = g.nodes.get(e.from)!, b = g.nodes.get(e.to)!;
    const siblings = g.edges.filter((x) => x.from === e.from && !g.back.has(x) && !g.long.has(x));
    const k = siblings.indexOf(e);
    const sx = a.x + BOX_W / 2 + (k - (siblings.length - 1) / 2) * 36;
    const sy = a.y + a.h;
    let d: string, lx: number, ly: number;
    if (g.back.has(e)) {
      // A loop back up: out of the right side, up a lane right of the boxes, into the target's right side.
      const x = laneBase + (lane++) * BACK_LANE;
      const y1 = a.y + a.h / 2, y2 = b.y + b.h / 2;
      d = `M ${a.x + BOX_W} ${y1} H ${x} V ${y2} H ${b.x + BOX_W + 6}`;
      lx = x; ly = (y1 + y2) / 2;
    } else if (g.long.has(e)) {
      // Down past other layers: out of the left side, down a lane left of the boxes, into the target's left side.
      const x = MARGIN + (leftLane++) * BACK_LANE;
      const y1 = a.y + a.h / 2 + 8, y2 = b.y + b.h / 2 - 8;
      d = `M ${a.x} ${y1} H ${x} V ${y2} H ${b.x - 6}`;
      lx = x; ly = (y1 + y2) / 2;
    } else {
      const tx = b.x + BOX_W / 2, ty = b.y - 6;
      const my = (sy + ty) / 2;
      d = `M ${sx} ${sy} C ${sx} ${my} ${tx} ${my} ${tx} ${ty}`;
      lx = (sx + tx) / 2; ly = my;
    }
    return { e, d, lx, ly, i };
  });
  const reports = g.reports;
  return (
    <div class="jr-graph-wrap" tabIndex={0} role="region" aria-labelledby={titleId} data-testid="journey-graph">
      <svg class="jr-graph" width={g.width} height={g.height} viewBox={`0 0 ${g.width} ${g.height}`} role="img" aria-labelledby={titleId}>
        <title id={titleId}>{fmt.t('jr.graphLabel', { name: def.name, n: def.steps.length })}</title>
        <defs>
          <marker id="jr-arrow" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" class="jr-arrow" />
          </marker>
        </defs>
        {paths.map((p) => <path key={`e${p.i}`} d={p.d} class={`jr-edge ${g.back.has(p.e) ? 'jr-edge-back' : ''}`} marker-end="url(#jr-arrow)"
          data-testid="journey-edge" data-from={p.e.from} data-to={p.e.to} data-label={p.e.label} />)}
        {paths.filter((p) => p.e.label).map((p) => (
          <g key={`l${p.i}`} class="jr-edge-label" transform={`translate(${p.lx} ${p.ly})`}>
            <rect x={-(p.e.label.length * 3.6 + 6)} y={-9} width={p.e.label.length * 7.2 + 12} height={18} rx={9} />
            <text text-anchor="middle" y={4}>{p.e.label}</text>
          </g>
        ))}
        {[...g.nodes.values()].map((n) => {
          const r = reports.get(n.step.id);
          return (
            <g key={n.step.id} class={`jr-node jr-node-${n.step.type} ${n.step.id === g.start ? 'jr-node-start' : ''}`} transform={`translate(${n.x} ${n.y})`}
              data-testid="journey-node" data-step={n.step.id} data-type={n.step.type}
              data-executed={r?.executed ?? 0} data-waiting={r?.waiting ?? 0} data-outcomes={JSON.stringify(r?.outcomes ?? {})}
              data-messages={r?.messages ? JSON.stringify(r.messages) : ''}>
              <rect width={BOX_W} height={n.h} rx={8} class="jr-box" />
              <rect width={5} height={n.h} rx={2} class="jr-box-bar" />
              {n.lines.map((l, i) => (
                <text key={i} x={PAD + 4} y={PAD + (i + 1) * LINE_H - 4} class={l.cls}>
                  {l.title && l.title !== l.text && <title>{l.title}</title>}{l.text}
                </text>
              ))}
            </g>
          );
        })}
      </svg>
    </div>
  );
}

// The steps with their counts as a table: the graph's numbers for keyboard and screen-reader
// users, and for reading on a phone.
function StepTable({ def, report }: { def: JourneyDefinition; report: JourneyReport | null }) {
  const { fmt } = useApp();
  const reports = new Map((report?.steps ?? []).map((s) => [s.id, s]));
  return (
    <details class="table-details" data-testid="journey-steps">
      <summary>{fmt.t('jr.stepsTable')}</summary>
      <div class="table-wrap" tabIndex={0}>
        <table class="table compact">
          <thead><tr>
            <th scope="col">{fmt.t('jr.step')}</th><th scope="col">{fmt.t('jr.stepType')}</th><th scope="col">{fmt.t('jr.summary')}</th>
            <th scope="col" class="num">{fmt.t('jr.executed')}</th><th scope="col" class="num">{fmt.t('jr.waitingNow')}</th><th scope="col">{fmt.t('jr.outcomes')}</th>
          </tr></thead>
          <tbody>{def.steps.map((s) => {
            const r = reports.get(s.id);
            const outcomes = Object.entries(r?.outcomes ?? {}).map(([o, n]) => `${outcomeName(fmt, o)} ${fmt.integer(n)}`);
            if (r?.messages) outcomes.push(...(['sent', 'opened', 'clicked'] as const).map((k) => `${fmt.t(`jr.m.${k}`)} ${fmt.integer(r.messages![k])}`));
            return (
              <tr key={s.id} data-testid="journey-step-row" data-step={s.id}>
                <th scope="row"><code>{s.id}</code></th><td>{typeName(fmt, s.type)}</td><td class="break-words">{stepSummary(fmt, s)}</td>
                <td class="num">{fmt.integer(r?.executed ?? 0)}</td><td class="num">{fmt.integer(r?.waiting ?? 0)}</td>
                <td class="small">{outcomes.join(' · ') || '—'}</td>
              </tr>
            );
          })}</tbody>
        </table>
      </div>
    </details>
  );
}

// ---- a journey ----------------------------------------------------------------------------

export function JourneyPage({ name }: { name: string }) {
  const { fmt, canWrite } = useApp();
  const report = useApi<JourneyReport>(`${journeyPath(name)}/report`);
  const [journey, setJourney] = useState<Journey | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(useRoute().query.get('saved') ? fmt.t('jr.createdNotice') : null);
  const [runsTick, setRunsTick] = useState(0);
  // The counts are live: the report refreshes itself every few seconds.
  useRefreshWhile(report.error === null, report.reload, report.data, REFRESH_MS);
  useEffect(() => { if (report.data) setJourney(report.data.journey); }, [report.data]);
  const j = journey ?? report.data?.journey ?? null;
  const def = j?.definition ?? null;

  const run = async (what: string, f: () => Promise<void>) => {
    setBusy(what); setError(null); setNotice(null);
    try { await f(); } catch (err) { setError(err); } finally { setBusy(null); }
  };
  const setState = (action: 'pause' | 'resume') => void run(action, async () => {
    const updated = await api.post<Journey>(`${journeyPath(name)}/${action}`, {});
    setJourney(updated);
    setNotice(fmt.t(action === 'pause' ? 'jr.pausedNotice' : 'jr.resumedNotice'));
    report.reload();
  });
  const enterMembers = () => {
    if (!def || !window.confirm(fmt.t('jr.confirmEnter', { segment: def.trigger.segment ?? '', name }))) return;
    void run('enter', async () => {
      const r = await api.post<JourneyPass>(`${journeyPath(name)}/enter-members`, {});
      setNotice(fmt.t('jr.enteredNotice', { entered: fmt.integer(r.entered), messages: fmt.integer(r.messages), completed: fmt.integer(r.completed) }));
      report.reload(); setRunsTick((n) => n + 1);
    });
  };
  const remove = () => {
    if (!window.confirm(fmt.t('jr.confirmDelete', { name }))) return;
    void run('delete', async () => { await api.del(journeyPath(name)); navigate('/journeys'); });
  };

  const r = report.data;
  return (
    <>
      <Crumb />
      <PageHeader title={`${fmt.t('jr.journey')}: ${name}`}>
        {j && <JourneyStateBadge state={j.state} />}
        {j && canWrite && <>
          {j.state === 'paused'
            ? <button type="button" class="btn btn-primary" disabled={busy !== null} onClick={() => setState('resume')} data-testid="journey-resume">{fmt.t('jr.resume')}</button>
            : <button type="button" class="btn" disabled={busy !== null} onClick={() => setState('pause')} data-testid="journey-pause">{fmt.t('jr.pause')}</button>}
          {def?.trigger.type === 'segment_entered' && (
            <button type="button" class="btn" disabled={busy !== null || j.state === 'paused'} onClick={enterMembers} data-testid="journey-enter-members">{fmt.t('jr.enterMembers')}</button>
          )}
          <a class="btn" href={href(`/journeys/${enc(name)}/edit`)} data-testid="journey-edit">{fmt.t('common.edit')}</a>
          <button type="button" class="btn btn-danger" disabled={busy !== null} onClick={remove} data-testid="journey-delete">{fmt.t('common.delete')}</button>
        </>}
      </PageHeader>
      {error !== null && <ErrorBox error={error} />}
      {notice && <p class="notice notice-ok" role="status" data-testid="journey-notice">{notice}</p>}
      {j?.last_error && <p class="notice notice-error" data-testid="journey-last-error">{fmt.t('jr.lastError')}: {j.last_error}</p>}
      {report.error && !r ? <ErrorBox error={report.error} onRetry={report.reload} /> : !r || !j ? <Loading /> : (
        <div data-testid="journey" data-name={name} data-state={j.state} data-version={j.version}>
          <div class="grid-2 jr-top">
            <Card title={fmt.t('jr.results')} testid="journey-stats">
              <div class="stat-grid jr-stats">
                <Stat label={fmt.t('jr.entered')} value={fmt.integer(r.entered)} raw={r.entered} testid="journey-entered" />
                <Stat label={fmt.t('jr.inside')} value={fmt.integer(r.inside)} raw={r.inside} testid="journey-inside" />
                <Stat label={fmt.t('jr.completedGoal')} value={fmt.integer(r.completed)} raw={r.completed} testid="journey-completed"
                  sub={<span data-testid="journey-conversion" data-value={r.conversion_rate ?? ''}>{fmt.t('jr.conversion', { rate: fmt.percent(r.entered > 0 ? r.conversion_rate : null, 1) })}</span>} />
                <Stat label={fmt.t('jr.exited')} value={fmt.integer(r.exited)} raw={r.exited} testid="journey-exited" />
              </div>
              <p class="muted small">{fmt.t('jr.liveNote', { s: REFRESH_MS / 1000 })}</p>
            </Card>
            {def && (
              <Card title={fmt.t('jr.rules')} testid="journey-rules">
                <dl class="dl">
                  <dt>{fmt.t('jr.trigger')}</dt><dd data-testid="journey-trigger">{triggerText(fmt, def)}</dd>
                  <dt>{fmt.t('jr.reentry')}</dt><dd data-testid="journey-reentry">{reentryText(fmt, def)}</dd>
                  <dt>{fmt.t('jr.goal')}</dt><dd data-testid="journey-goal">{goalText(fmt, def)}</dd>
                  <dt>{fmt.t('jr.version')}</dt><dd>{fmt.t('jr.versionSince', { v: j.version, at: fmt.dateTime(j.updated_at) })}</dd>
                </dl>
                {def.trigger.type === 'segment_entered' && <p class="muted small">{fmt.t('jr.enterHint')}</p>}
              </Card>
            )}
          </div>
          {def ? (
            <Card title={fmt.t('jr.steps')} testid="journey-graph-card">
              <JourneyGraph def={def} report={r} />
              <StepTable def={def} report={r} />
            </Card>
          ) : <ErrorBox error={fmt.t('jr.noDefinition')} />}
          <RunsCard name={name} tick={runsTick} />
        </div>
      )}
    </>
  );
}

function RunsCard({ name, tick }: { name: string; tick: number }) {
  const { fmt } = useApp();
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [inside, setInside] = useState(false);
  const cursor = cursors[cursors.length - 1] ?? null;
  const runs = useApi<Page<JourneyRun>>(withQuery(`${journeyPath(name)}/runs`, { inside: inside ? 'true' : undefined, limit: RUNS_PAGE, cursor }));
  useEffect(() => { if (tick > 0) runs.reload(); }, [tick]);
  const id = useId();
  return (
    <Card title={fmt.t('jr.runs')} testid="journey-runs"
      actions={<label class="check-field" for={id}>
        <input id={id} type="checkbox" checked={inside} onChange={(e) => { setInside(e.currentTarget.checked); setCursors([null]); }} data-testid="journey-runs-inside" />
        <span>{fmt.t('jr.onlyInside')}</span>
      </label>}>
      <Async value={runs}>{(p) => p.data.length === 0 ? <Empty>{fmt.t('jr.noRuns')}</Empty> : (
        <>
          <div class="table-wrap" tabIndex={0}>
            <table class="table compact" data-testid="journey-runs-table">
              <thead><tr>
                <th scope="col">{fmt.t('jr.customer')}</th><th scope="col" class="num">{fmt.t('jr.version')}</th>
                <th scope="col">{fmt.t('jr.step')}</th><th scope="col">{fmt.t('jr.state')}</th>
                <th scope="col">{fmt.t('jr.enteredAt')}</th><th scope="col">{fmt.t('jr.wakeAt')}</th>
              </tr></thead>
              <tbody>{p.data.map((x) => (
                <tr key={x.id} data-testid="journey-run-row" data-customer={x.customer} data-state={x.state} data-step={x.step ?? ''}>
                  <th scope="row"><a href={href(`/customers/${enc(x.customer)}`)}>{x.customer}</a></th>
                  <td class="num">{x.version}</td>
                  <td>{x.step ? <code>{x.step}</code> : '—'}</td>
                  <td><span class={`badge jr-run jr-run-${x.state}`}>{label(fmt, `jr.run.${x.state}`, x.state)}</span></td>
                  <td class="nowrap">{fmt.dateTime(x.entered_at)}</td>
                  <td class="nowrap">{x.wake_at ? fmt.dateTime(x.wake_at) : x.ended_at ? fmt.t('jr.endedAt', { at: fmt.dateTime(x.ended_at) }) : '—'}</td>
                </tr>
              ))}</tbody>
            </table>
          </div>
          <div class="pager">
            <button type="button" class="btn" disabled={cursors.length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))} data-testid="journey-runs-prev">{fmt.t('common.previous')}</button>
            <span class="muted" data-testid="journey-runs-page">{fmt.t('customers.page', { page: cursors.length })}</span>
            <button type="button" class="btn" disabled={!p.next_cursor} onClick={() => setCursors((c) => [...c, p.next_cursor])} data-testid="journey-runs-next">{fmt.t('common.next')}</button>
          </div>
        </>
      )}</Async>
    </Card>
  );
}

// ---- the editor ---------------------------------------------------------------------------

const NEW_JOURNEY = {
  name: 'my-journey',
  trigger: { type: 'event', event: 'Signed Up' },
  reentry: 'never',
  goal: { event: 'Order Completed', within_days: 14 },
  steps: [
    { id: 'hello', type: 'send', template: 'welcome', next: 'wait' },
    { id: 'wait', type: 'wait', days: 3, next: 'done' },
    { id: 'done', type: 'exit' },
  ],
};

export function JourneyEditorPage({ name }: { name: string | null }) {
  const { fmt } = useApp();
  const existing = useApi<Journey>(name ? journeyPath(name) : null);
  const title = name ? `${fmt.t('jr.editTitle')}: ${name}` : fmt.t('jr.new');
  if (name && existing.error) return <><Crumb /><PageHeader title={title} /><ErrorBox error={existing.error} onRetry={existing.reload} /></>;
  if (name && !existing.data) return <><Crumb /><PageHeader title={title} /><Loading /></>;
  return <JourneyEditor key={name ?? 'new'} initial={existing.data} />;
}

type Result = { kind: 'unchanged' | 'new_version'; version: number };

function JourneyEditor({ initial }: { initial: Journey | null }) {
  const { fmt, canWrite } = useApp();
  const [text, setText] = useState(() => formatJson((initial?.definition ?? NEW_JOURNEY) as unknown as Record<string, unknown>));
  const [errors, setErrors] = useState<(PreviewError & { pointer?: string })[]>([]);
  const [other, setOther] = useState<unknown>(null);
  const [result, setResult] = useState<Result | null>(null);
  const [busy, setBusy] = useState(false);
  const [journey, setJourney] = useState<Journey | null>(initial);
  const area = useRef<HTMLTextAreaElement>(null);
  const gutter = useRef<HTMLOListElement>(null);

  const at = (offsets: Map<string, number> | null, pointer: string) => (offsets && pointerPosition(offsets, text, pointer)) ?? { line: 0, column: 0 };
  const save = async (e: Event) => {
    e.preventDefault();
    setErrors([]); setOther(null); setResult(null);
    let offsets: Map<string, number>;
    try { offsets = jsonOffsets(text); } catch (err) {
      if (!(err instanceof JsonSyntaxError)) throw err;
      setErrors([{ ...lineColumn(text, err.offset), message: fmt.t('jr.syntax', { what: err.message }) }]);
      return;
    }
    const body = JSON.parse(text) as unknown;
    const target = journey?.name ?? (body && typeof body === 'object' && !Array.isArray(body) ? (body as { name?: unknown }).name : undefined);
    if (typeof target !== 'string' || target === '') {
      setErrors([{ ...at(offsets, '/name'), pointer: '/name', message: fmt.t('jr.nameRequired') }]);
      return;
    }
    setBusy(true);
    try {
      const saved = await api.put<Journey>(journeyPath(target), body);
      setJourney(saved);
      if (!journey) { navigate(`/journeys/${enc(saved.name)}`, { saved: 1 }); return; }
      setResult({ kind: saved.new_version ? 'new_version' : 'unchanged', version: saved.version });
    } catch (err) {
      const placed = err instanceof ApiError ? err.errors.filter((x) => x.pointer !== undefined) : [];
      if (placed.length) setErrors(placed.map((x) => ({ ...at(offsets, x.pointer ?? ''), pointer: x.pointer ?? '', message: x.detail ?? '' })));
      else setOther(err);
    } finally { setBusy(false); }
  };
  // A click on an error's position puts the cursor there.
  const jump = (line: number, column: number) => {
    const el = area.current;
    if (!el || line < 1) return;
    const lines = text.split('\n');
    const offset = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0) + column - 1;
    el.focus(); el.setSelectionRange(offset, offset);
  };
  const errorLines = [...new Set(errors.map((e) => e.line).filter((l) => l > 0))].sort((a, b) => a - b);
  const lineCount = text.split('\n').length;

  return (
    <>
      <Crumb />
      <PageHeader title={journey ? `${fmt.t('jr.editTitle')}: ${journey.name}` : fmt.t('jr.new')}>
        {journey && <JourneyStateBadge state={journey.state} />}
        {journey && <a class="btn" href={href(`/journeys/${enc(journey.name)}`)} data-testid="journey-open">{fmt.t('jr.openJourney')}</a>}
      </PageHeader>
      {!canWrite && <p class="notice" role="note">{fmt.t('common.readOnly')}</p>}
      <div class="editor-layout jr-editor-layout">
        <form class="card editor" onSubmit={(e) => void save(e)} noValidate aria-label={fmt.t('jr.editor')} data-testid="journey-editor">
          <label class="field" for="jr-def"><span>{fmt.t('jr.definition')}</span></label>
          <div class="jr-code">
            <ol class="jr-gutter" aria-hidden="true" ref={gutter}>
              {Array.from({ length: lineCount }, (_, i) => <li key={i} class={errorLines.includes(i + 1) ? 'jr-gutter-err' : ''}>{i + 1}</li>)}
            </ol>
            <textarea id="jr-def" ref={area} class="code jr-textarea" rows={Math.min(40, Math.max(14, lineCount + 1))} wrap="off" spellcheck={false}
              autoCapitalize="off" autoComplete="off" value={text} readOnly={!canWrite} aria-invalid={errors.length > 0}
              aria-describedby="jr-def-hint jr-def-errors"
              onScroll={(e) => { if (gutter.current) gutter.current.scrollTop = e.currentTarget.scrollTop; }}
              onInput={(e) => { setText(e.currentTarget.value); setResult(null); }} data-testid="journey-json" />
          </div>
          <small id="jr-def-hint" class="muted">{fmt.t('jr.editorHint')}</small>
          <div id="jr-def-errors">
            {errors.length > 0 && <>
              <p class="form-error" data-testid="journey-error-count">{fmt.t('jr.errorCount', { n: errors.length })}</p>
              <ErrorList errors={errors} source={text} testid="journey-errors" />
              {errorLines.length > 0 && (
                <p class="small">{errorLines.map((l) => (
                  <Fragment key={l}><button type="button" class="link-button" onClick={() => { const e = errors.find((x) => x.line === l)!; jump(e.line, e.column); }}>
                    {fmt.t('jr.goToLine', { n: l })}</button>{' '}</Fragment>
                ))}</p>
              )}
            </>}
          </div>
          {other !== null && <ErrorBox error={other} />}
          {result && (
            <p class="notice notice-ok" role="status" data-testid="journey-save-result" data-result={result.kind} data-version={result.version}>
              {result.kind === 'unchanged' ? fmt.t('jr.unchanged', { v: result.version }) : fmt.t('jr.newVersion', { v: result.version })}
            </p>
          )}
          {canWrite && (
            <div class="form-actions">
              <button type="submit" class="btn btn-primary" disabled={busy} data-testid="journey-save">{busy ? fmt.t('common.saving') : fmt.t('common.save')}</button>
            </div>
          )}
        </form>
        <Card title={fmt.t('jr.reference')} class="preview-card jr-reference">
          <ul class="plain small jr-ref-list">
            {(['trigger', 'reentry', 'goal', 'steps'] as const).map((k) => <li key={k}><code>{k}</code> — {fmt.t(`jr.ref.${k}` as MessageKey)}</li>)}
          </ul>
          <p class="small muted">{fmt.t('jr.ref.types')}</p>
          <p class="small"><code class="break-words">wait, wait_until, wait_for_event, branch, split, send, grant_points, grant_reward, webhook, followup, set_attribute, exit</code></p>
        </Card>
      </div>
    </>
  );
}
