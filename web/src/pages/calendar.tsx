// The content calendar (GET /api/v1/calendar): a month of campaigns planned or sent, each on its
// day and linking to the campaign, with its conflicts (the same audience twice that day, a send
// inside the quiet hours) flagged and explained, and the journeys' planned sends (how many
// customers a send step is due for that day), linking to the journey. A campaign with a survey
// is a survey wave and says so. A month grid on wide screens, a list of days on phones.
import { useEffect, useState } from 'preact/hooks';
import type { CalendarEntry, CalendarPage as Calendar } from '../api';
import { Async, Card, Empty, PageHeader } from '../components';
import { useApp } from '../context';
import { useApi } from '../hooks';
import type { Formatter, MessageKey } from '../i18n';
import { currentMonth, addMonths } from '../periods';
import { href, navigate, useRoute } from '../router';
import { CampaignStateBadge, CampaignTabs, formatDay, SurveyBadge } from './campaigns';
import { ChannelBadge } from './templates';

const pad = (n: number) => String(n).padStart(2, '0');

function useNarrow(query = '(max-width: 860px)'): boolean {
  const [narrow, setNarrow] = useState(() => window.matchMedia(query).matches);
  useEffect(() => {
    const m = window.matchMedia(query);
    const on = () => setNarrow(m.matches);
    m.addEventListener('change', on);
    return () => m.removeEventListener('change', on);
  }, [query]);
  return narrow;
}

export function CalendarPage() {
  const { fmt, workspace } = useApp();
  const zone = workspace?.time_zone ?? 'UTC';
  const route = useRoute();
  const asked = route.query.get('month') ?? '';
  const month = /^\d{4}-\d{2}$/.test(asked) ? asked : currentMonth(zone);
  const [y, m] = month.split('-').map(Number) as [number, number];
  const days = new Date(Date.UTC(y, m, 0)).getUTCDate();
  const from = `${month}-01`, to = `${month}-${pad(days)}`;
  const cal = useApi<Calendar>(`/api/v1/calendar?from=${from}&to=${to}`);
  const narrow = useNarrow();
  const go = (n: number) => navigate('/calendar', { month: addMonths(month, n) });
  const tag = fmt.locale === 'de' ? 'de-DE' : 'en-GB';
  const title = new Intl.DateTimeFormat(tag, { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(Date.UTC(y, m - 1, 1)));
  return (
    <>
      <PageHeader title={fmt.t('cal.title')} />
      <CampaignTabs current="calendar" />
      <div class="toolbar">
        <div class="period-nav" role="group" aria-label={fmt.t('cal.month')}>
          <a class="btn btn-small" href={href('/calendar', { month: addMonths(month, -1) })} data-testid="calendar-prev"
            onClick={(e) => { e.preventDefault(); go(-1); }}><span aria-hidden="true">‹</span><span class="sr-only">{fmt.t('cal.prev')}</span></a>
          <h2 class="period-label" data-testid="calendar-month" data-value={month} aria-live="polite">{title}</h2>
          <a class="btn btn-small" href={href('/calendar', { month: addMonths(month, 1) })} data-testid="calendar-next"
            onClick={(e) => { e.preventDefault(); go(1); }}><span aria-hidden="true">›</span><span class="sr-only">{fmt.t('cal.next')}</span></a>
        </div>
        {month !== currentMonth(zone) && <a class="btn btn-small" href={href('/calendar')} data-testid="calendar-today">{fmt.t('cal.today')}</a>}
        <span class="muted small">{fmt.t('cal.zone', { zone })}</span>
      </div>
      <Card>
        <Async value={cal}>{(c) => (
          <div data-testid="calendar" data-from={c.from} data-to={c.to} data-view={narrow ? 'list' : 'month'}>
            {narrow ? <DayList entries={c.data} zone={zone} /> : <MonthGrid y={y} m={m} days={days} entries={c.data} zone={zone} />}
            {c.data.length === 0 && <Empty>{fmt.t('cal.none')}</Empty>}
          </div>
        )}</Async>
      </Card>
      {cal.data && cal.data.data.some((e) => e.conflicts.length > 0) && <ConflictList entries={cal.data.data} />}
      <p class="muted small">{fmt.t('cal.about')}</p>
    </>
  );
}

function byDate(entries: CalendarEntry[]): Map<string, CalendarEntry[]> {
  const out = new Map<string, CalendarEntry[]>();
  for (const e of entries) out.set(e.date, [...(out.get(e.date) ?? []), e]);
  return out;
}

function timeOf(fmt: Formatter, e: CalendarEntry, zone: string): string {
  if (e.local_time) return fmt.t('cal.localTime', { time: e.local_time });
  if (!e.at) return '';
  try { return new Intl.DateTimeFormat(fmt.locale === 'de' ? 'de-DE' : 'en-GB', { timeStyle: 'short', timeZone: zone }).format(new Date(e.at)); }
  catch { return e.at.slice(11, 16); }
}

function conflictLabel(fmt: Formatter, kind: string): string {
  const k = `cal.conflict.${kind}`;
  return fmt.has(k) ? fmt.t(k as MessageKey) : kind;
}

function conflictText(fmt: Formatter, kind: string, detail: string): string {
  const k = `cal.conflictHelp.${kind}`;
  return fmt.has(k) ? fmt.t(k as MessageKey, { detail }) : detail;
}

function Entry({ e, zone, full }: { e: CalendarEntry; zone: string; full: boolean }) {
  const { fmt } = useApp();
  const time = timeOf(fmt, e, zone);
  return (
    <li class={`cal-entry ${e.conflicts.length ? 'has-conflict' : ''}`} data-testid="calendar-entry" data-name={e.name} data-date={e.date}
      data-conflicts={e.conflicts.map((c) => c.kind).join(' ')} data-survey={e.kind === 'journey' ? undefined : e.survey ?? ''}>
      {e.kind === 'journey' ? (
        <>
          <a href={href(`/journeys/${encodeURIComponent(e.name)}`)} class="cal-link">{e.name} · {e.step}</a>
          <span class="cal-meta"><ChannelBadge channel={e.channel} /><span class="cal-time">{fmt.t('cal.journeyDue', { n: fmt.integer(e.customers ?? 0) })}</span></span>
        </>
      ) : (
        <>
          <a href={href(`/campaigns/${encodeURIComponent(e.name)}`)} class="cal-link">{e.name}</a>
          <span class="cal-meta">{time && <span class="cal-time">{time}</span>}<ChannelBadge channel={e.channel} />{full && <CampaignStateBadge state={e.state} />}
            {e.survey && <SurveyBadge survey={e.survey} testid="calendar-survey" />}</span>
        </>
      )}
      {e.conflicts.length > 0 && (
        <ul class="cal-conflicts">
          {e.conflicts.map((c, i) => (
            <li key={i} class={`conflict conflict-${c.kind}`} data-testid="calendar-conflict" data-kind={c.kind}>
              <span aria-hidden="true">⚠ </span><strong>{conflictLabel(fmt, c.kind)}</strong>
              {full ? <span class="conflict-help"> — {conflictText(fmt, c.kind, c.detail)}</span> : <span class="sr-only"> — {conflictText(fmt, c.kind, c.detail)}</span>}
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}

function MonthGrid({ y, m, days, entries, zone }: { y: number; m: number; days: number; entries: CalendarEntry[]; zone: string }) {
  const { fmt } = useApp();
  const tag = fmt.locale === 'de' ? 'de-DE' : 'en-GB';
  const wd = new Intl.DateTimeFormat(tag, { weekday: 'short', timeZone: 'UTC' });
  const wdLong = new Intl.DateTimeFormat(tag, { weekday: 'long', timeZone: 'UTC' });
  const names = Array.from({ length: 7 }, (_, i) => new Date(Date.UTC(2024, 0, 1 + i)));  // 2024-01-01 was a Monday
  const lead = (new Date(Date.UTC(y, m - 1, 1)).getUTCDay() + 6) % 7;
  const cells: (number | null)[] = [...Array.from({ length: lead }, () => null), ...Array.from({ length: days }, (_, i) => i + 1)];
  while (cells.length % 7) cells.push(null);
  const weeks = Array.from({ length: cells.length / 7 }, (_, i) => cells.slice(i * 7, i * 7 + 7));
  const map = byDate(entries);
  const today = todayIn(zone);
  const dayF = new Intl.DateTimeFormat(tag, { dateStyle: 'full', timeZone: 'UTC' });
  return (
    <table class="cal-grid" data-testid="calendar-grid">
      <thead><tr>{names.map((d) => <th key={d.getTime()} scope="col"><abbr title={wdLong.format(d)}>{wd.format(d)}</abbr></th>)}</tr></thead>
      <tbody>{weeks.map((w, i) => (
        <tr key={i}>{w.map((d, j) => {
          if (d === null) return <td key={j} class="cal-empty" />;
          const date = `${y}-${pad(m)}-${pad(d)}`;
          const list = map.get(date) ?? [];
          return (
            <td key={j} class={`cal-day ${date === today ? 'cal-today' : ''}`} data-testid="calendar-day" data-date={date} aria-current={date === today ? 'date' : undefined}>
              <span class="cal-num"><span aria-hidden="true">{d}</span><span class="sr-only">{dayF.format(new Date(`${date}T00:00:00Z`))}</span></span>
              {list.length > 0 && <ul class="cal-entries">{list.map((e) => <Entry key={`${e.kind}:${e.name}:${e.step ?? ''}`} e={e} zone={zone} full={false} />)}</ul>}
            </td>
          );
        })}</tr>
      ))}</tbody>
    </table>
  );
}

function DayList({ entries, zone }: { entries: CalendarEntry[]; zone: string }) {
  const { fmt } = useApp();
  const map = byDate(entries);
  const dates = [...map.keys()].sort();
  const dayF = new Intl.DateTimeFormat(fmt.locale === 'de' ? 'de-DE' : 'en-GB', { weekday: 'long', day: 'numeric', month: 'long', timeZone: 'UTC' });
  return (
    <ol class="cal-list" data-testid="calendar-list">
      {dates.map((d) => (
        <li key={d} data-testid="calendar-day" data-date={d}>
          <h3 class="cal-list-day">{dayF.format(new Date(`${d}T00:00:00Z`))}</h3>
          <ul class="cal-entries">{map.get(d)!.map((e) => <Entry key={`${e.kind}:${e.name}:${e.step ?? ''}`} e={e} zone={zone} full />)}</ul>
        </li>
      ))}
    </ol>
  );
}

// Every conflict of the month, explained.
function ConflictList({ entries }: { entries: CalendarEntry[] }) {
  const { fmt } = useApp();
  const rows = entries.flatMap((e) => e.conflicts.map((c) => ({ e, c })));
  return (
    <Card title={fmt.t('cal.conflicts', { count: rows.length })} testid="calendar-conflicts">
      <ul class="plain conflict-list">
        {rows.map(({ e, c }, i) => (
          <li key={i} data-testid="conflict-row" data-kind={c.kind} data-name={e.name} data-date={e.date}>
            <strong>{formatDay(fmt, e.date)}</strong>, <a href={href(`/campaigns/${encodeURIComponent(e.name)}`)}>{e.name}</a>:{' '}
            <span class={`conflict conflict-${c.kind}`}>{conflictLabel(fmt, c.kind)}</span> — {conflictText(fmt, c.kind, c.detail)}
          </li>
        ))}
      </ul>
    </Card>
  );
}

function todayIn(zone: string): string {
  try { return new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date()); }
  catch { return new Date().toISOString().slice(0, 10); }
}
