/*! DEFMIS Chat widget: attachments. chat-widget.js imports this module when
 * the panel first opens, so it is not part of the widget's first download.
 * It draws the file of every `.dc-msg[data-att]` bubble (the widget puts the
 * message's `attachment` there) and, when the site's config allows files,
 * adds the attach button, drag and drop and paste, and uploads with
 * progress, cancel and retry (same client_id). The conversation's
 * credentials are the widget's own, from localStorage. Names and other
 * untrusted text reach the DOM only as text. */
var T = {
  en: ['Attach a file', 'Drop the file to send it', 'Cancel', 'Retry', 'The file is too large (at most {n}).',
    'This type of file cannot be sent.', 'Not sent.', 'Download', 'Files cannot be sent here.', 'Sending'],
  es: ['Adjuntar un archivo', 'Suelta el archivo para enviarlo', 'Cancelar', 'Reintentar',
    'El archivo es demasiado grande (máximo {n}).', 'Este tipo de archivo no se puede enviar.', 'No enviado.',
    'Descargar', 'Aquí no se pueden enviar archivos.', 'Enviando'],
  fr: ['Joindre un fichier', 'Déposez le fichier pour l’envoyer', 'Annuler', 'Réessayer',
    'Le fichier est trop volumineux (au plus {n}).', 'Ce type de fichier ne peut pas être envoyé.', 'Non envoyé.',
    'Télécharger', 'Les fichiers ne peuvent pas être envoyés ici.', 'Envoi'],
  de: ['Datei anhängen', 'Datei hier ablegen, um sie zu senden', 'Abbrechen', 'Erneut versuchen',
    'Die Datei ist zu groß (höchstens {n}).', 'Diese Dateiart kann nicht gesendet werden.', 'Nicht gesendet.',
    'Herunterladen', 'Hier können keine Dateien gesendet werden.', 'Wird gesendet']
};
// Extensions and browser types of each kind the server knows; a file
// whose kind is known and not allowed is refused before it is sent,
// anything else is left to the server (which decides from the bytes).
var KINDS = {
  png: 'png', jpg: 'jpeg', jpeg: 'jpeg', gif: 'gif', webp: 'webp', pdf: 'pdf', txt: 'txt', csv: 'csv',
  docx: 'docx', xlsx: 'xlsx', zip: 'zip', svg: 0, svgz: 0, html: 0, htm: 0, xhtml: 0, xml: 0, js: 0, mjs: 0
};
var MAX_FILES = 5, TRIES = 4, STALL_MS = 30000, CREDS_MS = 20000;

function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

export function size(n) {
  return n >= 1048576 ? (Math.round(n / 104857.6) / 10) + ' MB' : n >= 1024 ? Math.round(n / 1024) + ' KB' : n + ' B';
}

export function kind(file) {
  var m = /\.([a-z0-9]+)$/i.exec(file.name || ''), t = String(file.type || '');
  if (/svg|html|xml|javascript/i.test(t)) return 0;
  return m && KINDS.hasOwnProperty(m[1].toLowerCase()) ? KINDS[m[1].toLowerCase()] : undefined;
}

export function mount(host, api, opts) {
  var root = host.shadowRoot, panel = root.querySelector('.dc-panel');
  var list = root.querySelector('.dc-messages'), input = root.querySelector('.dc-input');
  var compose = root.querySelector('.dc-compose');
  var lang = String((opts && opts.locale) || navigator.language || '').slice(0, 2).toLowerCase();
  var t = T[lang] || T.en;
  var cfg, types;
  var abs = function (u) { return /^https?:/.test(u) ? u : api + u; };

  var style = el('style');
  style.textContent =
    '.dc-text:empty{display:none}.dc-file{display:block;color:inherit;text-decoration:none!important}' +
    '.dc-thumb{display:block;max-width:100%;height:auto;border-radius:8px;background:var(--dc-line)}' +
    '.dc-card{display:flex;gap:8px;align-items:center;min-width:160px}' +
    '.dc-card b{flex:none;padding:6px 4px;border-radius:6px;background:var(--dc-soft);color:var(--dc-fg);font-size:10px;text-transform:uppercase}' +
    '.dc-fname{overflow-wrap:anywhere;font-weight:600}.dc-fsize{font-size:12px;opacity:.8}' +
    '.dc-msg progress{display:block;width:100%;height:6px;margin-top:6px}' +
    '.dc-cancel{margin-top:4px;padding:0 6px;border:1px solid currentColor;border-radius:6px;background:none;color:inherit;font-size:12px}' +
    '.dc-attach{flex:none;width:38px;height:38px;padding:0;border:1px solid var(--dc-line);border-radius:8px;background:var(--dc-bg);color:var(--dc-fg)}' +
    '.dc-attach svg{width:20px;height:20px;vertical-align:middle;fill:currentColor}' +
    '.dc-dropzone{position:absolute;inset:0;display:flex;align-items:center;justify-content:center;padding:24px;' +
    'background:rgba(255,255,255,.92);color:#111827;border:3px dashed var(--dc-p);border-radius:inherit;font-size:16px;' +
    'font-weight:600;text-align:center;pointer-events:none;z-index:1}';
  root.appendChild(style);

  // The file of a stored message: a thumbnail that opens the full image,
  // or a card with the name, size and a download link.
  function draw(m) {
    if (m.nodeType != 1 || !m.hasAttribute('data-att') || m.querySelector('.dc-file')) return;
    var a;
    try { a = JSON.parse(m.getAttribute('data-att')); } catch (_) { return; }
    if (!a || typeof a.url != 'string') return;
    var link = el('a', 'dc-file');
    link.href = abs(a.url);
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
    link.title = a.name + ' (' + size(a.size) + ')';
    if (a.thumbnail_url) {
      var img = el('img', 'dc-thumb');
      img.alt = a.name;
      img.loading = 'lazy';
      if (a.width > 0 && a.height > 0) {
        var k = Math.min(1, 220 / a.width, 220 / a.height);
        img.width = Math.max(1, Math.round(a.width * k));
        img.height = Math.max(1, Math.round(a.height * k));
      }
      img.src = abs(a.thumbnail_url);
      link.appendChild(img);
    } else {
      link.className += ' dc-card';
      link.setAttribute('download', a.name);
      link.setAttribute('aria-label', t[7] + ': ' + a.name);
      link.appendChild(el('b', '', (/\.([a-z0-9]{1,5})$/i.exec(a.name) || [0, 'file'])[1]));
      var info = el('span');
      info.appendChild(el('div', 'dc-fname', a.name));
      info.appendChild(el('div', 'dc-fsize', size(a.size)));
      link.appendChild(info);
    }
    var text = m.querySelector('.dc-text');
    m.insertBefore(link, text);
  }
  Array.prototype.forEach.call(list.querySelectorAll('[data-att]'), draw);
  new MutationObserver(function (records) {
    records.forEach(function (r) { Array.prototype.forEach.call(r.addedNodes, draw); });
  }).observe(list, { childList: true });

  fetch(api + '/chat/api/widget/config/').then(function (r) { return r.json(); }).then(function (c) {
    cfg = c.attachments;
    if (cfg && cfg.enabled) enable();
  }).catch(function () {});

  // The widget's stored credentials for this conversation (it writes them
  // once the panel opened), or undefined while it is still starting.
  function creds() {
    try { return JSON.parse(localStorage.getItem('defmis-chat:' + api)) || undefined; } catch (_) {}
  }

  function enable() {
    types = cfg.types || [];

    // An upload in flight: a bubble like the widget's own pending ones
    // (`.dc-msg.pending[data-client-id]`), which the widget removes when the
    // stored message is shown.
    function send(file) {
      var k = kind(file), why;
      if (k === 0 || (k && types.indexOf(k) < 0)) why = t[5];
      else if (cfg.max_bytes && file.size > cfg.max_bytes) why = t[4].replace('{n}', size(cfg.max_bytes));
      var job = { file: file, id: crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random(), n: 0, t0: Date.now() };
      var b = job.el = el('div', 'dc-msg pending');
      b.setAttribute('data-sender', 'customer');
      b.setAttribute('data-client-id', job.id);
      b.setAttribute('data-upload', '');
      var card = el('div', 'dc-file dc-card');
      card.appendChild(el('b', '', (/\.([a-z0-9]{1,5})$/i.exec(file.name) || [0, 'file'])[1]));
      var info = el('span');
      info.appendChild(el('div', 'dc-fname', file.name || 'file'));
      info.appendChild(el('div', 'dc-fsize', size(file.size)));
      card.appendChild(info);
      b.appendChild(card);
      list.appendChild(b);
      list.scrollTop = list.scrollHeight;
      if (why) return failed(job, why, false);
      job.bar = el('progress');
      job.bar.max = 1;
      job.bar.value = 0;
      job.bar.setAttribute('aria-label', t[9] + ' ' + (file.name || ''));
      var cancel = el('button', 'dc-cancel', t[2]);
      cancel.type = 'button';
      cancel.onclick = function () {
        job.gone = 1;
        if (job.x) job.x.abort();
        clearTimeout(job.timer);
        b.remove();
      };
      b.appendChild(job.bar);
      b.appendChild(cancel);
      state(job, 'sending');
      upload(job);
    }

    function state(job, s) {
      job.el.setAttribute('data-state', s);
      job.el.classList.toggle('pending', s == 'sending');
      job.el.classList.toggle('failed', s == 'failed');
    }

    function failed(job, why, retry) {
      if (job.gone) return;
      state(job, 'failed');
      Array.prototype.forEach.call(job.el.querySelectorAll('progress,.dc-cancel,.dc-err'), function (e) { e.remove(); });
      var err = el('div', 'dc-err', why);
      if (retry) {
        var r = el('button', 'dc-retry dc-up-retry', t[3]);
        r.type = 'button';
        r.onclick = function (e) {
          e.stopPropagation();
          err.remove();
          job.n = 0;
          job.t0 = Date.now();
          job.el.appendChild(job.bar);
          state(job, 'sending');
          upload(job);
        };
        err.appendChild(r);
      }
      job.el.appendChild(err);
    }

    // A transient failure keeps the file and sends it again, same client_id,
    // after 1, 2, 4 s (at least the server's retry_after_ms); then it shows
    // failed with a retry button.
    function later(job, ms) {
      if (job.gone) return;
      if (++job.n >= TRIES) return failed(job, t[6], true);
      job.timer = setTimeout(upload, Math.max(ms || 0, 1000 << (job.n - 1)), job);
    }

    function upload(job) {
      if (job.gone) return;
      var c = creds();
      if (!c || !c.token) {
        // The conversation is still starting (the panel just opened).
        if (Date.now() - job.t0 > CREDS_MS) return failed(job, t[6], true);
        job.timer = setTimeout(upload, 250, job);
        return;
      }
      var x = job.x = new XMLHttpRequest(), seen = Date.now(), over;
      var f = new FormData();
      f.append('customer_id', c.customer_id);
      f.append('client_id', job.id);
      f.append('file', job.file, job.file.name || 'file');
      // A socket or upload can look alive while nothing moves: no progress
      // for 30 s aborts this try and sends again.
      var watch = setInterval(function () {
        if (Date.now() - seen > STALL_MS) { over = 1; x.abort(); }
      }, 5000);
      x.upload.onprogress = function (e) {
        seen = Date.now();
        if (e.lengthComputable && job.bar) job.bar.value = e.loaded / e.total;
      };
      x.onloadend = function () {
        clearInterval(watch);
        if (job.gone) return;
        var body = null;
        try { body = JSON.parse(x.responseText); } catch (_) {}
        if (x.status == 201 || x.status == 200) {
          if (body && body.seq) {
            // Stored: the widget shows the message when it arrives on the
            // socket (or the next catch-up) and then removes this bubble.
            Array.prototype.forEach.call(job.el.querySelectorAll('progress,.dc-cancel'), function (e) { e.remove(); });
            state(job, 'sent');
            return;
          }
        }
        var e = (body && body.error) || {};
        if (!x.status || over || e.retryable || x.status >= 500 || x.status == 408 || x.status == 429)
          return later(job, e.retry_after_ms);
        failed(job, x.status == 403 && e.code == 'attachments_disabled' ? t[8] : e.message || t[6],
          x.status == 401);
      };
      x.open('POST', api + '/chat/api/chat/attachment/');
      x.setRequestHeader('Authorization', 'Bearer ' + c.token);
      x.send(f);
    }

    function sendAll(files) {
      Array.prototype.slice.call(files || [], 0, MAX_FILES).forEach(send);
    }

    var pick = el('input');
    pick.type = 'file';
    pick.hidden = true;
    pick.multiple = true;
    var accept = [];
    types.forEach(function (k) {
      for (var ext in KINDS) if (KINDS[ext] === k) accept.push('.' + ext);
    });
    if (types.indexOf('txt') >= 0) accept.push('text/plain');
    pick.accept = accept.join(',');
    pick.onchange = function () { sendAll(pick.files); pick.value = ''; };
    var button = el('button', 'dc-attach');
    button.type = 'button';
    button.setAttribute('part', 'attach');
    button.setAttribute('aria-label', t[0]);
    button.title = t[0];
    button.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden=true><path d="M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6z"/></svg>';
    button.onclick = function () { pick.click(); };
    compose.insertBefore(pick, compose.firstChild);
    compose.insertBefore(button, input);

    input.addEventListener('paste', function (e) {
      var files = e.clipboardData && e.clipboardData.files;
      if (files && files.length) {
        e.preventDefault();
        sendAll(files);
      }
    });

    var zone = el('div', 'dc-dropzone', t[1]), depth = 0;
    zone.hidden = true;
    panel.appendChild(zone);
    var hasFiles = function (e) {
      return e.dataTransfer && Array.prototype.indexOf.call(e.dataTransfer.types || [], 'Files') >= 0;
    };
    panel.addEventListener('dragenter', function (e) {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth++;
      zone.hidden = false;
    });
    panel.addEventListener('dragover', function (e) {
      if (!hasFiles(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    });
    panel.addEventListener('dragleave', function () {
      if (--depth <= 0) { depth = 0; zone.hidden = true; }
    });
    panel.addEventListener('drop', function (e) {
      depth = 0;
      zone.hidden = true;
      if (!hasFiles(e)) return;
      e.preventDefault();
      sendAll(e.dataTransfer.files);
    });
  }
}
