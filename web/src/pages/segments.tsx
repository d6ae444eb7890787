import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, ApiError, type Page, type Preview, type PreviewError, type Segment, type SegmentField } from '../api';
import { Sparkline } from '../chart';
import { Async, Card, Empty, ErrorBox, ErrorList, Loading, PageHeader, Segmented } from '../components';
import { useApp } from '../context';
import { useApi, useDebounced } from '../hooks';
import type { MessageKey } from '../i18n';
import { href, navigate } from '../router';
import { generate, needsValue, opsFor, rowsFromAst, type Joiner, type Op, type Row } from '../segexpr';

export function SegmentsPage() {
  const { fmt, canWrite } = useApp();
  const list = useApi<Page<Segment>>('/api/v1/segments?limit=500');
  return (
    <>
      <PageHeader title={fmt.t('segments.title')}>
        {canWrite && <a class="btn btn-primary" href="#/segments/new" data-testid="segment-new">+ {fmt.t('segments.new')}</a>}
      </PageHeader>
      {!canWrite && <p class="muted">{fmt.t('common.readOnly')}</p>}
      <Card>
        <Async value={list}>{(page) => page.data.length === 0 ? <Empty /> : (
          <div class="table-wrap" tabIndex={0}>
            <table class="table" data-testid="segment-table">
              <thead><tr>
                <th scope="col">{fmt.t('common.name')}</th>
                <th scope="col" class="num">{fmt.t('segments.size')}</th>
                <th scope="col" class="hide-sm">{fmt.t('segments.trend')}</th>
                <th scope="col" class="hide-sm">{fmt.t('segments.expr')}</th>
                <th scope="col">{fmt.t('segments.export')}</th>
              </tr></thead>
              <tbody>{page.data.map((s) => <SegmentRow key={s.id} s={s} />)}</tbody>
            </table>
          </div>
        )}</Async>
      </Card>
    </>
  );
}

function SegmentRow({ s }: { s: Segment }) {
  const { fmt, canWrite } = useApp();
  const detail = useApi<Segment>(`/api/v1/segments/${s.id}`);
  const history = detail.data?.history ?? [];
  return (
    <tr data-testid="segment-row" data-name={s.name}>
      <th scope="row">
        {canWrite && !s.builtin ? <a href={href(`/segments/${s.id}/edit`)}>{s.name}</a> : <span>{s.name}</span>}
        {s.builtin && <span class="badge">{fmt.t('segments.builtin')}</span>}
      </th>
      <td class="num" data-testid="segment-size" data-value={s.size ?? ''}>{fmt.integer(s.size)}</td>
      <td class="hide-sm spark-cell">
        {history.length > 1 ? <Sparkline values={history.map((h) => h.size)} label={fmt.t('overview.trend', { name: s.name })} />
          : <span class="muted small">{detail.error ? '—' : history.length === 1 ? fmt.integer(history[0]!.size) : ''}</span>}
      </td>
      <td class="hide-sm"><code class="expr">{s.expr}</code></td>
      <td class="nowrap">
        <a class="btn btn-small" href={`/api/v1/segments/${s.id}/export?format=csv`} download={`${s.name}.csv`} data-testid="segment-export-csv">
          {fmt.t('segments.exportCsv')}<span class="sr-only"> ({fmt.t('segments.export')} {s.name})</span></a>{' '}
        <a class="btn btn-small" href={`/api/v1/segments/${s.id}/export?format=jsonl`} download={`${s.name}.jsonl`} data-testid="segment-export-jsonl">
          {fmt.t('segments.exportJsonl')}<span class="sr-only"> ({fmt.t('segments.export')} {s.name})</span></a>
      </td>
    </tr>
  );
}

type Mode = 'builder' | 'text';

export function SegmentEditorPage({ id }: { id: string | null }) {
  const { fmt } = useApp();
  const existing = useApi<Segment>(id ? `/api/v1/segments/${encodeURIComponent(id)}` : null);
  const fields = useApi<SegmentField[] | { data: SegmentField[] }>('/api/v1/segments/fields');
  if (id && existing.error) return <><PageHeader title={fmt.t('segments.edit')} /><ErrorBox error={existing.error} onRetry={existing.reload} /></>;
  if (id && !existing.data) return <><PageHeader title={fmt.t('segments.edit')} /><Loading /></>;
  if (!fields.data && !fields.error) return <><PageHeader title={id ? fmt.t('segments.edit') : fmt.t('segments.new')} /><Loading /></>;
  const list = fields.data ? (Array.isArray(fields.data) ? fields.data : fields.data.data) : null;
  return <Editor segment={existing.data} fields={list} fieldsError={fields.error} />;
}

function Editor({ segment, fields, fieldsError }: { segment: Segment | null; fields: SegmentField[] | null; fieldsError: unknown }) {
  const { fmt, canWrite } = useApp();
  const fieldMap = useMemo(() => new Map((fields ?? []).map((f) => [f.name, f])), [fields]);
  const selectable = useMemo(() => (fields ?? []).filter((f) => !f.name.includes('<')), [fields]);
  const [name, setName] = useState(segment?.name ?? '');
  const [mode, setMode] = useState<Mode>(fields ? 'builder' : 'text');
  const [joiner, setJoiner] = useState<Joiner>('and');
  const [rows, setRows] = useState<Row[]>(() => {
    const f = selectable.find((x) => x.name === 'revenue_total') ?? selectable[0];
    return [{ field: f?.name ?? '', op: opsFor(f?.type ?? 'number')[0]!, value: '' }];
  });
  const [text, setText] = useState(segment?.expr ?? '');
  const [notice, setNotice] = useState<string | null>(null);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [previewError, setPreviewError] = useState<unknown>(null);
  const [checking, setChecking] = useState(false);
  const lastAst = useRef<{ expr: string; ast: unknown } | null>(null);

  const generated = useMemo(() => generate(rows, joiner, fieldMap), [rows, joiner, fieldMap]);
  const expr = mode === 'builder' ? generated : text;
  const debounced = useDebounced(expr, 400);

  // An existing segment opens in the builder when its tree fits it.
  useEffect(() => {
    if (!segment || !fields) return;
    const r = rowsFromAst((segment as Segment & { ast?: unknown }).ast);
    if (r && r.rows.every((row) => fieldMap.has(row.field))) { setRows(r.rows); setJoiner(r.joiner); setMode('builder'); }
    else setMode('text');
  }, [segment, fields]);

  useEffect(() => {
    if (!debounced.trim()) { setPreview(null); setPreviewError(null); return; }
    const ctl = new AbortController();
    setChecking(true);
    api.post<Preview & { ast?: unknown }>('/api/v1/segments/preview', { expr: debounced, sample: 10 }, ctl.signal).then((p) => {
      if (ctl.signal.aborted) return;
      setPreview(p); setPreviewError(null); setChecking(false);
      if (p.valid) lastAst.current = { expr: debounced, ast: p.ast };
    }, (e: unknown) => { if (!ctl.signal.aborted) { setPreviewError(e); setPreview(null); setChecking(false); } });
    return () => ctl.abort();
  }, [debounced]);

  const switchMode = (m: Mode) => {
    setNotice(null);
    if (m === 'text') { setText(generated); setMode('text'); return; }
    const ast = lastAst.current?.expr === text.trim() || lastAst.current?.expr === text ? lastAst.current.ast : null;
    const r = ast ? rowsFromAst(ast) : text.trim() === '' ? { rows, joiner } : null;
    if (!r || !r.rows.every((row) => fieldMap.has(row.field))) { setNotice(fmt.t('segments.unsupported')); return; }
    setRows(r.rows); setJoiner(r.joiner); setMode('builder');
  };

  const save = async (e: Event) => {
    e.preventDefault();
    setSaving(true); setSaveError(null); setNotice(null);
    try {
      const body = { name: name.trim(), expr };
      const saved = segment
        ? await api.patch<Segment>(`/api/v1/segments/${segment.id}`, body)
        : await api.post<Segment>('/api/v1/segments', body);
      setNotice(fmt.t('segments.saveDone'));
      if (!segment && saved?.id !== undefined) navigate(`/segments/${saved.id}/edit`, undefined, true);
    } catch (err) { setSaveError(err); } finally { setSaving(false); }
  };

  const remove = async () => {
    if (!segment || !window.confirm(fmt.t('common.confirmDelete', { name: segment.name }))) return;
    setSaveError(null);
    try { await api.del(`/api/v1/segments/${segment.id}`); navigate('/segments'); } catch (err) { setSaveError(err); }
  };

  const errors: PreviewError[] = preview && !preview.valid ? preview.errors : saveErrorPositions(saveError);
  const locked = !!segment?.builtin;

  return (
    <>
      <p class="breadcrumb"><a href="#/segments">← {fmt.t('segments.title')}</a></p>
      <PageHeader title={segment ? `${fmt.t('segments.edit')}: ${segment.name}` : fmt.t('segments.new')} />
      {locked && <p class="notice">{fmt.t('segments.builtinLocked')}</p>}
      <div class="editor-layout">
        <form class="card editor" onSubmit={save} aria-label={fmt.t('segments.editor')} data-testid="segment-editor">
          <label class="field">
            <span>{fmt.t('segments.name')}</span>
            <input type="text" required pattern="[A-Za-z0-9_.\-]{1,64}" value={name} onInput={(e) => setName(e.currentTarget.value)}
              aria-describedby="seg-name-hint" data-testid="segment-name" disabled={locked || !canWrite} />
            <small id="seg-name-hint" class="muted">{fmt.t('segments.nameHint')}</small>
          </label>
          <div class="editor-mode">
            <Segmented name="mode" label={fmt.t('segments.mode')} value={mode} onChange={switchMode}
              options={[{ value: 'builder', label: fmt.t('segments.modeBuilder') }, { value: 'text', label: fmt.t('segments.modeText') }]} />
          </div>
          {notice && <p class="notice" role="status">{notice}</p>}
          {fields === null && mode === 'text' && (
            <div class="fields-missing"><ErrorBox error={fieldsError} /><p class="muted small">{fmt.t('segments.fieldsUnavailable')}</p></div>
          )}
          {mode === 'builder' ? (
            fields === null ? <ErrorBox error={fieldsError} /> : (
              <Builder rows={rows} setRows={setRows} joiner={joiner} setJoiner={setJoiner} fields={selectable} fieldMap={fieldMap} />
            )
          ) : (
            <TextEditor text={text} setText={setText} errors={errors} />
          )}
          {mode === 'builder' && (
            <div class="generated">
              <div class="field-label" id="generated-label">{fmt.t('segments.generated')}</div>
              <pre class="code" aria-labelledby="generated-label" data-testid="segment-generated">{generated || ' '}</pre>
              {errors.length > 0 && <ErrorList errors={errors} testid="segment-errors" />}
            </div>
          )}
          {saveError !== null && <ErrorBox error={saveError} />}
          {canWrite && !locked && (
            <div class="form-actions">
              <button type="submit" class="btn btn-primary" disabled={saving || !expr.trim() || !name.trim()} data-testid="segment-save">
                {saving ? fmt.t('common.saving') : fmt.t('common.save')}
              </button>
              {segment && (
                <button type="button" class="btn btn-danger" data-testid="segment-delete" onClick={() => void remove()}>{fmt.t('common.delete')}</button>
              )}
            </div>
          )}
        </form>
        <Card title={fmt.t('segments.liveCount')} class="preview-card" testid="segment-preview">
          <div aria-live="polite">
            {previewError ? <ErrorBox error={previewError} />
              : !preview ? (checking ? <Loading label={fmt.t('segments.checking')} /> : <p class="muted">—</p>)
                : !preview.valid ? <p class="form-error" data-testid="segment-invalid">{fmt.t('segments.invalid')}</p>
                  : (
                    <>
                      <div class="big-number" data-testid="segment-live-count" data-value={preview.count ?? ''} data-expr={debounced} aria-busy={checking}>
                        {fmt.integer(preview.count)}
                      </div>
                      <p class="muted">{fmt.t('segments.of', { count: fmt.integer(preview.count), total: fmt.integer(preview.customers) })}</p>
                      {preview.sample.length > 0 && (
                        <>
                          <h3>{fmt.t('segments.sample')}</h3>
                          <ul class="member-list" data-testid="segment-sample">
                            {preview.sample.map((c) => (
                              <li key={c.customer_id}><a href={href(`/customers/${encodeURIComponent(c.customer_id)}`)}>{c.customer_id}</a> <span class="muted small">{c.email}</span></li>
                            ))}
                          </ul>
                        </>
                      )}
                    </>
                  )}
          </div>
        </Card>
      </div>
    </>
  );
}

function saveErrorPositions(e: unknown): PreviewError[] {
  if (!(e instanceof ApiError)) return [];
  return e.errors.filter((x) => typeof x.line === 'number' && typeof x.column === 'number')
    .map((x) => ({ line: x.line!, column: x.column!, message: x.detail ?? '' }));
}

function Builder({ rows, setRows, joiner, setJoiner, fields, fieldMap }: {
  rows: Row[]; setRows: (r: Row[]) => void; joiner: Joiner; setJoiner: (j: Joiner) => void;
  fields: SegmentField[]; fieldMap: Map<string, SegmentField>;
}) {
  const { fmt } = useApp();
  const update = (i: number, patch: Partial<Row>) => setRows(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  const groups = useMemo(() => {
    const m = new Map<string, SegmentField[]>();
    for (const f of fields) { const g = f.group ?? ''; m.set(g, [...(m.get(g) ?? []), f]); }
    return [...m.entries()];
  }, [fields]);
  return (
    <div class="builder" data-testid="segment-builder">
      <label class="field field-inline">
        <span>{fmt.t('segments.match')}</span>
        <select value={joiner} onChange={(e) => setJoiner(e.currentTarget.value as Joiner)} data-testid="builder-joiner">
          <option value="and">{fmt.t('segments.all')}</option>
          <option value="or">{fmt.t('segments.any')}</option>
        </select>
      </label>
      <ol class="builder-rows">
        {rows.map((row, i) => {
          const f = fieldMap.get(row.field);
          const type = f?.type ?? 'any';
          const ops = opsFor(type);
          return (
            <li key={i} class="builder-row" data-testid="builder-row">
              <label class="field">
                <span class="sr-only">{fmt.t('segments.field')} {i + 1}</span>
                <select value={row.field} data-testid="builder-field" onChange={(e) => {
                  const nf = fieldMap.get(e.currentTarget.value);
                  const nops = opsFor(nf?.type ?? 'any');
                  update(i, { field: e.currentTarget.value, op: nops.includes(row.op) ? row.op : nops[0]!, value: '' });
                }}>
                  {groups.map(([g, fs]) => (
                    <optgroup key={g} label={g || fmt.t('segments.field')}>
                      {fs.map((x) => <option key={x.name} value={x.name} title={x.description}>{x.name}</option>)}
                    </optgroup>
                  ))}
                </select>
              </label>
              <label class="field">
                <span class="sr-only">{fmt.t('segments.operator')} {i + 1}</span>
                <select value={row.op} data-testid="builder-op" onChange={(e) => update(i, { op: e.currentTarget.value as Op })}>
                  {ops.map((o) => <option key={o} value={o}>{fmt.t(`op.${o}` as MessageKey)}</option>)}
                </select>
              </label>
              {needsValue(row.op) ? (
                <ValueInput row={row} field={f} onChange={(v) => update(i, { value: v })} label={`${fmt.t('segments.value')} ${i + 1}`} />
              ) : <span />}
              <button type="button" class="btn btn-icon" aria-label={fmt.t('segments.removeRow', { n: i + 1 })} disabled={rows.length === 1}
                onClick={() => setRows(rows.filter((_, j) => j !== i))}>×</button>
              {f?.description && <small class="muted builder-desc">{f.description}</small>}
            </li>
          );
        })}
      </ol>
      <button type="button" class="btn" data-testid="builder-add" onClick={() => {
        const f = fields[0];
        setRows([...rows, { field: f?.name ?? '', op: opsFor(f?.type ?? 'number')[0]!, value: '' }]);
      }}>+ {fmt.t('segments.addRow')}</button>
    </div>
  );
}

function ValueInput({ row, field, onChange, label }: { row: Row; field: SegmentField | undefined; onChange: (v: string) => void; label: string }) {
  const type = field?.type ?? 'any';
  const common = { 'aria-label': label, 'data-testid': 'builder-value', value: row.value, onInput: (e: Event) => onChange((e.currentTarget as HTMLInputElement).value) };
  if (field?.values && field.values.length > 0) {
    return (
      <select aria-label={label} data-testid="builder-value" value={row.value} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="" />
        {field.values.map((v) => <option key={v} value={v}>{v}</option>)}
      </select>
    );
  }
  if (row.op === 'before_ago' || row.op === 'within_ago') return <input type="number" min={0} step={1} inputMode="numeric" placeholder="90" {...common} />;
  if (type === 'number' || type === 'money') return <input type="number" step="any" inputMode="decimal" placeholder={field?.example ?? '0'} {...common} />;
  if (type === 'time') return <input type="date" {...common} />;
  return <input type="text" placeholder={field?.example ?? ''} {...common} />;
}

function TextEditor({ text, setText, errors }: { text: string; setText: (s: string) => void; errors: PreviewError[] }) {
  const { fmt } = useApp();
  return (
    <div class="text-editor">
      <label class="field">
        <span>{fmt.t('segments.expr')}</span>
        <textarea rows={6} spellcheck={false} autoCapitalize="off" value={text} onInput={(e) => setText(e.currentTarget.value)}
          aria-invalid={errors.length > 0} aria-describedby="expr-help expr-errors" data-testid="segment-text" class="code" />
      </label>
      <small id="expr-help" class="muted">{fmt.t('segments.textHelp')}</small>
      <div id="expr-errors">{errors.length > 0 && <ErrorList errors={errors} source={text} testid="segment-errors" />}</div>
    </div>
  );
}
