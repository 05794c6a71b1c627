// Renders /openapi.json as a list of operations with a "try it" form. No framework, no CDN.
(function () {
  'use strict';
  var ops = document.getElementById('ops');
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text) { e.textContent = text; }
    return e;
  }
  function example(op) {
    var c = op.requestBody && op.requestBody.content;
    if (!c) { return ''; }
    if (c['application/json']) { return '{\n  "qr": "HC1:...",\n  "at": "2021-06-01T00:00:00Z"\n}'; }
    if (c['text/plain']) { return 'HC1:...'; }
    return '';
  }
  fetch('/openapi.json').then(function (r) { return r.json(); }).then(function (doc) {
    ops.textContent = '';
    Object.keys(doc.paths).forEach(function (path, i) {
      var item = doc.paths[path];
      Object.keys(item).forEach(function (method) {
        var op = item[method];
        var s = el('section');
        var h = el('h2');
        h.appendChild(el('span', { 'class': 'm ' + method }, method.toUpperCase()));
        h.appendChild(document.createTextNode(' ' + path));
        s.appendChild(h);
        if (op.description || op.summary) { s.appendChild(el('p', {}, op.summary || op.description)); }
        var id = 'body-' + i + '-' + method;
        var body = null;
        var ct = op.requestBody ? Object.keys(op.requestBody.content)[0] : null;
        if (ct && ct.indexOf('image') !== 0 && ct.indexOf('multipart') !== 0) {
          s.appendChild(el('label', { 'for': id }, 'Request body (' + ct + ')'));
          body = el('textarea', { id: id });
          body.value = example(op);
          s.appendChild(body);
        }
        var out = el('pre', { 'aria-label': 'response' });
        var btn = el('button', { type: 'button' }, 'Send');
        btn.addEventListener('click', function () {
          var headers = {};
          var key = document.getElementById('key').value;
          if (key) { headers.Authorization = 'Bearer ' + key; }
          if (ct && body) { headers['Content-Type'] = ct; }
          out.textContent = '…';
          fetch(path, { method: method.toUpperCase(), headers: headers, body: body ? body.value : undefined })
            .then(function (r) { return r.text().then(function (t) { out.textContent = r.status + '\n' + t; }); })
            .catch(function (e) { out.textContent = String(e); });
        });
        if (!ct || body) { s.appendChild(btn); }
        s.appendChild(out);
        ops.appendChild(s);
      });
    });
  }).catch(function (e) { ops.textContent = 'Could not load /openapi.json: ' + e; });
}());
