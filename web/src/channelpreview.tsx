// Previews of the messages of the channels other than email, as the customer will see them: a
// web push notification, the in-app banner or modal of the JavaScript snippet, and the body a
// webhook posts. Everything rendered here is the customer's data: it is only ever text in the
// DOM (JSX text nodes are set as text, never parsed as HTML), and the mock-ups' buttons and
// links are inert pictures of them (a click would count as the customer's click).
import type { InAppLayout, WebhookFormat } from './api';
import { useApp } from './context';

// The host a link leads to ("shop.example"), or '' for no (or no valid) link.
export function linkHost(url: string | undefined): string {
  if (!url) return '';
  try { return new URL(url).host; } catch { return ''; }
}

// A web push notification as desktop browsers show it: the site's icon, the title, the text
// and the site it opens.
export function PushPreview({ title, body, link }: { title: string; body: string; link: string }) {
  const { fmt } = useApp();
  const host = linkHost(link);
  return (
    <figure class="channel-preview" data-testid="push-preview">
      <div class="push-mock">
        <span class="push-icon" aria-hidden="true">{(host || 't').replace(/^www\./, '').charAt(0).toUpperCase()}</span>
        <div class="push-content">
          <div class="push-meta">
            <span data-testid="push-preview-host">{host || fmt.t('preview.yourSite')}</span>
            <span aria-hidden="true"> · </span><span>{fmt.t('preview.now')}</span>
          </div>
          <div class="push-title" data-testid="push-preview-title">{title}</div>
          <div class="push-body" data-testid="push-preview-body">{body}</div>
        </div>
      </div>
      <figcaption class="muted small">
        {fmt.t('preview.pushCaption')}{link ? <> <span class="break-words" data-testid="push-preview-link">{link}</span></> : ` ${fmt.t('preview.noLink')}`}
      </figcaption>
    </figure>
  );
}

// The in-app message as the JavaScript snippet shows it on the customer's page: a banner at the
// top, or a centred modal over the dimmed page, with a button to the link when there is one.
export function InAppPreview({ layout, title, body, link }: { layout: InAppLayout; title: string; body: string; link: string }) {
  const { fmt } = useApp();
  const button = link ? <span class="inapp-button" data-testid="inapp-preview-button" data-href={link} title={link}>{fmt.t('preview.open')}</span> : null;
  const close = <span class="inapp-close" aria-hidden="true">×</span>;
  return (
    <figure class="channel-preview" data-testid="inapp-preview" data-layout={layout}>
      <div class={`inapp-stage inapp-stage-${layout}`}>
        <div class="inapp-page" aria-hidden="true"><i /><i /><i /><i /></div>
        {layout === 'banner' ? (
          <div class="inapp-banner">
            <div class="inapp-text">
              {title && <strong class="inapp-title" data-testid="inapp-preview-title">{title}</strong>}
              <span class="inapp-body" data-testid="inapp-preview-body">{body}</span>
            </div>
            {button}
            {close}
          </div>
        ) : (
          <div class="inapp-backdrop">
            <div class="inapp-modal">
              {close}
              {title && <strong class="inapp-title" data-testid="inapp-preview-title">{title}</strong>}
              <p class="inapp-body" data-testid="inapp-preview-body">{body}</p>
              {button}
            </div>
          </div>
        )}
      </div>
      <figcaption class="muted small">
        {fmt.t(layout === 'banner' ? 'preview.bannerCaption' : 'preview.modalCaption')}
        {link ? <> <span class="break-words">{link}</span></> : ` ${fmt.t('preview.noLink')}`}
      </figcaption>
    </figure>
  );
}

// The JSON a webhook endpoint receives, built as the server builds it (messaging/channels.cpp
// WebhookBody): Slack's {text} and Discord's {content} with the title in bold, or treu's own
// JSON with the customer.
export function webhookBody(format: WebhookFormat | string, m: { title: string; text: string; link: string; topic: string; customerId: string; email: string }): unknown {
  const line = m.link ? `${m.text}${m.text ? '\n' : ''}${m.link}` : m.text;
  if (format === 'slack') return { text: m.title ? `*${m.title}*\n${line}` : line };
  if (format === 'discord') return { content: m.title ? `**${m.title}**\n${line}` : line };
  return {
    type: 'message', id: `…:${m.customerId}`, campaign: '…', topic: m.topic,
    customer: { id: m.customerId, email: m.email }, title: m.title, text: m.text, url: m.link,
  };
}

export function WebhookPreview({ endpoint, format, body }: { endpoint: string; format: string; body: unknown }) {
  const { fmt } = useApp();
  return (
    <figure class="channel-preview" data-testid="webhook-preview" data-format={format}>
      <pre class="code webhook-body" tabIndex={0} data-testid="webhook-preview-body">{JSON.stringify(body, null, 2)}</pre>
      <figcaption class="muted small">{fmt.t('preview.webhookCaption', { endpoint, format })}</figcaption>
    </figure>
  );
}
