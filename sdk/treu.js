/*
 * treu.js: treu's browser SDK for a shop's own pages (docs/sdk.md).
 *
 *   - Segment-spec tracking: treu.identify / treu.track / treu.page post to treu's /v1/ routes
 *     with the workspace's public tracking key.
 *   - Web push: treu.push.subscribe() registers the shop's service worker and hands the
 *     browser's push subscription to treu.
 *   - In-app messages: banners and modals for the signed-in user, drawn in a shadow root.
 *
 * No build step and no dependencies. Calls made before this file has loaded are queued by the
 * stub snippet (window.treu = [...]) and replayed here. Nothing in here throws into the shop's
 * page: failures resolve to null/false and are logged when treu.debug is true.
 */
(function (window, document) {
  'use strict';

  var VERSION = '1.0.0';
  var existing = window.treu;
  if (existing && existing.loaded) return;  // the script was included twice
  var queued = Array.isArray(existing) ? existing.slice() : [];

  var config = null;        // from load(): { host, writeKey, autoInapp }
  var beforeLoad = [];      // calls made before load(), run once it has been called
  var verified = null;      // { id, hash } for the identity-verified routes (push, in-app)
  var memoryIds = {};       // the ids, when localStorage is not available
  var shownThisPage = {};   // in-app message ids displayed since this page loaded
  var readyCallbacks = [];

  var treu = {
    loaded: true,
    version: VERSION,
    debug: !!(existing && existing.debug === true),
  };

  // ---- small helpers --------------------------------------------------------------------

  function log() {
    if (!treu.debug || !window.console) return;
    try {
      console.log.apply(console, ['[treu]'].concat([].slice.call(arguments)));
    } catch (e) { /* a console that can't log */ }
  }

  // Runs fn; any exception is logged, never thrown to the caller (the shop's code).
  function guard(name, fn) {
    return function () {
      try {
        return fn.apply(null, arguments);
      } catch (e) {
        log(name + ' failed:', e);
        return undefined;
      }
    };
  }

  function isObject(v) {
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  }

  // stored(name): the id kept as `name`, or null; stored(name, value): keeps it (null: drops
  // it). In localStorage, or for this page only when storage is blocked (privacy settings).
  function stored(name, value) {
    var key = 'treu.' + name;
    if (value === undefined) {
      try {
        var kept = window.localStorage.getItem(key);
        if (kept) return kept;
      } catch (e) { /* blocked */ }
      return memoryIds[name] || null;
    }
    memoryIds[name] = value;
    try {
      if (value === null) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, value);
    } catch (e) { /* blocked */ }
    return value;
  }

  function uuid() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') return window.crypto.randomUUID();
    // randomUUID needs a secure context; elsewhere: random bytes as a version 4 UUID.
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join('');
    return hex.slice(0, 8) + '-' + hex.slice(8, 12) + '-' + hex.slice(12, 16) + '-' + hex.slice(16, 20) + '-' + hex.slice(20);
  }

  function anonymousId() {
    return stored('anonymousId') || stored('anonymousId', uuid());
  }

  // An http(s) URL made absolute, or '' for anything else (javascript:, data:, garbage).
  function safeUrl(url) {
    if (typeof url !== 'string' || url === '') return '';
    try {
      var u = new URL(url, window.location.href);
      return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : '';
    } catch (e) {
      return '';
    }
  }

  // ---- talking to treu ------------------------------------------------------------------

  // Calls treu: resolves to { status, body } (body: the parsed JSON or null), or null when
  // the request failed. Never rejects. Cookies are never sent (credentials: 'omit').
  function request(method, path, body, verifiedOnly) {
    if (!config) return Promise.resolve(null);
    var headers = { Authorization: 'Basic ' + window.btoa(config.writeKey + ':') };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (verifiedOnly) {
      if (!verified) {
        log(method + ' ' + path + ' needs treu.setUser(id, hash) first');
        return Promise.resolve(null);
      }
      headers['Treu-User-Id'] = verified.id;
      headers['Treu-User-Hash'] = verified.hash;
    }
    var init = { method: method, headers: headers, mode: 'cors', credentials: 'omit' };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      // Tracking calls made while the page unloads still arrive (small bodies only).
      init.keepalive = init.body.length < 60000;
    }
    return window.fetch(config.host + path, init).then(function (response) {
      return response.text().then(function (text) {
        var parsed = null;
        try { parsed = text ? JSON.parse(text) : null; } catch (e) { /* not JSON */ }
        if (!response.ok) log(method + ' ' + path + ' answered ' + response.status, parsed || text);
        return { status: response.status, body: parsed };
      });
    }).catch(function (e) {
      log(method + ' ' + path + ' failed:', e);
      return null;
    });
  }

  function context() {
    var loc = window.location;
    var ctx = {
      library: { name: 'treu.js', version: VERSION },
      page: {
        path: loc.pathname,
        referrer: document.referrer,
        search: loc.search,
        title: document.title,
        url: loc.href,
      },
      userAgent: window.navigator.userAgent,
      locale: window.navigator.language,
    };
    try {
      var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (zone) ctx.timezone = zone;
    } catch (e) { /* no Intl */ }
    return ctx;
  }

  // One Segment-spec call of `type` (identify, track, page) with the common fields.
  function send(type, fields) {
    var message = {
      type: type,
      messageId: uuid(),
      timestamp: new Date().toISOString(),
      anonymousId: anonymousId(),
      context: context(),
    };
    var userId = stored('userId');
    if (userId) message.userId = userId;
    for (var k in fields) {
      if (Object.prototype.hasOwnProperty.call(fields, k)) message[k] = fields[k];
    }
    log(type, message);
    return request('POST', '/v1/' + type, message).then(function (r) {
      return r && r.status >= 200 && r.status < 300 ? r.body : null;
    });
  }

  // Runs `fn` now when load() has been called, else after it.
  function whenLoaded(fn) {
    return function () {
      var args = arguments;
      if (config) return fn.apply(null, args);
      return new Promise(function (resolve) {
        beforeLoad.push(function () { resolve(fn.apply(null, args)); });
      });
    };
  }

  // ---- the public API -------------------------------------------------------------------

  // load({ host, writeKey, user: { id, hash }, inapp: false }): where treu is and which key
  // to use; host defaults to where this script came from. Runs the calls made before.
  treu.load = guard('load', function (options) {
    options = options || {};
    if (config) {
      log('load() was called before; ignored');
      return;
    }
    var host = options.host || scriptOrigin;
    if (!host || !options.writeKey) {
      log('load() needs a host and a writeKey');
      return;
    }
    config = {
      host: String(host).replace(/\/+$/, ''),
      writeKey: String(options.writeKey),
      autoInapp: options.inapp !== false,
    };
    if (options.user && options.user.id && options.user.hash) {
      verified = { id: String(options.user.id), hash: String(options.user.hash) };
      stored('userId', verified.id);
    }
    var waiting = beforeLoad;
    beforeLoad = [];
    waiting.forEach(function (run) { run(); });
    if (verified && config.autoInapp) treu.inapp.show();
    return treu;
  });

  // identify(userId, traits) or identify(traits): who the visitor is. The userId is kept for
  // every later call (in localStorage) until treu.reset().
  treu.identify = guard('identify', whenLoaded(function (userId, traits) {
    if (isObject(userId)) {
      traits = userId;
      userId = null;
    }
    if (userId !== null && userId !== undefined && userId !== '') stored('userId', String(userId));
    return send('identify', { traits: isObject(traits) ? traits : {} });
  }));

  // track(event, properties): something the visitor did.
  treu.track = guard('track', whenLoaded(function (event, properties) {
    if (typeof event !== 'string' || event === '') {
      log('track() needs an event name');
      return Promise.resolve(null);
    }
    return send('track', { event: event, properties: isObject(properties) ? properties : {} });
  }));

  // page(name, properties), page(properties) or page(): a page view, with the page's url,
  // path, title, referrer and search as properties (as Segment's analytics.js sends them).
  treu.page = guard('page', whenLoaded(function (name, properties) {
    if (isObject(name)) {
      properties = name;
      name = undefined;
    }
    var p = context().page;
    var props = { path: p.path, referrer: p.referrer, search: p.search, title: p.title, url: p.url };
    if (isObject(properties)) {
      for (var k in properties) {
        if (Object.prototype.hasOwnProperty.call(properties, k)) props[k] = properties[k];
      }
    }
    var fields = { properties: props };
    if (typeof name === 'string' && name !== '') fields.name = name;
    return send('page', fields);
  }));

  // setUser(id, hash): the signed-in user and the HMAC-SHA256 of the id that the shop's
  // backend computed with the workspace's identity secret (docs/sdk.md). Needed for push and
  // in-app messages; shows the user's in-app messages unless load({ inapp: false }).
  treu.setUser = guard('setUser', whenLoaded(function (id, hash) {
    if (!id || !hash) {
      log('setUser() needs an id and its hash');
      return;
    }
    verified = { id: String(id), hash: String(hash).toLowerCase() };
    stored('userId', verified.id);
    if (config.autoInapp) treu.inapp.show();
  }));

  // reset(): forget the user (call it when they sign out); a new anonymous id is made.
  treu.reset = guard('reset', function () {
    verified = null;
    stored('userId', null);
    stored('anonymousId', null);
  });

  // ready(fn): calls fn(treu) once treu.js has loaded (at once when it has).
  treu.ready = guard('ready', function (fn) {
    if (typeof fn !== 'function') return;
    if (readyCallbacks === null) guard('ready callback', fn)(treu);
    else readyCallbacks.push(fn);
  });

  // The ids treu uses now (for debugging and for server-side calls that should match).
  treu.user = function () {
    return { anonymousId: anonymousId(), userId: stored('userId'), verified: verified !== null };
  };

  // ---- web push -------------------------------------------------------------------------

  function base64UrlBytes(text) {
    var b64 = String(text).replace(/-/g, '+').replace(/_/g, '/');
    while (b64.length % 4) b64 += '=';
    var raw = window.atob(b64);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function sameBytes(buffer, bytes) {
    if (!buffer) return false;
    var a = new Uint8Array(buffer);
    if (a.length !== bytes.length) return false;
    for (var i = 0; i < a.length; i++) {
      if (a[i] !== bytes[i]) return false;
    }
    return true;
  }

  // Resolves once the registration has an active worker (push subscriptions need one).
  function activeWorker(registration) {
    if (registration.active) return Promise.resolve(registration);
    var worker = registration.installing || registration.waiting;
    if (!worker) return Promise.resolve(registration);
    return new Promise(function (resolve, reject) {
      worker.addEventListener('statechange', function () {
        if (worker.state === 'activated') resolve(registration);
        if (worker.state === 'redundant') reject(new Error('the service worker failed to install'));
      });
    });
  }

  var push = {};
  treu.push = push;

  // True when this browser can receive web push (it needs a secure context: https or localhost).
  push.supported = function () {
    return !!(window.isSecureContext && 'serviceWorker' in window.navigator && 'PushManager' in window &&
      'Notification' in window);
  };

  // subscribe({ serviceWorker: '/treu-sw.js' }): asks for permission, registers the shop's
  // service worker, subscribes with treu's VAPID key and hands the subscription to treu.
  // Resolves to treu's answer ({ id }) or null (unsupported, refused, not set up).
  push.subscribe = guard('push.subscribe', whenLoaded(function (options) {
    options = options || {};
    if (!push.supported()) {
      log('web push is not supported here');
      return Promise.resolve(null);
    }
    if (!verified) {
      log('push.subscribe() needs treu.setUser(id, hash) first');
      return Promise.resolve(null);
    }
    var registration;
    return window.navigator.serviceWorker.register(options.serviceWorker || '/treu-sw.js')
      .then(activeWorker)
      .then(function (r) {
        registration = r;
        return request('GET', '/v1/push/key', undefined, true);
      })
      .then(function (r) {
        if (!r || r.status !== 200 || !r.body || !r.body.vapid_public_key) {
          throw new Error('treu has no push key (is push set up?)');
        }
        var key = base64UrlBytes(r.body.vapid_public_key);
        return registration.pushManager.getSubscription().then(function (existing) {
          // This browser's subscription is sent again when it was made with treu's key; one
          // made with another key must go before a new one can be made.
          if (existing && sameBytes(existing.options && existing.options.applicationServerKey, key)) return existing;
          return (existing ? existing.unsubscribe() : Promise.resolve()).then(function () {
            return registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
          });
        });
      })
      .then(function (subscription) {
        return request('POST', '/v1/push/subscribe', { subscription: subscription.toJSON() }, true);
      })
      .then(function (r) {
        return r && r.status >= 200 && r.status < 300 ? r.body : null;
      })
      .catch(function (e) {
        log('push.subscribe() failed:', e);
        return null;
      });
  }));

  // unsubscribe({ serviceWorker }): ends this browser's subscription, at treu and in the
  // browser. Resolves to true when there was one and it has gone.
  push.unsubscribe = guard('push.unsubscribe', whenLoaded(function (options) {
    options = options || {};
    if (!push.supported()) return Promise.resolve(false);
    var script = new URL(options.serviceWorker || '/treu-sw.js', window.location.href).href;
    return window.navigator.serviceWorker.getRegistrations().then(function (all) {
      var registration = all.filter(function (r) {
        var w = r.active || r.waiting || r.installing;
        return w && w.scriptURL === script;
      })[0];
      return registration ? registration.pushManager.getSubscription() : null;
    }).then(function (subscription) {
      if (!subscription) return false;
      return request('POST', '/v1/push/unsubscribe', { endpoint: subscription.endpoint }, true)
        .then(function () { return subscription.unsubscribe(); });
    }).catch(function (e) {
      log('push.unsubscribe() failed:', e);
      return false;
    });
  }));

  // ---- in-app messages ------------------------------------------------------------------

  var inapp = {};
  treu.inapp = inapp;

  var STYLE = [
    ':host { all: initial; }',
    '.banner, .backdrop { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1f; }',
    '.banner { position: fixed; top: 0; left: 0; right: 0; z-index: 2147483646; display: flex; gap: 12px;',
    '  align-items: center; padding: 12px 16px; background: #fff; border-bottom: 1px solid #c9c9d1;',
    '  box-shadow: 0 2px 8px rgba(0,0,0,.15); box-sizing: border-box; }',
    '.banner .text { flex: 1; min-width: 0; overflow-wrap: anywhere; }',
    '.banner .title { font-weight: 600; margin-right: 6px; }',
    '.backdrop { position: fixed; inset: 0; z-index: 2147483647; display: flex; align-items: center;',
    '  justify-content: center; padding: 16px; background: rgba(20,20,28,.55); box-sizing: border-box; }',
    '.dialog { background: #fff; border-radius: 10px; max-width: 440px; width: 100%; padding: 24px;',
    '  box-sizing: border-box; box-shadow: 0 10px 30px rgba(0,0,0,.3); overflow-wrap: anywhere; }',
    '.dialog h2 { margin: 0 0 8px; font-size: 20px; line-height: 1.3; }',
    '.dialog p { margin: 0 0 20px; white-space: pre-line; }',
    '.actions { display: flex; gap: 8px; justify-content: flex-end; flex-wrap: wrap; }',
    'a.primary, button { font: inherit; border-radius: 6px; padding: 8px 14px; cursor: pointer;',
    '  text-decoration: none; border: 1px solid #1d4ed8; display: inline-block; }',
    'a.primary { background: #1d4ed8; color: #fff; }',
    'button { background: #fff; color: #1d4ed8; }',
    'button.close { border-color: #6b6b76; color: #1b1b1f; padding: 4px 10px; }',
    'a:focus-visible, button:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }',
  ].join('\n');

  // Labels in the page's language (English unless it is German).
  function labels() {
    var de = /^de\b/i.test(document.documentElement.lang || window.navigator.language || '');
    return de
      ? { open: 'Ansehen', close: 'Schließen', dismiss: 'Hinweis schließen', message: 'Nachricht' }
      : { open: 'View', close: 'Close', dismiss: 'Dismiss message', message: 'Message' };
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) {
      if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]);
    }
    if (text !== undefined) e.textContent = text;  // never innerHTML: messages hold customer data
    return e;
  }

  // A host element with its own shadow root and stylesheet: the shop's CSS doesn't reach in,
  // ours doesn't leak out. Constructed stylesheets need no 'unsafe-inline' in the shop's CSP.
  function shadowHost(kind) {
    var host = document.createElement('treu-' + kind);
    var root = host.attachShadow({ mode: 'open' });
    if ('adoptedStyleSheets' in root && typeof CSSStyleSheet === 'function') {
      try {
        var sheet = new CSSStyleSheet();
        sheet.replaceSync(STYLE);
        root.adoptedStyleSheets = [sheet];
      } catch (e) {
        root.appendChild(el('style', {}, STYLE));
      }
    } else {
      root.appendChild(el('style', {}, STYLE));
    }
    (document.body || document.documentElement).appendChild(host);
    return { host: host, root: root };
  }

  function report(message, type) {
    return request('POST', '/v1/inapp/' + encodeURIComponent(message.id) + '/events', { type: type }, true);
  }

  // The link of a message: reports the click, then follows it (a click with a modifier key
  // opens a new tab as usual and only reports).
  function messageLink(message, url, done) {
    var a = el('a', { href: url, class: 'primary' }, labels().open);
    a.addEventListener('click', function (event) {
      if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) {
        report(message, 'clicked');
        return;
      }
      event.preventDefault();
      done();
      var go = function () { window.location.assign(url); };
      var timer = setTimeout(go, 1500);  // don't let a slow treu hold the customer up
      report(message, 'clicked').then(function () { clearTimeout(timer); go(); });
    });
    return a;
  }

  function showBanner(message, closed) {
    var l = labels();
    var ui = shadowHost('banner');
    var region = el('div', { class: 'banner', role: 'region', 'aria-label': message.title || l.message });
    var text = el('div', { class: 'text' });
    if (message.title) text.appendChild(el('span', { class: 'title' }, message.title));
    if (message.body) text.appendChild(el('span', { class: 'body' }, message.body));
    region.appendChild(text);
    var remove = function () {
      if (ui.host.parentNode) ui.host.parentNode.removeChild(ui.host);
      closed();
    };
    var url = safeUrl(message.url);
    if (url) region.appendChild(messageLink(message, url, remove));
    var dismiss = el('button', { type: 'button', class: 'close', 'aria-label': l.dismiss }, '\u00d7');
    dismiss.addEventListener('click', function () {
      remove();
      report(message, 'dismissed');
    });
    region.appendChild(dismiss);
    ui.root.appendChild(region);
  }

  function showModal(message, closed) {
    var l = labels();
    var ui = shadowHost('modal');
    var previousFocus = document.activeElement;
    var backdrop = el('div', { class: 'backdrop' });
    var dialog = el('div', { class: 'dialog', role: 'dialog', 'aria-modal': 'true', tabindex: '-1' });
    if (message.title) {
      dialog.appendChild(el('h2', { id: 'treu-title' }, message.title));
      dialog.setAttribute('aria-labelledby', 'treu-title');
    } else {
      dialog.setAttribute('aria-label', l.message);
    }
    if (message.body) {
      dialog.appendChild(el('p', { id: 'treu-body' }, message.body));
      dialog.setAttribute('aria-describedby', 'treu-body');
    }
    var actions = el('div', { class: 'actions' });
    var finished = false;
    var remove = function () {
      if (finished) return;
      finished = true;
      document.removeEventListener('keydown', onKey, true);
      if (ui.host.parentNode) ui.host.parentNode.removeChild(ui.host);
      if (previousFocus && typeof previousFocus.focus === 'function') {
        try { previousFocus.focus(); } catch (e) { /* gone */ }
      }
      closed();
    };
    var dismiss = function () {
      if (finished) return;
      remove();
      report(message, 'dismissed');
    };
    var close = el('button', { type: 'button', class: 'close' }, l.close);
    close.addEventListener('click', dismiss);
    actions.appendChild(close);
    var url = safeUrl(message.url);
    if (url) actions.appendChild(messageLink(message, url, remove));
    dialog.appendChild(actions);
    backdrop.appendChild(dialog);
    backdrop.addEventListener('click', function (event) {
      if (event.target === backdrop) dismiss();
    });

    // Focus stays inside the dialog (Tab and Shift+Tab cycle); Escape closes it.
    function onKey(event) {
      if (event.key === 'Escape') {
        event.stopPropagation();
        dismiss();
        return;
      }
      if (event.key !== 'Tab') return;
      var focusable = dialog.querySelectorAll('a[href], button');
      var first = focusable[0];
      var last = focusable[focusable.length - 1];
      var active = ui.root.activeElement;
      if (event.shiftKey && (active === first || !dialog.contains(active))) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && (active === last || !dialog.contains(active))) {
        event.preventDefault();
        first.focus();
      }
    }
    document.addEventListener('keydown', onKey, true);
    ui.root.appendChild(backdrop);
    (url ? actions.lastChild : close).focus();
  }

  // One display slot per layout: a second banner (or modal) waits until the first is closed.
  var slots = { banner: { busy: false, waiting: [] }, modal: { busy: false, waiting: [] } };

  function display(message) {
    var layout = message.layout === 'modal' ? 'modal' : 'banner';
    var slot = slots[layout];
    if (slot.busy) {
      slot.waiting.push(message);
      return;
    }
    slot.busy = true;
    var next = function () {
      slot.busy = false;
      if (slot.waiting.length) display(slot.waiting.shift());
    };
    try {
      (layout === 'modal' ? showModal : showBanner)(message, next);
      report(message, 'shown');
    } catch (e) {
      log('showing message ' + message.id + ' failed:', e);
      next();
    }
  }

  // fetch(): the signed-in user's in-app messages waiting to be shown, or [] (no user set,
  // a wrong hash, treu unreachable).
  inapp.fetch = guard('inapp.fetch', whenLoaded(function () {
    return request('GET', '/v1/inapp', undefined, true).then(function (r) {
      return r && r.status === 200 && r.body && Array.isArray(r.body.data) ? r.body.data : [];
    });
  }));

  // show(): fetches the messages and displays those not shown on this page yet; resolves to
  // the number displayed.
  inapp.show = guard('inapp.show', whenLoaded(function () {
    return inapp.fetch().then(function (messages) {
      var count = 0;
      (messages || []).forEach(function (m) {
        if (!m || m.id === undefined || shownThisPage[m.id]) return;
        shownThisPage[m.id] = true;
        count++;
        var run = function () { display(m); };
        if (document.body) run();
        else document.addEventListener('DOMContentLoaded', run);
      });
      return count;
    }).catch(function (e) {
      log('inapp.show() failed:', e);
      return 0;
    });
  }));

  // ---- start: take over from the stub and replay its calls ------------------------------

  var scriptOrigin = '';
  try {
    if (document.currentScript && document.currentScript.src) scriptOrigin = new URL(document.currentScript.src).origin;
  } catch (e) { /* no currentScript */ }

  window.treu = treu;
  queued.forEach(function (call) {
    if (!Array.isArray(call) || typeof call[0] !== 'string') return;
    var method = call[0].split('.').reduce(function (o, name) { return o && o[name]; }, treu);
    if (typeof method === 'function') method.apply(null, call.slice(1));
    else log('unknown queued call ' + call[0]);
  });
  var callbacks = readyCallbacks;
  readyCallbacks = null;
  callbacks.forEach(function (fn) { guard('ready callback', fn)(treu); });
})(window, document);
