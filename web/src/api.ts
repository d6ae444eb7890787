// JSON client of the treu REST API: same-origin cookies, the CSRF token on every write, and
// RFC 9457 problem details turned into ApiError.

export interface ProblemField { pointer?: string; detail?: string; line?: number; column?: number; caret?: string }

export class ApiError extends Error {
  readonly status: number;
  readonly detail: string;
  readonly errors: ProblemField[];
  readonly retryAfter: number | null;
  constructor(status: number, detail: string, errors: ProblemField[] = [], retryAfter: number | null = null) {
    super(detail);
    this.status = status;
    this.detail = detail;
    this.errors = errors;
    this.retryAfter = retryAfter;
  }
}

let csrfToken = '';
let unauthorizedHandler: (() => void) | null = null;
export function onUnauthorized(fn: (() => void) | null): void { unauthorizedHandler = fn; }
export function setCsrfToken(token: string): void { csrfToken = token; }

type Query = Record<string, string | number | boolean | null | undefined>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const s = params.toString();
  return s ? `${path}${path.includes('?') ? '&' : '?'}${s}` : path;
}

async function toError(res: Response): Promise<ApiError> {
  let detail = `${res.status} ${res.statusText}`.trim();
  let errors: ProblemField[] = [];
  try {
    const body: unknown = await res.json();
    if (body && typeof body === 'object') {
      const b = body as { detail?: unknown; title?: unknown; errors?: unknown };
      if (typeof b.detail === 'string' && b.detail) detail = b.detail;
      else if (typeof b.title === 'string' && b.title) detail = b.title;
      if (Array.isArray(b.errors)) errors = b.errors as ProblemField[];
    }
  } catch { /* not JSON */ }
  const ra = res.headers.get('Retry-After');
  return new ApiError(res.status, detail, errors, ra !== null && ra !== '' ? Number(ra) : null);
}

export async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method, headers, credentials: 'same-origin', signal,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, e instanceof Error ? e.message : String(e));
  }
  if (!res.ok) {
    if (res.status === 401 && !path.startsWith('/api/v1/session')) unauthorizedHandler?.();
    throw await toError(res);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const api = {
  get: <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>('GET', withQuery(path, query), undefined, signal),
  post: <T>(path: string, body?: unknown, signal?: AbortSignal) => request<T>('POST', path, body ?? {}, signal),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, body),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, body),
  del: <T>(path: string) => request<T>('DELETE', path),
};

// ---- shapes ------------------------------------------------------------------------------

export type Role = 'admin' | 'marketer' | 'viewer';
export interface SessionUser { id: number | string; email: string; name: string; role: Role; locale: string; workspace: string }
export interface Session { user: SessionUser; csrf_token: string }

export interface Workspace {
  name: string; currency: string; time_zone: string; retention_basis: string;
  activity_window_days?: number; activity_window?: string | number; purchase_model: string;
  brand_colour?: string | null; created_at?: string;
}

export interface Period { label: string; start: string; end: string }
export interface KpiPoint { period: Period; value: number | null; inputs?: Record<string, number> }
export interface Localized { en: string; de: string }
export interface Kpi {
  id: string; unit: 'ratio' | 'money' | 'count' | 'score' | string; value: number | null; null_reason: string | null;
  currency?: string; period: Period; inputs: Record<string, number>; series?: KpiPoint[];
  name?: Localized; definition?: Localized;
}

export interface Page<T> { data: T[]; next_cursor: string | null; total?: number }

export interface Customer {
  id: string; email: string | null; name: string | null; country: string | null; locale: string | null;
  time_zone: string | null; created_at: string; attributes?: Record<string, unknown>;
  consent?: Record<string, { granted: boolean; at?: string; source?: string }>;
}

export interface Segment {
  id: number; name: string; expr: string; builtin: boolean; size: number | null; size_at?: string | null;
  created_at?: string; updated_at?: string; history?: { at: string; size: number }[];
}
export interface PreviewError { line: number; column: number; message: string; text?: string }
export interface Preview {
  valid: boolean; expr: string; count: number | null; customers: number | null;
  sample: { customer_id: string; email: string | null }[]; errors: PreviewError[];
}
export interface SegmentField { name: string; type: string; description: string; values?: string[]; example?: string; group?: string }

// ---- messaging (docs/messaging.md) -------------------------------------------------------

export interface MessagingSettings {
  from_name: string; from_address: string; reply_to: string; transport: 'file' | 'smtp' | string;
  smtp_url: string; smtp_tls: 'none' | 'starttls' | 'tls' | string; smtp_username: string; smtp_password_set: boolean;
  dkim_domain: string; dkim_selector: string; dkim_key_set: boolean; public_url: string; track_engagement: boolean;
  consent_text_version: string; max_attempts: number; updated_at: string | null;
}
export interface TestSendResult { outcome: 'sent' | 'temporary_failure' | 'permanent_failure' | string; smtp_code: number; detail: string; message_id: string }

export const CHANNELS = ['email', 'push', 'inapp', 'webhook'] as const;
export type Channel = typeof CHANNELS[number];
export type InAppLayout = 'banner' | 'modal';
export interface MessageTemplate {
  id: number; name: string; channel: Channel | string; topic: string; subject: string; html: string; text: string;
  link_url?: string; layout?: InAppLayout | ''; endpoint?: string;
  created_at: string; updated_at: string;
}
export type TemplatePart = 'subject' | 'html' | 'text' | 'link_url' | 'layout' | 'endpoint';
export interface TemplateProblem { part: string; line: number; column: number; message: string }
export interface TemplateCheck { ok: boolean; errors: TemplateProblem[] }
export interface TemplatePreview {
  ok: boolean; customer_id?: string; subject?: string; html?: string; text?: string; link_url?: string; errors?: TemplateProblem[];
}
export interface SendReport {
  key: string; audience: number; queued: number; duplicates: number;
  skipped: { no_email: number; no_consent: number; suppressed: number; no_subscription?: number };
}

// ---- channels: web push, in-app, webhooks --------------------------------------------------

export interface ChannelSettings {
  vapid_public_key: string; vapid_subject: string; push_ready: boolean; identity_secret_set: boolean; updated_at: string | null;
}
export interface IdentitySecret { identity_secret: string; note: string }
export type WebhookFormat = 'json' | 'slack' | 'discord';
export const WEBHOOK_FORMATS: WebhookFormat[] = ['json', 'slack', 'discord'];
export interface WebhookEndpoint { name: string; url: string; format: WebhookFormat | string; created_at: string; updated_at: string; secret?: string }
export interface WebhookTestResult { ok: boolean; detail: string }
export interface PushSubscription { id: number; endpoint: string; user_agent: string; created_at: string; updated_at: string }

export const MESSAGE_STATES = ['queued', 'sending', 'sent', 'bounced', 'failed', 'suppressed', 'cancelled'] as const;
export type MessageState = typeof MESSAGE_STATES[number];
export interface Message {
  id: number; idempotency_key: string; channel: string; customer_id: string; category: string; topic: string;
  template_id: number | null; campaign: string; recipient: string; subject: string; state: MessageState | string;
  attempts: number; next_attempt_at: string | null; provider_id: string; last_error: string; created_at: string; sent_at: string | null;
}
export interface MessageLogEntry { message_id?: number; kind: string; at: string; detail: string }
export interface MessageDetail extends Message { html: string; text: string; log: MessageLogEntry[] }
export type MessageStats = { campaign: string | null } & Record<MessageState, number>;

export interface ConsentState { granted: boolean; source: string; at: string }
export interface ConsentRecord {
  id: number; customer_id: string; channel: string; action: string; at: string; ip: string; user_agent: string;
  text_version: string; source: string;
}
export interface CustomerConsent {
  customer_id: string; email: string;
  consent: Record<string, ConsentState | null>;
  email_suppressed: { address: string; reason: string; detail: string; at: string } | null;
  preferences: { topics_off: string[]; paused_until: string | null; tracking: boolean };
  records: ConsentRecord[];
}

// ---- campaigns (docs/campaigns.md) ---------------------------------------------------------

export const CAMPAIGN_STATES = ['draft', 'scheduled', 'running', 'testing', 'done', 'cancelled'] as const;
export type CampaignState = typeof CAMPAIGN_STATES[number];
export type WinnerMetric = 'opened' | 'clicked' | 'converted';
export interface CampaignVariant { name?: string; template: string; weight: number }
export interface Campaign {
  name: string; state: CampaignState | string; segment: string; where: string; variants: CampaignVariant[];
  holdout_percent: number; test_percent: number; winner_metric: WinnerMetric | string; test_window_hours: number;
  winner: string | null; send_at: string | null; send_date: string | null; local_time: string | null;
  optimize_send_time: boolean; goal_window_days: number; last_error: string;
  survey: string;  // the survey whose invitation its messages carry ({{ survey_url }}), or ""
  created_at: string; updated_at: string; launched_at: string | null; test_ends_at: string | null; finished_at: string | null;
}
export interface CampaignLaunch {
  audience: number; holdout: number; waiting: number; messages: number; capped: number;
  skipped: { no_email: number; no_consent: number; suppressed: number; no_subscription: number; survey_not_due?: number };
  deferred_by_quiet_hours: number; optimized_send_times: number; per_variant: number[];
}
export interface CampaignArm {
  name: string; template: string | null; members: number; messaged: number; sent: number; failed: number;
  opened: number; clicked: number; converted: number; unsubscribed: number; revenue: number;
}
export interface CampaignLift {
  recipients: number; holdout: number; difference: number; relative: number | null;
  ci95: [number, number]; p_value: number | null; significant: boolean;
}
export interface CampaignReport {
  campaign: Campaign; variants: CampaignArm[]; recipients: CampaignArm; holdout: CampaignArm; waiting: number; capped: number; planned: number;
  conversion_lift: CampaignLift | null; revenue_lift: CampaignLift | null;
  winner: { variant: string; metric: string; p_value: number | null; significant: boolean } | null;
}
export type ConflictKind = 'same_audience' | 'quiet_hours';
export interface CalendarEntry {
  kind: string; name: string; state: CampaignState | string; channel: Channel | string; date: string; at: string | null;
  local_time: string | null; segment: string; where: string; conflicts: { kind: ConflictKind | string; detail: string }[];
  survey?: string;  // kind "campaign": its survey (a survey wave), or ""
  // kind "journey": a journey's planned send that day
  step?: string; template?: string; customers?: number;
}
export interface CalendarPage { from: string; to: string; data: CalendarEntry[] }
// GET /api/v1/surveys (docs/surveys.md): a survey is addressed by its id in URLs, by its name
// where something refers to it (a campaign's or a journey step's "survey").
export interface Survey { id: number; name: string; title?: Record<string, string> }
export interface DeliveryRules { max_messages: number; window_days: number; quiet_hours: { start: string; end: string }; updated_at: string | null }

// The problems of a 400 by the field they name: {"/holdout_percent": ["must be between 0 and 50"]}.
// Pointers into lists keep their index ("/variants/1/template").
export function fieldErrors(e: unknown): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!(e instanceof ApiError)) return out;
  for (const x of e.errors) {
    if (!x.pointer) continue;
    out.set(x.pointer, [...(out.get(x.pointer) ?? []), x.detail ?? '']);
  }
  return out;
}

// ---- journeys (docs/journeys.md) -----------------------------------------------------------

export interface JourneyTrigger {
  type: 'event' | 'segment_entered' | 'segment_left' | 'date' | 'survey_answer' | string;
  event?: string; where?: string; segment?: string; attribute?: string; offset_days?: number; at?: string; yearly?: boolean;
  survey?: string; min_score?: number; max_score?: number;
}
export type JourneyReentry = string | { mode: string; after_days?: number };
export interface JourneyGoal { event?: string; segment?: string; within_days?: number }
export interface JourneyStep {
  id: string; type: string; next?: string; then?: string; else?: string; timeout_next?: string;
  branches?: { weight?: number; next: string }[];
  days?: number; hours?: number; minutes?: number; time?: string; weekday?: number; event?: string;
  timeout_days?: number; timeout_hours?: number; if?: string; template?: string; category?: string; survey?: string;
  points?: number; reason?: string; reward?: string; endpoint?: string; note?: string; name?: string; value?: string | number | boolean;
}
export interface JourneyDefinition {
  name: string; trigger: JourneyTrigger; reentry?: JourneyReentry; goal?: JourneyGoal; start?: string; steps: JourneyStep[];
}
export interface Journey {
  name: string; state: 'active' | 'paused' | string; version: number; definition: JourneyDefinition | null;
  last_error: string; created_at: string; updated_at: string; new_version?: boolean;
}
export interface JourneyMessages { queued: number; sent: number; failed: number; suppressed: number; opened: number; clicked: number }
export interface JourneyStepReport { id: string; type: string; executed: number; waiting: number; outcomes: Record<string, number>; messages?: JourneyMessages }
export interface JourneyReport {
  journey: Journey; entered: number; inside: number; completed: number; exited: number; conversion_rate: number | null;
  steps: JourneyStepReport[];
}
export interface JourneyRun {
  id: number; customer: string; version: number; step: string | null;
  state: 'active' | 'waiting' | 'waiting_for_event' | 'exited' | 'completed' | string;
  entered_at: string; wake_at: string | null; ended_at: string | null;
}
export interface JourneyPass { entered: number; steps: number; actions: number; messages: number; capped: number; completed: number; exited: number }
