// Browser test of the verifier page, in Debian's Chromium driven by playwright-core.
// Inputs come from scripts/browser-test through the environment.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`missing ${k}`);
  return v;
};
const base = env('BASE_URL');
const shots = env('SCREENSHOT_DIR');
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } }); // a phone screen
  const problems = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });

  await page.goto(base + '/');
  await page.getByRole('heading', { name: 'COVID certificate verifier' }).waitFor();

  // 1. A valid certificate pasted as text.
  await page.getByLabel('QR code text').fill(env('VALID_QR'));
  await page.getByRole('button', { name: 'Verify text' }).click();
  const card = page.getByTestId('result-card');
  await card.waitFor();
  assert.match(await card.getAttribute('class'), /\bvalid\b/);
  assert.match(await card.innerText(), /VALID/);
  assert.equal(await page.locator('dd[data-field="Name"]').innerText(), env('EXPECT_NAME'));
  assert.equal(await page.locator('dd[data-field="Certificate"]').innerText(), 'Vaccination');
  assert.equal(await page.locator('dd[data-field="Pass"]').innerText(), 'EU Digital COVID Certificate');
  assert.equal(await page.locator('dd[data-field="Issuer"]').innerText(), 'VN');
  await page.screenshot({ path: `${shots}/1-valid.png`, fullPage: true });

  // 2. A tampered certificate: invalid, with the reason in plain words and its code.
  await page.getByLabel('QR code text').fill(env('TAMPERED_QR'));
  await page.getByRole('button', { name: 'Verify text' }).click();
  await page.locator('[data-testid="result-card"].invalid').waitFor();
  const text = await page.getByTestId('result-card').innerText();
  assert.match(text, /NOT VALID/);
  assert.match(text, /\((SIGNATURE_INVALID|BASE45_INVALID|DECOMPRESS_FAILED|COSE_INVALID|CWT_INVALID)\)/);
  assert.doesNotMatch(text, new RegExp(env('EXPECT_NAME')), 'no holder data from an invalid certificate');
  await page.screenshot({ path: `${shots}/2-tampered.png`, fullPage: true });

  // 2b. Another pass family: India's DIVOC credential (WHO validator's example) against the
  // divoc-key source of India's published key: its family, the one-string name, the doses.
  await page.getByLabel('QR code text').fill(env('DIVOC_QR'));
  await page.getByRole('button', { name: 'Verify text' }).click();
  await page.locator('[data-testid="result-card"].valid').waitFor();
  assert.equal(await page.locator('dd[data-field="Pass"]').innerText(), 'DIVOC credential');
  assert.equal(await page.locator('dd[data-field="Name"]').innerText(), 'Third March User One');
  assert.match(await page.locator('dd[data-field="Vaccinations"]').innerText(), /COVISHIELD/);
  await page.screenshot({ path: `${shots}/2b-divoc.png`, fullPage: true });
  // Its source counts its key in the trust view.
  const divocRow = page.locator('#trust-body tr', { hasText: 'divoc-india' });
  assert.match(await divocRow.innerText(), /divoc-india\s+1\s/, await divocRow.innerText());

  // 3. A photo of the QR code.
  await page.getByLabel('Or a photo or screenshot of the QR code').setInputFiles(env('PNG_PATH'));
  await page.getByRole('button', { name: 'Verify photo' }).click();
  await page.locator('[data-testid="result-card"].valid').waitFor();
  assert.equal(await page.locator('dd[data-field="Name"]').innerText(), env('EXPECT_NAME'));
  await page.screenshot({ path: `${shots}/3-photo.png`, fullPage: true });

  // 3b. Travelling to Vietnam: the entry rules' verdict under the technical one.
  await page.getByText('Options').click();
  await page.getByLabel(/Travelling to/).fill('vn');
  await page.getByLabel('QR code text').fill(env('VALID_QR'));
  await page.getByRole('button', { name: 'Verify text' }).click();
  await page.locator('[data-testid="result-card"].valid').waitFor();
  const admissible = await page.getByTestId('admissible').innerText();
  assert.match(admissible, /entry rules of VN/, admissible);
  await page.getByLabel(/Travelling to/).fill('');

  // 4. The trust-list view lists the seeded countries.
  const table = page.getByTestId('countries');
  await table.waitFor();
  const countries = await table.innerText();
  for (const c of env('EXPECT_COUNTRIES').split(',')) {
    assert.match(countries, new RegExp(`\\b${c}\\b`), `country ${c} listed`);
  }
  // Counts read as English and instants without nanoseconds.
  const summary = await page.locator('#trust-body > p').first().innerText();
  assert.doesNotMatch(summary, /\b1 (signer keys|countries)\b/, summary);
  assert.match(summary, /signer keys? from \d+ countr(y|ies)\./, summary);
  assert.doesNotMatch(await page.locator('#trust-body').innerText(), /\.\d{6,}Z/, 'raw nanosecond timestamps');
  // Sources on a phone: whole words, never "disable/d".
  assert.match(await page.locator('#trust-body').innerText(), /disabled/, 'the disabled source is listed');
  for (const cell of await page.locator('#trust-body table:nth-of-type(2) td:nth-child(3)').all()) {
    // Line boxes of the cell's text (the cell itself is as tall as its row).
    const lines = await cell.evaluate((e) => {
      const r = document.createRange();
      r.selectNodeContents(e);
      return new Set([...r.getClientRects()].map((b) => Math.round(b.top))).size;
    });
    assert.ok(lines <= 1, `the one-word health cell wraps: ${await cell.innerText()}`);
  }
  await page.getByRole('heading', { name: 'Trusted keys' }).scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${shots}/4-trust.png`, fullPage: true });

  // 5. Keyboard: the form is reachable and operable without a mouse.
  await page.goto(base + '/');
  await page.keyboard.press('Tab'); // skip link
  await page.keyboard.press('Tab'); // textarea
  await page.keyboard.type(env('VALID_QR'));
  await page.keyboard.press('Tab'); // "Verify text"
  await page.keyboard.press('Enter');
  await page.locator('[data-testid="result-card"].valid').waitFor();

  const desktop = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await desktop.goto(base + '/');
  await desktop.getByLabel('QR code text').fill(env('VALID_QR'));
  await desktop.getByRole('button', { name: 'Verify text' }).click();
  await desktop.locator('[data-testid="result-card"].valid').waitFor();
  await desktop.screenshot({ path: `${shots}/5-desktop.png`, fullPage: true });

  // 6. /docs on a phone: grouped by user, one call per group from the page's own examples.
  const docs = await browser.newPage({ viewport: { width: 390, height: 844 } });
  docs.on('pageerror', (e) => problems.push(String(e)));
  docs.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  await docs.goto(base + '/docs');
  await docs.locator('[data-group="operations"] details.op').first().waitFor();
  const groups = await docs.locator('section[data-group]').evaluateAll((s) => s.map((x) => x.dataset.group));
  assert.deepEqual(groups, ['verify', 'trust', 'publication', 'sync', 'operations']);
  const keyBox = await docs.locator('#key').boundingBox();
  assert.ok(keyBox.x + keyBox.width <= 390, 'the API-key field fits a phone');
  const call = async (op, prepare) => {
    const d = docs.locator(`details[data-op="${op}"]`);
    if (!(await d.evaluate((e) => e.open))) { await d.locator('summary').click(); }
    if (prepare) { await prepare(d); }
    await d.getByTestId('send').click();
    const out = d.getByTestId('response');
    await docs.waitForFunction((e) => e.dataset.status, await out.elementHandle());
    return { status: await out.getAttribute('data-status'), text: await out.innerText() };
  };
  let r = await call('POST /v1/verify');
  assert.equal(r.status, '200', r.text);
  assert.match(r.text, /"valid": false/);
  r = await call('POST /v1/verify/image', async (d) => {
    await d.getByTestId('content-type').selectOption('multipart/form-data');
    await d.getByTestId('file').setInputFiles(env('PNG_PATH'));
  });
  assert.equal(r.status, '200', r.text);
  assert.match(r.text, /"valid": true/);
  r = await call('GET /trustList/{type}');
  assert.equal(r.status, '200', r.text);
  assert.match(r.text, /"certificateType": "DSC"/);
  r = await call('GET /v2/trustlist/-/VNM/{kind}/did.json');
  assert.equal(r.status, '200', r.text);
  r = await call('GET /signercertificateStatus');
  assert.equal(r.status, '200', r.text);
  const kid = JSON.parse(r.text.slice(r.text.indexOf('\n\n') + 2))[0];
  r = await call('POST /signercertificateUpdate');
  assert.equal(r.status, '200', r.text);
  assert.ok(r.text.includes(kid), 'the lookup example uses a kid in force');
  r = await call('GET /v1/trust/summary');
  assert.equal(r.status, '200', r.text);
  r = await call('GET /healthz');
  assert.equal(r.status, '200', r.text);
  assert.doesNotMatch(await docs.locator('main').innerText(), /`/, 'no raw backticks');
  await docs.screenshot({ path: `${shots}/6-docs.png`, fullPage: true });

  assert.deepEqual(problems, [], 'no JavaScript or CSP errors');
  console.log('browser test passed; screenshots in', shots);
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
