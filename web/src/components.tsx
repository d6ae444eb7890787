import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { ApiError, type PreviewError } from './api';
import { useApp } from './context';

export function PageHeader({ title, children }: { title: string; children?: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => { document.title = `${title} · treu`; }, [title]);
  return (
    <div class="page-header">
      <h1 ref={ref} tabIndex={-1} id="page-title">{title}</h1>
      {children && <div class="page-actions">{children}</div>}
    </div>
  );
}

export function Loading({ label }: { label?: string }) {
  const { fmt } = useApp();
  return (
    <div class="state state-loading" role="status" aria-live="polite" data-testid="loading">
      <span class="spinner" aria-hidden="true" /> {label ?? fmt.t('state.loading')}
    </div>
  );
}

export function ErrorBox({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { fmt } = useApp();
  const status = error instanceof ApiError ? error.status : 0;
  const detail = error instanceof ApiError ? error.detail : error instanceof Error ? error.message : String(error);
  const missing = status === 404 || status === 405 || status === 501;
  return (
    <div class="state state-error" role="alert" data-testid="error" data-status={status}>
      <strong>{missing ? fmt.t('state.notAvailable') : fmt.t('state.error')}</strong>
      <p class="error-detail">{detail}</p>
      {onRetry && <button type="button" class="btn" onClick={onRetry}>{fmt.t('state.retry')}</button>}
    </div>
  );
}

export function Empty({ children }: { children?: ComponentChildren }) {
  const { fmt } = useApp();
  return <div class="state state-empty" data-testid="empty">{children ?? fmt.t('state.empty')}</div>;
}

// Renders loading / error / content of a Loaded value.
export function Async<T>({ value, children }: { value: { data: T | null; error: unknown; loading: boolean; reload: () => void }; children: (data: T) => ComponentChildren }) {
  if (value.error) return <ErrorBox error={value.error} onRetry={value.reload} />;
  if (value.data === null) return <Loading />;
  return <>{children(value.data)}</>;
}

export function Card({ title, children, class: cls, actions, testid }: { title?: ComponentChildren; children: ComponentChildren; class?: string; actions?: ComponentChildren; testid?: string }) {
  const id = useId();
  return (
    <section class={`card ${cls ?? ''}`} aria-labelledby={title ? id : undefined} data-testid={testid}>
      {(title || actions) && (
        <div class="card-head">
          {title && <h2 id={id}>{title}</h2>}
          {actions && <div class="card-actions">{actions}</div>}
        </div>
      )}
      {children}
    </section>
  );
}

// A figure with its raw value for tests and machines.
export function Stat({ label, value, raw, testid, sub }: { label: string; value: string; raw: number | string | null | undefined; testid: string; sub?: ComponentChildren }) {
  return (
    <div class="stat">
      <div class="stat-label">{label}</div>
      <div class="stat-value" data-testid={testid} data-value={raw === null || raw === undefined ? '' : String(raw)}>{value}</div>
      {sub && <div class="stat-sub">{sub}</div>}
    </div>
  );
}

// An info button whose explanation shows on hover and on keyboard focus.
export function InfoTip({ label, text }: { label: string; text: string }) {
  const id = useId();
  return (
    <span class="tip">
      <button type="button" class="tip-button" aria-label={label} aria-describedby={id}>i</button>
      <span role="tooltip" id={id} class="tip-text">{text}</span>
    </span>
  );
}

export function Segmented<T extends string>({ label, value, options, onChange, name, disabled, testid }: {
  label: string; value: T; options: { value: T; label: string }[]; onChange: (v: T) => void; name: string; disabled?: boolean; testid?: string;
}) {
  return (
    <fieldset class="segmented" disabled={disabled} data-testid={testid} data-value={value}>
      <legend class="sr-only">{label}</legend>
      {options.map((o) => (
        <label key={o.value} class={o.value === value ? 'active' : ''}>
          <input type="radio" name={name} value={o.value} checked={o.value === value} onChange={() => onChange(o.value)} />
          <span>{o.label}</span>
        </label>
      ))}
    </fieldset>
  );
}

export function errorText(e: unknown): string {
  return e instanceof ApiError ? e.detail : e instanceof Error ? e.message : String(e);
}

// Each error of an editor (segment expressions, templates) at its line and column: the message,
// and the source line with the faulty character marked and a caret below it. Line 0 is an
// error of the whole text (no position). An error with a `pointer` (a JSON editor's) names it first.
export function ErrorList({ errors, source, testid }: { errors: (PreviewError & { pointer?: string })[]; source?: string; testid: string }) {
  return (
    <div role="alert"><ul class="expr-errors" data-testid={testid}>
      {errors.map((e, i) => {
        const lines = (source ?? '').split('\n');
        const line = source !== undefined ? lines[e.line - 1] ?? '' : (e.text?.split('\n')[1] ?? '');
        const col = Math.max(1, e.column);
        const before = line.slice(0, col - 1), at = line.slice(col - 1, col) || ' ', after = line.slice(col);
        return (
          <li key={i} data-line={e.line} data-column={e.column} data-pointer={e.pointer}>
            <div class="expr-error-msg">{e.line > 0 ? `${e.line}:${e.column} — ` : ''}{e.pointer !== undefined && <code class="pointer">{e.pointer || '/'}</code>}{e.pointer !== undefined && ' '}{e.message}</div>
            {e.line > 0 && (line || e.column) && (
              <pre class="code expr-error-src" aria-hidden="true">{before}<mark class="err-at">{at}</mark>{after}{'\n'}{' '.repeat(col - 1)}^</pre>
            )}
          </li>
        );
      })}
    </ul></div>
  );
}

// A value to copy (a key, a secret): shown read-only in full, with a copy button. Without the
// Clipboard API (not a secure context) the button selects the text for Ctrl+C.
export function CopyField({ label, value, testid, hint }: { label: string; value: string; testid: string; hint?: ComponentChildren }) {
  const { fmt } = useApp();
  const id = useId();
  const ref = useRef<HTMLTextAreaElement>(null);
  const [copied, setCopied] = useState(false);
  useEffect(() => setCopied(false), [value]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied(true);
    } catch {
      ref.current?.focus();
      ref.current?.select();
    }
  };
  return (
    <div class="copy-field">
      <label class="field" for={`${id}-v`}><span>{label}</span></label>
      <div class="copy-row">
        <textarea id={`${id}-v`} ref={ref} readOnly rows={value.length > 60 ? 2 : 1} class="code copy-value" spellcheck={false}
          value={value} data-testid={testid} aria-describedby={hint ? `${id}-h` : undefined} onFocus={(e) => e.currentTarget.select()} />
        <button type="button" class="btn btn-small" onClick={() => void copy()} data-testid={`${testid}-copy`}>
          {copied ? `✓ ${fmt.t('common.copied')}` : fmt.t('common.copy')}
        </button>
      </div>
      {hint && <small id={`${id}-h`} class="muted">{hint}</small>}
      <span class="sr-only" role="status">{copied ? fmt.t('common.copied') : ''}</span>
    </div>
  );
}
