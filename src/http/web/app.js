// The verifier page: plain DOM, no framework, only same-origin calls to the public API.
(function () {
  'use strict';

  var REASONS = {
    PREFIX_INVALID: 'This is not a health pass QR code this gateway reads (EU DCC, WHO DDCC, NZ COVID Pass, SMART Health Card, ICAO seal, DIVOC).',
    BASE45_INVALID: 'The QR text is damaged or incomplete.',
    DECOMPRESS_FAILED: 'The QR text is damaged or incomplete.',
    PAYLOAD_TOO_LARGE: 'The QR code holds far more data than a certificate can.',
    COSE_INVALID: 'The certificate data is malformed.',
    CWT_INVALID: 'The certificate data is malformed.',
    QR_NOT_FOUND: 'No QR code could be read in the image. Try a sharper, closer photo.',
    BASE32_INVALID: 'The QR text is damaged or incomplete.',
    SHC_CHUNKED: 'This SMART Health Card is split over several QR codes; scan a single-code card.',
    JWS_INVALID: 'The pass data is malformed.',
    ISSUER_UNTRUSTED: 'The pass was issued by an issuer this gateway does not trust.',
    CREDENTIAL_INVALID: 'The pass content does not follow its format.',
    KID_MISSING: 'The certificate does not say which key signed it.',
    KID_UNKNOWN: 'The certificate was signed with a key this gateway does not trust.',
    ALG_UNSUPPORTED: 'The certificate uses an unsupported signature type.',
    KEY_UNSUPPORTED: 'The signing key is too weak or of a kind that is not accepted.',
    SIGNATURE_INVALID: 'The signature is not valid: the certificate was altered or forged.',
    DSC_NOT_VALID: 'The signing key was not valid at this time.',
    KEY_USAGE_MISMATCH: 'The signing key may not sign this kind of certificate.',
    CWT_EXPIRED: 'The certificate has expired.',
    CWT_NOT_YET_VALID: 'The certificate is not valid yet.',
    REVOKED: 'The certificate has been revoked.',
    TRUST_STALE: 'The signing key has not been confirmed recently.',
    PAYLOAD_SCHEMA_INVALID: 'The certificate content does not follow its format.',
    PAYLOAD_VALUESET_INVALID: 'The certificate uses a code the EU lists do not know yet.'
  };
  var TYPES = { vaccination: 'Vaccination', test: 'Test', recovery: 'Recovery' };
  var FORMATS = {
    'eu-dcc': 'EU Digital COVID Certificate', 'who-ddcc': 'WHO DDCC', nzcp: 'NZ COVID Pass',
    shc: 'SMART Health Card', 'icao-vds-nc': 'ICAO Visible Digital Seal', divoc: 'DIVOC credential'
  };

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function headers(extra) {
    var h = extra || {};
    var key = $('apikey').value.trim();
    if (key) { h.Authorization = 'Bearer ' + key; }
    return h;
  }
  function day(s) { return s ? String(s).slice(0, 10) : '—'; }

  // Server messages mark names with Markdown backticks; on the page they are quotes.
  function plain(text) { return String(text).replace(/`([^`]*)`/g, '\u201c$1\u201d'); }
  function showError(message) {
    message = plain(message);
    var box = $('result');
    box.textContent = '';
    var card = el('div', 'card invalid');
    card.appendChild(el('p', 'verdict', 'Could not check'));
    card.appendChild(el('p', null, message));
    box.appendChild(card);
  }

  function render(r) {
    var box = $('result');
    box.textContent = '';
    var card = el('div', 'card ' + (r.valid ? 'valid' : 'invalid'));
    card.setAttribute('data-testid', 'result-card');
    card.appendChild(el('p', 'verdict', r.valid ? '✔ VALID' : '✘ NOT VALID'));
    var problems = (r.errors || []).concat(r.valid ? [] : []);
    if (problems.length) {
      var ul = el('ul', 'reasons');
      problems.forEach(function (f) {
        var li = el('li', null, (REASONS[f.code] || plain(f.message)) + ' (' + f.code + ')');
        ul.appendChild(li);
      });
      card.appendChild(ul);
    }
    if ((r.warnings || []).length) {
      var wl = el('ul', 'reasons');
      r.warnings.forEach(function (f) { wl.appendChild(el('li', null, 'Note: ' + (REASONS[f.code] || plain(f.message)))); });
      card.appendChild(wl);
    }
    var c = r.certificate;
    if (c) {
      var dl = el('dl');
      var h = c.holder || {};
      var name = h.name || [h.given_name, h.family_name].filter(Boolean).join(' ') || [h.given_name_std, h.family_name_std].filter(Boolean).join(' ');
      [
        ['Name', name || '—'],
        ['Date of birth', h.date_of_birth || '—'],
        ['Pass', FORMATS[r.format] || r.format || '—'],
        ['Certificate', TYPES[c.type] || 'Unknown type'],
        ['Issued', day(c.issued_at)],
        ['Expires', c.expires_at ? day(c.expires_at) : 'no expiry date'],
        ['Issuer', c.issuer_country || c.iss || '—'],
        ['Vaccinations', (c.vaccinations || []).map(function (v) {
          return (v.date ? day(v.date) : '?') + ' ' + (v.product || '?');
        }).join('; ') || '—'],
        ['Key source', (r.provenance && r.provenance.dsc_source) || '—']
      ].forEach(function (row) {
        dl.appendChild(el('dt', null, row[0]));
        var dd = el('dd', null, row[1]);
        dd.setAttribute('data-field', row[0]);
        dl.appendChild(dd);
      });
      card.appendChild(dl);
    }
    if (r.admissible !== undefined) {
      var a = r.admissible;
      var rules = r.rules;
      var country = rules ? rules.country : $('destination').value.trim().toUpperCase();
      var line = a === true ? 'Meets the entry rules of ' + country
        : a === false ? (rules ? 'Does not meet the entry rules of ' + country : 'Not admissible to ' + country + ': the certificate is not valid')
        : 'The entry rules of ' + country + ' could not decide';
      var p = el('p', 'verdict', line);
      p.setAttribute('data-testid', 'admissible');
      card.appendChild(p);
      if (rules) {
        var rl = el('ul', 'reasons');
        (rules.failed || []).forEach(function (x) { rl.appendChild(el('li', null, 'Failed: ' + (x.description || x.identifier) + ' (' + x.identifier + ')')); });
        (rules.open || []).forEach(function (x) { rl.appendChild(el('li', null, 'Undecided: ' + (x.description || x.identifier) + ' (' + x.identifier + ')')); });
        if (rl.childNodes.length) { card.appendChild(rl); }
      }
    }
    card.appendChild(el('p', 'help', 'Checked at ' + when(r.checked_at)));
    box.appendChild(card);
    card.setAttribute('tabindex', '-1');
    card.focus();
  }

  function handle(promise) {
    $('result').textContent = 'Checking…';
    promise.then(function (res) {
      return res.json().then(function (body) {
        if (res.ok) { render(body); } else { showError((body.error && body.error.message) || ('HTTP ' + res.status)); }
      });
    }).catch(function () { showError('The gateway could not be reached.'); });
  }

  function destination() {
    var d = $('destination').value.trim().toUpperCase();
    return /^[A-Z]{2}$/.test(d) ? d : null;
  }

  function query() {
    var parts = [];
    var at = $('at').value.trim();
    if (at) { parts.push('at=' + encodeURIComponent(at)); }
    if (destination()) { parts.push('destination=' + destination()); }
    return parts.length ? '?' + parts.join('&') : '';
  }

  $('text-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var qr = $('qr').value.trim();
    if (!qr) { showError('Paste the QR code text first.'); return; }
    var body = { qr: qr, detail: 'minimal' };
    var at = $('at').value.trim();
    if (at) { body.at = at; }
    if (destination()) { body.destination = { country: destination() }; }
    handle(fetch('/v1/verify', { method: 'POST', headers: headers({ 'Content-Type': 'application/json' }), body: JSON.stringify(body) }));
  });

  $('image-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var file = $('photo').files[0];
    if (!file) { showError('Choose a photo first.'); return; }
    var form = new FormData();
    form.append('image', file, file.name);
    handle(fetch('/v1/verify/image' + query(), { method: 'POST', headers: headers(), body: form }));
  });

  // "1 signer key", "3 signer keys".
  function count(n, one, many) { return n + ' ' + (n === 1 ? one : many); }
  // RFC 3339 with nanoseconds → "2026-12-03 13:02 UTC" (the exact value stays in the tooltip).
  function when(ts) {
    if (!ts) { return '—'; }
    var m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(ts);
    return m ? m[1] + ' ' + m[2] + ' UTC' : ts;
  }
  function loadTrust() {
    var box = $('trust-body');
    fetch('/v1/trust/summary').then(function (r) { return r.json(); }).then(function (t) {
      box.textContent = '';
      box.appendChild(el('p', null, count(t.dscs, 'signer key', 'signer keys') + ' from ' +
        count(t.countries.length, 'country', 'countries') + '. Snapshot ' +
        (t.trust_snapshot || '—') + ' (version ' + (t.snapshot_version || '—') + '), loaded ' + when(t.loaded_at) + '.'));
      var table = el('table');
      table.setAttribute('data-testid', 'countries');
      var cap = el('caption', null, 'Countries'); table.appendChild(cap);
      var head = el('tr'); head.appendChild(el('th', null, 'Country')); head.appendChild(el('th', null, 'Keys'));
      table.appendChild(head);
      t.countries.forEach(function (c) {
        var tr = el('tr'); tr.appendChild(el('td', null, c.country)); tr.appendChild(el('td', null, c.dscs)); table.appendChild(tr);
      });
      box.appendChild(table);
      var st = el('table');
      st.appendChild(el('caption', null, 'Sources'));
      var sh = el('tr'); ['Source', 'Keys', 'Health', 'Last refresh'].forEach(function (x) { sh.appendChild(el('th', null, x)); });
      st.appendChild(sh);
      t.sources.forEach(function (s) {
        var tr = el('tr');
        // Keys: signer certificates, or the issuer keys and revocation entries of other passes.
        [s.source, s.dscs + (s.pass_keys || 0), s.status, when(s.last_refresh)].forEach(function (x) { tr.appendChild(el('td', null, x)); });
        if (s.last_refresh) { tr.lastChild.title = s.last_refresh; }
        st.appendChild(tr);
      });
      box.appendChild(st);
    }).catch(function () { box.textContent = 'The trust list could not be loaded.'; });
  }
  $('trust-refresh').addEventListener('click', loadTrust);
  loadTrust();
}());
