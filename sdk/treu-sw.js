/*
 * treu-sw.js: a sample service worker for treu's web push (docs/sdk.md).
 *
 * Copy it to the root of the shop's own origin (https://shop.example/treu-sw.js): a service
 * worker only controls pages of the origin it is served from. treu.push.subscribe() registers
 * it. treu sends each notification as an encrypted JSON payload {"title", "body", "url"}; the
 * browser decrypts it, this worker shows it, and a click opens `url`.
 *
 * A shop with a service worker of its own can copy the two listeners below into it instead.
 */
'use strict';

// An http(s) URL made absolute against the shop's origin, or '' for anything else.
function treuSafeUrl(url) {
  if (typeof url !== 'string' || url === '') return '';
  try {
    var u = new URL(url, self.location.origin);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : '';
  } catch (e) {
    return '';
  }
}

self.addEventListener('push', function (event) {
  var payload = {};
  try {
    payload = event.data ? event.data.json() : {};
  } catch (e) {
    payload = { body: event.data ? event.data.text() : '' };
  }
  if (payload === null || typeof payload !== 'object') payload = {};
  var title = typeof payload.title === 'string' && payload.title ? payload.title : self.location.hostname;
  event.waitUntil(self.registration.showNotification(title, {
    body: typeof payload.body === 'string' ? payload.body : '',
    data: { url: treuSafeUrl(payload.url) },
  }));
});

self.addEventListener('notificationclick', function (event) {
  event.notification.close();
  var url = event.notification.data && event.notification.data.url;
  if (!url) return;
  event.waitUntil(self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then(function (windows) {
    // A tab already showing the page is brought forward instead of opening another.
    for (var i = 0; i < windows.length; i++) {
      if (windows[i].url === url && 'focus' in windows[i]) return windows[i].focus();
    }
    return self.clients.openWindow(url);
  }));
});

// A new version of this file takes over at once instead of waiting for every tab to close.
self.addEventListener('install', function () { self.skipWaiting(); });
self.addEventListener('activate', function (event) { event.waitUntil(self.clients.claim()); });
