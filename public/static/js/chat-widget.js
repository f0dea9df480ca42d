/*! DEFMIS Chat widget loader. Embed with:
 *   <script>window.DEFMISChat = {apiUrl, customerId, customerName, customerEmail};</script>
 *   <script src="https://chat.example.com/static/js/chat-widget.js" async></script>
 * Every field is optional; apiUrl defaults to the origin this script came from.
 * Loads the widget (wasm) once, and never lets a failure reach the host page. */
(function () {
  'use strict';
  var w = window;
  if (w.__defmisChatLoader) return;
  w.__defmisChatLoader = 1;

  function warn(e) {
    try { console.warn('DEFMIS Chat: widget not loaded:', e); } catch (_) {}
  }

  function str(v) {
    return v == null ? '' : String(v);
  }

  function origin(src) {
    try { return new URL(src, location.href).origin; } catch (_) { return ''; }
  }

  try {
    var me = document.currentScript;
    var src = me && me.src;
    if (!src) {
      var s = document.querySelector('script[src*="/static/js/chat-widget.js"]');
      src = s && s.src;
    }
    var base = (src && origin(src)) || location.origin;
    var cfg = w.DEFMISChat || {};
    var api = str(cfg.apiUrl).trim().replace(/\/+$/, '') || base;

    var run = function () {
      import(base + '/static/widget/defmis_widget.js')
        .then(function (mod) {
          return mod.default({ module_or_path: base + '/static/widget/defmis_widget_bg.wasm' }).then(function () {
            mod.start(api, str(cfg.customerId), str(cfg.customerName), str(cfg.customerEmail));
          });
        })
        .catch(warn);
    };

    if (document.readyState === 'loading') {
      document.addEventListener('DOMContentLoaded', run, { once: true });
    } else {
      run();
    }
  } catch (e) {
    warn(e);
  }
})();
