// The API documentation page: renders /openapi.json grouped by who uses it, with every
// operation's parameters, request body, response schemas and a "try it" form prefilled with an
// example of its own. Plain DOM, no framework, no CDN, same-origin calls only (strict CSP).
(function () {
  'use strict';
  var GROUPS = [
    ['verify', 'Verify certificates', true],
    ['trust', 'What the gateway trusts', false],
    ['publication', "Vietnam's keys for border systems (publication)", false],
    ['sync', 'Key sync for verifier apps', false],
    ['operations', 'Operations', false]
  ];
  // Examples for parameters the schema cannot guess.
  var PARAM_EXAMPLES = {
    type: 'DSC', country: 'VN', kind: 'DSC', page: '0', pagesize: '100',
    'If-Modified-Since': '2021-01-01T00:00:00Z', 'X-RESUME-TOKEN': '0',
    at: '', detail: 'minimal', strict_valuesets: ''
  };
  var SAMPLE_QR = 'HC1:NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH-R6IOO6+IUKRG*I.I0MI8 ...';
  var firstKid = null;
  var ops = document.getElementById('ops');
  var nav = document.getElementById('groups');

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  // Text with `code` spans (the descriptions use Markdown backticks).
  function rich(tag, text) {
    var e = el(tag);
    String(text || '').split('`').forEach(function (part, i) {
      e.appendChild(i % 2 ? el('code', null, part) : document.createTextNode(part));
    });
    return e;
  }
  function resolve(doc, schema) {
    var seen = 0;
    while (schema && schema.$ref && seen < 8) {
      schema = doc.components.schemas[schema.$ref.split('/').pop()];
      seen += 1;
    }
    return schema || {};
  }
  function typeName(doc, s) {
    if (!s) { return ''; }
    if (s.$ref) { return s.$ref.split('/').pop(); }
    if (s.oneOf || s.anyOf) {
      return (s.oneOf || s.anyOf).map(function (x) { return typeName(doc, x); }).join(' | ');
    }
    if (s.type === 'array') { return typeName(doc, s.items) + '[]'; }
    if (s.enum) { return s.enum.join(' | '); }
    return Array.isArray(s.type) ? s.type.join(' | ') : (s.type || 'object');
  }
  // A nested list of a schema's properties (depth-limited).
  function schemaView(doc, schema, depth) {
    var s = resolve(doc, schema);
    if (s.type === 'array' || (Array.isArray(s.type) && s.items)) { s = resolve(doc, s.items); }
    var props = s.properties || {};
    var names = Object.keys(props);
    if (!names.length) { return el('p', { 'class': 'type' }, typeName(doc, schema)); }
    var ul = el('ul', { 'class': 'schema' });
    names.forEach(function (n) {
      var p = props[n];
      var li = el('li');
      li.appendChild(el('code', null, n));
      li.appendChild(el('span', { 'class': 'type' }, ' ' + typeName(doc, p) +
        ((s.required || []).indexOf(n) >= 0 ? ' (required)' : '')));
      var d = p.description || resolve(doc, p).description;
      if (d) { li.appendChild(rich('div', d)); }
      if (depth < 2 && (p.$ref || (p.items && p.items.$ref))) { li.appendChild(schemaView(doc, p, depth + 1)); }
      ul.appendChild(li);
    });
    return ul;
  }
  function bodyExample(method, path, ct) {
    if (ct === 'text/plain') { return SAMPLE_QR; }
    if (path === '/v1/verify') { return JSON.stringify({ qr: SAMPLE_QR, detail: 'minimal' }, null, 2); }
    if (path === '/v1/verify/batch') { return JSON.stringify({ items: [{ qr: SAMPLE_QR }, { qr: 'HC1:broken' }] }, null, 2); }
    if (path === '/signercertificateUpdate') { return JSON.stringify([firstKid || 'kid-from-signercertificateStatus']); }
    return '{}';
  }

  function operation(doc, path, method, op) {
    var sec = el('details', { 'class': 'op', 'data-op': method.toUpperCase() + ' ' + path });
    var sum = el('summary');
    sum.appendChild(el('span', { 'class': 'm ' + method }, method.toUpperCase()));
    sum.appendChild(el('code', { 'class': 'path' }, path));
    if (op.summary) { sum.appendChild(rich('span', op.summary)); }
    sec.appendChild(sum);
    if (op.description && op.description !== op.summary) { sec.appendChild(rich('p', op.description)); }

    var inputs = [];
    var params = op.parameters || [];
    if (params.length) {
      sec.appendChild(el('h4', null, 'Parameters'));
      params.forEach(function (p) {
        var id = 'p-' + Math.random().toString(36).slice(2);
        var lab = el('label', { 'for': id });
        lab.appendChild(el('code', null, p.name));
        lab.appendChild(document.createTextNode(' (' + p.in + (p.required ? ', required' : '') + ') ' + typeName(doc, p.schema)));
        sec.appendChild(lab);
        if (p.description) { sec.appendChild(rich('div', p.description)).className = 'help'; }
        var input = el('input', { id: id, type: 'text', 'data-param': p.name });
        var ex = PARAM_EXAMPLES[p.name];
        // Optional headers start empty (If-Modified-Since turns a full list into a delta).
        input.value = ex !== undefined && (p.required || p.in !== 'header') ? ex : '';
        sec.appendChild(input);
        inputs.push({ p: p, input: input });
      });
    }

    var body = null;
    var file = null;
    var ctSelect = null;
    var content = (op.requestBody && op.requestBody.content) || {};
    var types = Object.keys(content);
    if (types.length) {
      sec.appendChild(el('h4', null, 'Request body'));
      var cid = 'ct-' + Math.random().toString(36).slice(2);
      sec.appendChild(el('label', { 'for': cid }, 'Content type'));
      ctSelect = el('select', { id: cid, 'data-testid': 'content-type' });
      types.forEach(function (t) { ctSelect.appendChild(el('option', { value: t }, t)); });
      sec.appendChild(ctSelect);
      var bid = 'b-' + Math.random().toString(36).slice(2);
      var bl = el('label', { 'for': bid }, 'Body');
      body = el('textarea', { id: bid, 'data-testid': 'body', spellcheck: 'false' });
      file = el('input', { type: 'file', accept: 'image/png,image/jpeg,image/webp', 'data-testid': 'file' });
      var schemaBox = el('div');
      var update = function () {
        var t = ctSelect.value;
        var isFile = t.indexOf('image/') === 0 || t === 'multipart/form-data';
        bl.hidden = isFile; body.hidden = isFile; file.hidden = !isFile;
        bl.textContent = isFile ? 'Image' : 'Body (' + t + ')';
        if (!isFile) { body.value = bodyExample(method, path, t); }
        schemaBox.textContent = '';
        if (content[t] && content[t].schema && !isFile) { schemaBox.appendChild(schemaView(doc, content[t].schema, 0)); }
      };
      ctSelect.addEventListener('change', update);
      sec.appendChild(bl); sec.appendChild(body); sec.appendChild(file); sec.appendChild(schemaBox);
      sec.addEventListener('toggle', update);
      update();
    }

    var responses = op.responses || {};
    sec.appendChild(el('h4', null, 'Responses'));
    var rl = el('dl', { 'class': 'responses' });
    Object.keys(responses).forEach(function (code) {
      var r = responses[code];
      rl.appendChild(el('dt', null, code));
      var dd = rich('dd', r.description || '');
      var c = r.content && (r.content['application/json'] || r.content[Object.keys(r.content)[0]]);
      if (c && c.schema) { dd.appendChild(schemaView(doc, c.schema, 0)); }
      rl.appendChild(dd);
    });
    sec.appendChild(rl);

    var out = el('pre', { 'data-testid': 'response', 'aria-live': 'polite' });
    var btn = el('button', { type: 'button', 'data-testid': 'send' }, 'Send');
    btn.addEventListener('click', function () {
      var url = path;
      var query = [];
      var headers = {};
      var key = document.getElementById('key').value.trim();
      if (key) { headers.Authorization = 'Bearer ' + key; }
      inputs.forEach(function (x) {
        var v = x.input.value;
        if (x.p.in === 'path') { url = url.replace('{' + x.p.name + '}', encodeURIComponent(v)); }
        else if (v === '') { return; }
        else if (x.p.in === 'query') { query.push(encodeURIComponent(x.p.name) + '=' + encodeURIComponent(v)); }
        else if (x.p.in === 'header') { headers[x.p.name] = v; }
      });
      if (query.length) { url += '?' + query.join('&'); }
      var init = { method: method.toUpperCase(), headers: headers };
      if (ctSelect) {
        var t = ctSelect.value;
        if (t === 'multipart/form-data') {
          if (!file.files[0]) { out.textContent = 'Choose an image first.'; return; }
          var form = new FormData(); form.append('image', file.files[0], file.files[0].name); init.body = form;
        } else if (t.indexOf('image/') === 0) {
          if (!file.files[0]) { out.textContent = 'Choose an image first.'; return; }
          headers['Content-Type'] = t; init.body = file.files[0];
        } else { headers['Content-Type'] = t; init.body = body.value; }
      }
      out.textContent = '…';
      out.removeAttribute('data-status');
      fetch(url, init).then(function (r) {
        return r.text().then(function (text) {
          var shown = ['content-type', 'etag', 'last-modified', 'ratelimit-remaining', 'x-resume-token', 'x-kid', 'x-request-id']
            .filter(function (h) { return r.headers.get(h); })
            .map(function (h) { return h + ': ' + r.headers.get(h); });
          try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (ignore) { /* not JSON */ }
          if (text.length > 20000) { text = text.slice(0, 20000) + '\n… (cut)'; }
          out.textContent = r.status + ' ' + r.statusText + '\n' + shown.join('\n') + '\n\n' + text;
          out.setAttribute('data-status', String(r.status));
        });
      }).catch(function (e) { out.textContent = String(e); out.setAttribute('data-status', 'error'); });
    });
    sec.appendChild(btn);
    sec.appendChild(out);
    return sec;
  }

  Promise.all([
    fetch('/openapi.json').then(function (r) { return r.json(); }),
    fetch('/signercertificateStatus').then(function (r) { return r.ok ? r.json() : []; }).catch(function () { return []; })
  ]).then(function (got) {
    var doc = got[0];
    firstKid = (got[1] && got[1][0]) || null;
    ops.textContent = '';
    if (doc.info && doc.info.description) { document.getElementById('intro').textContent = doc.info.description; }
    var tagInfo = {};
    (doc.tags || []).forEach(function (t) { tagInfo[t.name] = t.description; });
    GROUPS.forEach(function (g) {
      var section = el('section', { id: 'group-' + g[0], 'data-group': g[0] });
      section.appendChild(el('h2', null, g[1]));
      if (tagInfo[g[0]]) { section.appendChild(rich('p', tagInfo[g[0]])); }
      Object.keys(doc.paths).forEach(function (path) {
        Object.keys(doc.paths[path]).forEach(function (method) {
          var op = doc.paths[path][method];
          if ((op.tags || ['operations'])[0] !== g[0]) { return; }
          var node = operation(doc, path, method, op);
          if (g[2]) { node.open = true; }
          section.appendChild(node);
        });
      });
      ops.appendChild(section);
      var a = el('a', { href: '#group-' + g[0] }, g[1]);
      var li = el('li'); li.appendChild(a); nav.appendChild(li);
    });
  }).catch(function (e) { ops.textContent = 'Could not load /openapi.json: ' + e; });
}());
