/*! DEFMIS Chat widget loader. Embed with:
 *   <script>window.DEFMISChat = {apiUrl, customerId, customerName, customerEmail};</script>
 *   <script src="https://chat.example.com/static/js/chat-widget.js" async></script>
 * Every field is optional (more, the API on this object and its events: the
 * README's "Embed the widget"). Never lets a failure reach the page. */
(function () {
  'use strict';
  var w = window, d = document;
  if (w.__defmisChatLoader) return;
  w.__defmisChatLoader = 1;
  var cfg = w.DEFMISChat = w.DEFMISChat || {};
  var queue = [], handlers = {}, mod, host, loading, want, att;

  function warn(e) {
    try { console.warn('DEFMIS Chat: widget not loaded:', e); } catch (_) {}
  }

  // The page's facts for the customer panel (each start, each SPA page).
  function emit(ev, data) {
    if (ev === 'context') {
      var z;
      try { z = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (_) {}
      return { page_url: location.href, referrer: d.referrer, time_zone: z,
        utc_offset: -new Date().getTimezoneOffset(), language: cfg.locale || navigator.language };
    }
    // Files (attach, drop, paste; drawing them): a module of its own,
    // fetched when the panel first opens.
    if (ev === 'open' && !att && !cfg.preview) att = import(base + '/static/js/chat-attach.js')
      .then(function (m) { m.mount(host, api, cfg); }).catch(warn);
    (handlers[ev] || []).forEach(function (f) {
      try { f(data); } catch (e) { warn(e); }
    });
  }

  ['open', 'close', 'toggle', 'identify', 'shutdown'].forEach(function (name) {
    cfg[name] = function (arg) {
      if (mod) return mod[name](arg);
      queue.push([name, arg]);
      load();
    };
  });
  cfg.on = function (ev, fn) {
    (handlers[ev] = handlers[ev] || []).push(fn);
  };

  try {
    var me = d.currentScript, src = me && me.src;
    if (!src) {
      var s = d.querySelector('script[src*="/static/js/chat-widget.js"]');
      src = s && s.src;
    }
    var base = (src && new URL(src, location.href).origin) || location.origin;
    var api = String(cfg.apiUrl || '').trim().replace(/\/+$/, '') || base;
    var labels = { es: 'Abrir chat', fr: 'Ouvrir le chat', de: 'Chat öffnen' };
    var lang = String(cfg.locale || navigator.language || '').slice(0, 2).toLowerCase();

    var load = function () {
      if (!host) { want = 1; return; }
      if (loading) return;
      loading = 1;
      import(base + '/static/widget/defmis_widget.js')
        .then(function (m) {
          return m.default({ module_or_path: base + '/static/widget/defmis_widget_bg.wasm' }).then(function () {
            m.start(host, api, cfg, emit);
            mod = m;
            queue.splice(0).forEach(function (c) { m[c[0]](c[1]); });
          });
        })
        .catch(warn);
    };

    var mount = function () {
      if (d.getElementById('defmis-chat-root')) return;
      var h = d.createElement('div');
      h.id = 'defmis-chat-root';
      if (cfg.position) h.setAttribute('data-position', cfg.position);
      if (cfg.primaryColor) h.style.setProperty('--dc-p', cfg.primaryColor);
      var root = h.attachShadow({ mode: 'open' });
      root.innerHTML = '<style>' +
        ':host{all:initial;--dc-p:#2563eb;--dc-t:#fff;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827}' +
        '*{box-sizing:border-box}[hidden]{display:none!important}button{font:inherit;cursor:pointer}' +
        'button:focus-visible{outline:2px solid #111827;outline-offset:2px}' +
        '.dc-launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:56px;height:56px;padding:0;border:0;' +
        'border-radius:50%;background:var(--dc-p);color:var(--dc-t);box-shadow:0 4px 16px rgba(0,0,0,.25);display:flex;' +
        'align-items:center;justify-content:center;margin-bottom:env(safe-area-inset-bottom)}' +
        ':host([data-position=bottom-left]) .dc-launcher{right:auto;left:20px}' +
        'svg{width:26px;height:26px;fill:currentColor}.dc-launcher .x,.dc-launcher.open .c{display:none}.dc-launcher.open .x{display:block}' +
        '.dc-badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 6px;border-radius:10px;' +
        'background:#b91c1c;color:#fff;font-size:12px;font-weight:600;line-height:20px;text-align:center}' +
        '</style><button type=button class=dc-launcher part=launcher aria-expanded=false>' +
        '<svg class=c viewBox="0 0 24 24" aria-hidden=true><path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 1-2z"/></svg>' +
        '<svg class=x viewBox="0 0 24 24" aria-hidden=true><path d="M18.3 5.7 12 12l6.3 6.3-1.4 1.4-6.3-6.3-6.3 6.3-1.4-1.4L9.2 12 2.9 5.7l1.4-1.4 6.3 6.3 6.3-6.3z"/></svg>' +
        '<span class=dc-badge aria-hidden=true hidden></span></button>';
      var b = root.querySelector('button');
      b.setAttribute('aria-label', labels[lang] || 'Open chat');
      if (cfg.hideLauncher) b.hidden = true;
      b.addEventListener('click', function () { if (!mod) cfg.open(); });
      b.addEventListener('pointerenter', load);
      b.addEventListener('focus', load);
      d.body.appendChild(h);
      host = h;
      var back = 0;
      try { back = localStorage.getItem('defmis-chat:' + api) || localStorage.getItem('defmis-chat-outbox:' + api); } catch (_) {}
      // Otherwise out of the page's way: 2 s after its load event, when idle.
      var idle = function () {
        setTimeout(function () { (w.requestIdleCallback || function (f) { f(); })(load, { timeout: 6000 }); }, 2000);
      };
      if (want || back) load();
      else if (d.readyState == 'complete') idle();
      else w.addEventListener('load', idle, { once: true });
    };

    // A single-page site's new address (held 1 s), for a visitor with a
    // conversation; best effort.
    var last = location.href, timer;
    var moved = function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        if (location.href == last) return;
        last = location.href;
        try {
          var c = JSON.parse(localStorage.getItem('defmis-chat:' + api));
          if (c && c.token) fetch(api + '/chat/api/chat/context/', { method: 'POST', keepalive: true,
            headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + c.token },
            body: JSON.stringify({ customer_id: c.customer_id, context: emit('context') }) }).catch(function () {});
        } catch (_) {}
      }, 1000);
    };
    ['pushState', 'replaceState'].forEach(function (k) {
      var f = history[k];
      history[k] = function () { var r = f.apply(this, arguments); moved(); return r; };
    });
    w.addEventListener('popstate', moved);
    w.addEventListener('hashchange', moved);

    if (d.body) mount();
    else d.addEventListener('DOMContentLoaded', mount, { once: true });
  } catch (e) {
    warn(e);
  }
})();
