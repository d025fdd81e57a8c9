// Plays the person with the phone: opens a device flow's verification URL on
// tests/oidc/provider.mjs and answers its pages with plain HTTP and a cookie
// jar, as a browser would (no shortcuts into the provider's state).
//
//   node tests/oidc/approve.mjs URL --as USER [--password PW] [--otp CODE | --no-mfa] [--deny]
//
// URL is verification_uri_complete (…/device?user_code=XXXX-XXXX), or
// verification_uri plus --user-code CODE. Steps: the user-code page (xsrf
// form) → the "Confirm Device" page → Continue (or Abort with --deny) → the
// provider's login page (user, password, one-time code) → consent → "Sign-in
// Success". Without --password, the test account's password is USER-pw; the
// one-time code defaults to 424242 (provider.mjs), --no-mfa leaves it empty.
//
// Prints "approved as USER (mfa|no mfa)" or "denied", exits 0; anything
// unexpected (wrong password, code already used or expired) exits 1.

function parseArgs(argv) {
    const o = { url: undefined, as: undefined, password: undefined, otp: '424242', deny: false, userCode: undefined };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === '--deny') o.deny = true;
        else if (a === '--no-mfa') o.otp = '';
        else if (['--as', '--password', '--otp', '--user-code'].includes(a) && i + 1 < argv.length) {
            const key = { '--as': 'as', '--password': 'password', '--otp': 'otp', '--user-code': 'userCode' }[a];
            o[key] = argv[++i];
        } else if (!a.startsWith('--') && !o.url) o.url = a;
        else throw new Error(`unknown argument ${a}`);
    }
    if (!o.url || (!o.as && !o.deny)) throw new Error('usage: approve.mjs URL --as USER [--password PW] [--otp CODE | --no-mfa] [--deny]');
    if (o.password === undefined && o.as) o.password = `${o.as}-pw`;
    return o;
}

// --- a minimal browser: cookies, redirects, forms ---------------------------

class Browser {
    constructor() { this.cookies = new Map(); }

    remember(res) {
        for (const line of res.headers.getSetCookie()) {
            const [pair, ...attrs] = line.split(';');
            const eq = pair.indexOf('=');
            const name = pair.slice(0, eq).trim();
            const value = pair.slice(eq + 1).trim();
            const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=.*1970/i.test(a));
            if (gone || value === '') this.cookies.delete(name);
            else this.cookies.set(name, value);
        }
    }

    header() { return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '); }

    // Fetches url (GET, or POST of a form), following redirects; returns the
    // final { url, status, html }.
    async open(url, form) {
        let method = form ? 'POST' : 'GET';
        let body = form ? new URLSearchParams(form).toString() : undefined;
        for (let hops = 0; hops < 10; hops++) {
            const headers = { cookie: this.header() };
            if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
            const res = await fetch(url, { method, headers, body, redirect: 'manual' });
            this.remember(res);
            const location = res.headers.get('location');
            if (res.status >= 300 && res.status < 400 && location) {
                url = new URL(location, url).toString();
                method = 'GET';
                body = undefined;
                continue;
            }
            return { url, status: res.status, html: await res.text() };
        }
        throw new Error('too many redirects');
    }
}

const unescape = (s) => s.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)))
    .replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

function attr(tag, name) {
    const m = tag.match(new RegExp(`\\b${name}="([^"]*)"`));
    return m ? unescape(m[1]) : undefined;
}

// Every <form> on the page: { id, action, fields } (fields: the inputs' names
// and values as the page filled them in).
function forms(page) {
    return [...page.html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)].map(([, tag, inner]) => {
        const fields = {};
        for (const [, input] of inner.matchAll(/<input\b([^>]*)>/g)) {
            const name = attr(input, 'name');
            if (name) fields[name] = attr(input, 'value') ?? '';
        }
        return { id: attr(tag, 'id'), action: new URL(attr(tag, 'action') || page.url, page.url).toString(), fields };
    });
}

function describe(page) {
    const text = page.html.replace(/<style[\s\S]*?<\/style>|<script[\s\S]*?<\/script>/g, '')
        .replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
    return `HTTP ${page.status} at ${new URL(page.url).pathname}: ${text.slice(0, 300)}`;
}

// --- the person --------------------------------------------------------------

// The next form to submit on this page, and with what; undefined when done.
function nextStep(page, o) {
    // The provider's own refusals ("code incorrect", "request was
    // interrupted") come back on the user-code page: stop there.
    if (page.html.includes('class="red"')) return undefined;
    const all = forms(page);
    const byId = (id) => all.find((f) => f.id === id);
    const confirm = byId('op.deviceConfirmForm');
    if (confirm) return { form: confirm, fill: o.deny ? { abort: 'yes' } : {} };
    const login = byId('login');
    if (login) {
        if (page.html.includes('class="error"')) return undefined;
        return { form: login, fill: { login: o.as, password: o.password, otp: o.otp } };
    }
    const consent = byId('consent');
    if (consent) return { form: consent, fill: {} };
    // The user-code page: the auto-submitting form_post page, or the input form.
    const code = all.find((f) => 'xsrf' in f.fields && 'user_code' in f.fields);
    if (code) return { form: code, fill: code.fields.user_code ? {} : { user_code: o.userCode || '' } };
    return undefined;
}

async function main() {
    const o = parseArgs(process.argv.slice(2));
    const browser = new Browser();
    let page = await browser.open(o.url);
    for (let steps = 0; steps < 12; steps++) {
        const step = nextStep(page, o);
        if (!step) break;
        page = await browser.open(step.form.action, { ...step.form.fields, ...step.fill });
    }
    if (!o.deny && /Sign-in Success/.test(page.html)) {
        console.log(`approved as ${o.as} (${o.otp ? 'mfa' : 'no mfa'})`);
        return 0;
    }
    if (o.deny && /request was interrupted/.test(page.html)) {
        console.log('denied');
        return 0;
    }
    console.error(`approve: unexpected page: ${describe(page)}`);
    return 1;
}

main().then((rc) => process.exit(rc), (e) => {
    console.error(`approve: ${e.message}`);
    process.exit(1);
});
