// An email's HTML shown inside the dashboard, inert and within the dashboard's
// Content-Security-Policy.
//
// Why not <iframe sandbox srcdoc>: a srcdoc (or about:blank) frame inherits its parent's CSP, and
// ours is `style-src 'self'; img-src 'self' data:`, so every <style> element and style="…"
// attribute of an email (which is how emails are styled) would be refused inside the frame,
// each refusal logged as a CSP violation; data:/blob: frames are refused by `frame-src`
// (default-src 'self'). Loosening the CSP for the whole dashboard is not worth a preview.
//
// Instead the HTML is parsed with DOMParser (an inert document: nothing runs or loads), and a
// copy is built from an allow-list into a shadow root: no scripts, frames, objects, forms or
// event-handler attributes; styles are applied through the CSSOM (a constructed style sheet
// and element.style), which the CSP does not govern; links keep their target in a tooltip but
// do not navigate (a click would count as the customer's click); remote images are not loaded
// (the open pixel would count as an open, and other hosts are refused by img-src) and show as a
// placeholder. The shadow root keeps the email's CSS and the dashboard's apart.
import { useEffect, useRef, useState } from 'preact/hooks';
import { useApp } from './context';

const DROP = new Set(['script', 'noscript', 'template', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet',
  'link', 'meta', 'base', 'title', 'head', 'svg', 'math', 'portal', 'audio', 'video', 'source', 'track', 'canvas']);
const DROP_ATTRS = /^(on|xmlns|formaction$|action$|srcset$|background$|ping$|poster$|style$|href$|src$|xlink:)/i;
const HTML_NS = 'http://www.w3.org/1999/xhtml';

const BASE_CSS = `
:host { all: initial; display: block; background: #fff; color: #1c2033; font: 15px/1.45 system-ui, sans-serif; overflow: auto; max-width: 100%; }
.email-html { display: block; }
.email-body { display: block; padding: 12px 14px; }
img { max-width: 100%; }
a[data-href] { color: #2a3bb0; text-decoration: underline; cursor: help; }
.blocked-img { display: inline-block; border: 1px dashed #9aa3b5; color: #5a6072; font-size: 12px; padding: 2px 6px; border-radius: 4px; }
`;

// CSS without @import and without remote url(…): only data: URLs load.
function safeCss(css: string): string {
  return css
    .replace(/@import[^;]*;?/gi, '')
    .replace(/url\(\s*(['"]?)(?!data:)[^)]*\)/gi, 'none')
    .replace(/(^|[\s,{}>+~])(html|body)(?![\w-])/gi, '$1.email-$2');
}

interface Built { nodes: Node[]; css: string; blockedImages: number }

// Even an inert document (DOMParser's) applies the page's CSP while parsing, so style
// attributes and <style> elements are renamed before the HTML is parsed: the attributes to
// data-treu-style, the elements to <textarea data-treu-css> (raw text, as CSS is). Only
// inside tags: text that says "style=" stays as it is.
function defuse(html: string): string {
  return html
    .replace(/<style\b[^>]*>/gi, '<textarea data-treu-css>')
    .replace(/<\/style\s*>/gi, '</textarea>')
    .replace(/<[a-zA-Z][^>]*>/g, (tag) => tag.replace(/(\s)style(\s*=)/gi, '$1data-treu-style$2'));
}

export function buildPreview(html: string): Built {
  const src = new DOMParser().parseFromString(defuse(html), 'text/html');
  let css = '';
  let blockedImages = 0;
  const copy = (n: Node): Node | null => {
    if (n.nodeType === Node.TEXT_NODE) return document.createTextNode(n.textContent ?? '');
    if (n.nodeType !== Node.ELEMENT_NODE) return null;
    const e = n as Element;
    const tag = e.localName;
    if (e.namespaceURI !== HTML_NS || DROP.has(tag)) return null;
    if (tag === 'textarea' && e.hasAttribute('data-treu-css')) { css += `${e.textContent ?? ''}\n`; return null; }
    if (tag === 'img') {
      const s = e.getAttribute('src') ?? '';
      if (!/^data:image\//i.test(s)) {
        blockedImages++;
        const w = Number(e.getAttribute('width') ?? '0'), h = Number(e.getAttribute('height') ?? '0');
        const alt = e.getAttribute('alt') ?? '';
        if (!alt && w <= 1 && h <= 1 && (e.hasAttribute('width') || e.hasAttribute('height'))) return null;  // a pixel
        const ph = document.createElement('span');
        ph.className = 'blocked-img';
        ph.textContent = `▨ ${alt}`.trim();
        return ph;
      }
    }
    // Forms and their controls become plain boxes: nothing in a preview submits.
    const out = document.createElement(tag === 'form' ? 'div' : tag === 'body' ? 'div' : tag === 'html' ? 'div' : tag);
    if (tag === 'body') out.className = 'email-body';
    if (tag === 'html') out.className = 'email-html';
    for (const a of Array.from(e.attributes)) {
      if (DROP_ATTRS.test(a.name) || a.name === 'data-treu-style') continue;
      if ((tag === 'body' || tag === 'html') && a.name === 'class') { out.className += ` ${a.value}`; continue; }
      try { out.setAttribute(a.name, a.value); } catch { /* an attribute name the DOM refuses */ }
    }
    if (tag === 'img') out.setAttribute('src', e.getAttribute('src') ?? '');
    if ((tag === 'a' || tag === 'area') && e.hasAttribute('href')) {
      out.setAttribute('data-href', e.getAttribute('href') ?? '');
      out.setAttribute('title', e.getAttribute('href') ?? '');
    }
    if (['input', 'button', 'select', 'textarea'].includes(tag)) out.setAttribute('disabled', '');
    const style = e.getAttribute('data-treu-style');
    if (style) (out as HTMLElement).style.cssText = safeCss(style);
    for (const c of Array.from(e.childNodes)) { const x = copy(c); if (x) out.appendChild(x); }
    return out;
  };
  const root = copy(src.documentElement);
  // Style sheets in the head were dropped with it: collect them too.
  for (const s of Array.from(src.head?.querySelectorAll('textarea[data-treu-css]') ?? [])) css += `${s.textContent ?? ''}\n`;
  return { nodes: root ? [root] : [], css: safeCss(css), blockedImages };
}

export function EmailPreview({ html, label, testid }: { html: string; label: string; testid?: string }) {
  const { fmt } = useApp();
  const host = useRef<HTMLDivElement>(null);
  const [blocked, setBlocked] = useState(0);
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const root = el.shadowRoot ?? el.attachShadow({ mode: 'open' });
    const built = buildPreview(html);
    const sheet = new CSSStyleSheet();
    try { sheet.replaceSync(BASE_CSS + built.css); } catch { sheet.replaceSync(BASE_CSS); }
    root.adoptedStyleSheets = [sheet];
    root.replaceChildren(...built.nodes);
    setBlocked(built.blockedImages);
  }, [html]);
  return (
    <div class="email-preview-wrap">
      <div class="email-preview" ref={host} role="document" tabIndex={0} aria-label={label} data-testid={testid} />
      {blocked > 0 && <p class="muted small">{fmt.t('msg.imagesBlocked', { count: blocked })}</p>}
    </div>
  );
}
