// Replays the request/response examples in tests/pdp/examples/*.json against a
// running Cerbos and checks that each answer is exactly the recorded one, and
// that SHAPES.md shows each example verbatim (so the document stays verified).
//
//   node examples.js --url URL [--ca CA] [--cert C --key K] [--doc SHAPES.md]
//                    [--record] FILE...
//   node examples.js --render SHAPES.md FILE...
//
// Example file: {"title", "request": {"method", "path", "body" | "rawBody"},
//                "response": {"status", "body"}}
// In a recorded body the value of "cerbosCallId" may differ (any string), and
// "{{HOSTPORT}}" stands for the server's host:port. --record writes the live
// answer into each file instead of comparing (for authoring; review the diff).
// --render rewrites, in SHAPES.md, the text between
// "<!-- example: NAME -->" and "<!-- /example -->" from examples/NAME.json.
// Prints "PASS name" / "FAIL name: why" per check; exits 1 if any failed.
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');
const path = require('path');

function parseArgs(argv) {
  const opts = { files: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--record') opts.record = true;
    else if (['--url', '--ca', '--cert', '--key', '--doc', '--render'].includes(a)) opts[a.slice(2)] = argv[++i];
    else opts.files.push(a);
  }
  if (!opts.url && !opts.render) throw new Error('--url or --render is required');
  return opts;
}

function send(opts, agent, req) {
  const url = new URL(req.path, opts.url);
  const payload = req.rawBody !== undefined ? req.rawBody
    : req.body !== undefined ? JSON.stringify(req.body) : null;
  const headers = {};
  if (payload !== null) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = Buffer.byteLength(payload);
  }
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const r = mod.request(url, { method: req.method, headers, agent }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { data += c; });
      res.on('end', () => resolve({ status: res.statusCode, text: data }));
    });
    r.setTimeout(5000, () => r.destroy(new Error('timeout')));
    r.on('error', reject);
    if (payload !== null) r.write(payload);
    r.end();
  });
}

// Deep equality with the two allowances described above.
function same(expected, actual, hostport, key) {
  if (key === 'cerbosCallId') return typeof actual === 'string' && actual.length > 0;
  if (typeof expected === 'string') {
    return expected.split('{{HOSTPORT}}').join(hostport) === actual;
  }
  if (expected === null || typeof expected !== 'object') return expected === actual;
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length &&
      expected.every((e, i) => same(e, actual[i], hostport));
  }
  if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
  const ek = Object.keys(expected).sort();
  const ak = Object.keys(actual).sort();
  return ek.length === ak.length && ek.every((k, i) => k === ak[i] &&
    same(expected[k], actual[k], hostport, k));
}

// How SHAPES.md shows an example: pretty JSON, 2-space indent.
function pretty(v) { return JSON.stringify(v, null, 2); }

function docShows(doc, example) {
  const missing = [];
  const req = example.request;
  if (req.body !== undefined && !doc.includes(pretty(req.body))) missing.push('request body');
  if (req.rawBody !== undefined && !doc.includes(req.rawBody)) missing.push('raw request body');
  const res = example.response;
  if (res && res.body !== undefined) {
    const shown = pretty(res.body).split('{{HOSTPORT}}').join('127.0.0.1:3592');
    if (!doc.includes(shown)) missing.push('response body');
  }
  if (!doc.includes(`${req.method} ${req.path}`)) missing.push(`"${req.method} ${req.path}"`);
  return missing;
}

// The Markdown SHAPES.md shows for one example.
function renderExample(example) {
  const r = example.request;
  const head = `${r.method} ${r.path}`;
  let out = `#### ${example.title}\n\n`;
  if (r.body !== undefined) {
    out += '```http\n' + head + '\nContent-Type: application/json\n```\n' +
      '```json\n' + pretty(r.body) + '\n```\n';
  } else if (r.rawBody !== undefined) {
    out += '```http\n' + head + '\nContent-Type: application/json\n\n' + r.rawBody + '\n```\n';
  } else {
    out += '```http\n' + head + '\n```\n';
  }
  const body = pretty(example.response.body).split('{{HOSTPORT}}').join('127.0.0.1:3592');
  out += `\n→ HTTP ${example.response.status}\n\n` + '```json\n' + body + '\n```\n';
  return out;
}

function render(docPath, files) {
  let doc = fs.readFileSync(docPath, 'utf8');
  for (const file of files) {
    const name = path.basename(file, '.json');
    const example = JSON.parse(fs.readFileSync(file, 'utf8'));
    const open = `<!-- example: ${name} -->\n`;
    const start = doc.indexOf(open);
    if (start < 0) continue;
    const end = doc.indexOf('<!-- /example -->', start);
    if (end < 0) throw new Error(`unterminated example ${name}`);
    doc = doc.slice(0, start + open.length) + renderExample(example) + doc.slice(end);
  }
  fs.writeFileSync(docPath, doc);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.render) {
    render(opts.render, opts.files);
    return;
  }
  const tls = {};
  if (opts.ca) tls.ca = fs.readFileSync(opts.ca);
  if (opts.cert) { tls.cert = fs.readFileSync(opts.cert); tls.key = fs.readFileSync(opts.key); }
  const base = new URL(opts.url);
  const agent = base.protocol === 'https:'
    ? new https.Agent({ keepAlive: true, maxSockets: 1, ...tls })
    : new http.Agent({ keepAlive: true, maxSockets: 1 });
  const doc = opts.doc ? fs.readFileSync(opts.doc, 'utf8') : null;
  let failed = 0;
  for (const file of opts.files) {
    const name = path.basename(file, '.json');
    const example = JSON.parse(fs.readFileSync(file, 'utf8'));
    let got;
    try {
      got = await send(opts, agent, example.request);
    } catch (e) {
      console.log(`FAIL ${name}: ${e.message}`);
      failed++;
      continue;
    }
    let body;
    try { body = JSON.parse(got.text); } catch { body = got.text; }
    if (opts.record) {
      let recorded = JSON.stringify(body).split(base.host).join('{{HOSTPORT}}');
      example.response = { status: got.status, body: JSON.parse(recorded) };
      fs.writeFileSync(file, pretty(example) + '\n');
      console.log(`RECORDED ${name}: ${got.status}`);
      continue;
    }
    const exp = example.response;
    if (!exp) {
      console.log(`FAIL ${name}: no recorded response`);
      failed++;
    } else if (got.status !== exp.status || !same(exp.body, body, base.host)) {
      console.log(`FAIL ${name}: expected ${exp.status} ${JSON.stringify(exp.body)}\n` +
        `     got ${got.status} ${got.text}`);
      failed++;
    } else {
      console.log(`PASS ${name}`);
    }
    if (doc) {
      const missing = docShows(doc, example);
      if (missing.length) {
        console.log(`FAIL ${name} in SHAPES.md: not shown verbatim: ${missing.join(', ')}`);
        failed++;
      } else {
        console.log(`PASS ${name} in SHAPES.md`);
      }
    }
  }
  agent.destroy();
  process.exit(failed ? 1 : 0);
}

main().catch((e) => { console.log(`FAIL examples.js: ${e.stack}`); process.exit(1); });
