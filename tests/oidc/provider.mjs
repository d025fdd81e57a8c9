// A real OpenID provider for vigil's device-flow tests: panva's oidc-provider
// (pinned in package.json, installed by install.sh) on plain HTTP on loopback,
// with the Device Authorization Grant (RFC 8628) enabled, an in-memory account
// store, and its own login/consent pages, so that a test approves a device
// code the way a person would (tests/oidc/approve.mjs drives them).
//
//   node tests/oidc/provider.mjs [--port N] [--device-code-ttl S] [--interval S]
//                                [--jwks honest|wrong-key] [--min-poll-gap S]
//                                [--delay PATH=MS] [--dir DIR]
//
// Prints "OIDC_ISSUER=http://127.0.0.1:PORT" once it listens (port 0 or no
// --port: any free port). Logs requests to stderr. --dir only names the
// directory provider.sh runs it for (so `stop` finds the right process).
// Normally started through tests/oidc/provider.sh.
//
// Accounts (login name = preferred_username):
//   vgl-alice  password "vgl-alice-pw"   sub "00u-alice-1001" (opaque, as most providers issue)
//   vgl-bob    password "vgl-bob-pw"     sub "00u-bob-1002"
//   alice      password "alice-pw"       sub "vgl-alice" (a provider whose subject is the Unix name)
//   one-time code "424242" for all (OIDC_TEST_OTP overrides it).
// A login with a correct one-time code gets amr ["pwd","otp"] and acr
// "urn:vigil:acr:mfa"; without one, amr ["pwd"] and acr "urn:vigil:acr:pwd".
//
// Clients (all device-flow only):
//   vigil-rs      public, ID tokens signed RS256
//   vigil-es      public, ID tokens signed ES256
//   vigil-secret  confidential (client_secret_post, secret "vigil-test-secret"), RS256
//
// --jwks wrong-key: /jwks publishes freshly generated keys under the kids the
// provider signs with, so every ID token it issues fails signature checks.
// --device-code-ttl: lifetime of a device code in seconds (default 600).
// --interval: the polling interval announced to clients (default 1; RFC 8628
// says 5 when absent, which would make every test wait 5 s per poll).
// --min-poll-gap: answer a token request that comes less than S seconds after
// the previous one with slow_down (RFC 8628 §3.5), as providers that enforce
// their rate do; with --interval 1 and a gap of 2, a client that honours
// slow_down (+5 s) polls three times for a code approved at once.
// --delay PATH=MS: hold every request for PATH (e.g. /device/auth, /jwks)
// MS milliseconds before the provider handles it, as a slow or overloaded
// provider would (the request is logged when it arrives). Repeatable.
import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider from 'oidc-provider';

function parseArgs(argv) {
    const opts = { port: 0, deviceCodeTtl: 600, interval: 1, jwks: 'honest', minPollGap: 0, delays: new Map(), dir: '' };
    for (let i = 0; i < argv.length; i += 2) {
        const [flag, value] = [argv[i], argv[i + 1]];
        if (value === undefined) throw new Error(`${flag} needs a value`);
        if (flag === '--port') opts.port = Number(value);
        else if (flag === '--device-code-ttl') opts.deviceCodeTtl = Number(value);
        else if (flag === '--interval') opts.interval = Number(value);
        else if (flag === '--jwks' && ['honest', 'wrong-key'].includes(value)) opts.jwks = value;
        else if (flag === '--min-poll-gap') opts.minPollGap = Number(value);
        else if (flag === '--delay' && /^\/\S*=\d+$/.test(value)) {
            const eq = value.lastIndexOf('=');
            opts.delays.set(value.slice(0, eq), Number(value.slice(eq + 1)));
        }
        else if (flag === '--dir') opts.dir = value;
        else throw new Error(`unknown option ${flag} ${value}`);
    }
    return opts;
}

const OTP = process.env.OIDC_TEST_OTP || '424242';

const ACCOUNTS = new Map([
    ['vgl-alice', { sub: '00u-alice-1001', password: 'vgl-alice-pw', name: 'Alice Example' }],
    ['vgl-bob', { sub: '00u-bob-1002', password: 'vgl-bob-pw', name: 'Bob Example' }],
    ['alice', { sub: 'vgl-alice', password: 'alice-pw', name: 'Alice Example' }],
]);

function accountBySub(sub) {
    for (const [username, a] of ACCOUNTS) if (a.sub === sub) return { username, ...a };
    return undefined;
}

async function findAccount(ctx, sub) {
    const a = accountBySub(sub);
    if (!a) return undefined;
    return {
        accountId: sub,
        async claims() {
            return { sub, preferred_username: a.username, name: a.name };
        },
    };
}

// Signing keys, made fresh at every start. kid is the JWK thumbprint.
function signingKey(type, alg) {
    const { privateKey } = type === 'rsa'
        ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
        : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = privateKey.export({ format: 'jwk' });
    const kid = crypto.createHash('sha256').update(JSON.stringify(jwk)).digest('base64url').slice(0, 16);
    return { ...jwk, kid, alg, use: 'sig' };
}

// The public half of a fresh key of the same type, under the given kid.
function impostorOf(key) {
    const fresh = signingKey(key.kty === 'RSA' ? 'rsa' : 'ec', key.alg);
    const pub = crypto.createPublicKey({ key: fresh, format: 'jwk' }).export({ format: 'jwk' });
    return { ...pub, kid: key.kid, alg: key.alg, use: 'sig' };
}

function deviceClient(clientId, alg, secret) {
    return {
        client_id: clientId,
        ...(secret ? { client_secret: secret, token_endpoint_auth_method: 'client_secret_post' }
            : { token_endpoint_auth_method: 'none' }),
        grant_types: ['urn:ietf:params:oauth:grant-type:device_code'],
        response_types: [],
        redirect_uris: [],
        id_token_signed_response_alg: alg,
        require_auth_time: true,
    };
}

function configuration(opts, keys) {
    return {
        clients: [
            deviceClient('vigil-rs', 'RS256'),
            deviceClient('vigil-es', 'ES256'),
            deviceClient('vigil-secret', 'RS256', 'vigil-test-secret'),
        ],
        jwks: { keys },
        findAccount,
        // auth_time, acr and amr ride along with the openid scope, so every
        // ID token carries them; preferred_username comes with profile.
        claims: {
            openid: ['sub', 'auth_time', 'acr', 'amr'],
            profile: ['preferred_username', 'name'],
        },
        // Put the profile claims into the ID token even though an access
        // token is issued too: vigil reads the user from the ID token.
        conformIdTokenClaims: false,
        cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
        features: {
            devInteractions: { enabled: false },  // ours below set amr/acr
            deviceFlow: { enabled: true },
            revocation: { enabled: false },
        },
        ttl: {
            AccessToken: 600,
            DeviceCode: opts.deviceCodeTtl,
            Grant: 600,
            IdToken: 600,
            Interaction: 600,
            Session: 600,
        },
    };
}

// --- the login and consent pages (interactions) -----------------------------

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res, status, title, body) {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`<!DOCTYPE html><html><head><title>${esc(title)}</title></head><body><h1>${esc(title)}</h1>${body}</body></html>`);
}

function loginForm(uid, message) {
    return `${message ? `<p class="error">${esc(message)}</p>` : ''}
<form id="login" method="post" action="/interaction/${esc(uid)}/login">
<input type="text" name="login" placeholder="user name"/>
<input type="password" name="password" placeholder="password"/>
<input type="text" name="otp" placeholder="one-time code (optional)"/>
<button type="submit">Sign in</button>
</form>`;
}

function consentForm(uid, clientId) {
    return `<p>${esc(clientId)} asks to confirm who you are.</p>
<form id="consent" method="post" action="/interaction/${esc(uid)}/confirm"><button type="submit">Allow</button></form>
<form id="abort" method="post" action="/interaction/${esc(uid)}/abort"><button type="submit">Deny</button></form>`;
}

async function readForm(req) {
    let body = '';
    for await (const chunk of req) {
        body += chunk;
        if (body.length > 16384) throw new Error('form too large');
    }
    return Object.fromEntries(new URLSearchParams(body));
}

async function showInteraction(provider, req, res, uid) {
    const { prompt, params } = await provider.interactionDetails(req, res);
    if (prompt.name === 'login') return page(res, 200, 'Sign-in', loginForm(uid));
    if (prompt.name === 'consent') return page(res, 200, 'Authorize', consentForm(uid, params.client_id));
    return page(res, 501, 'Not implemented', `<p>prompt ${esc(prompt.name)}</p>`);
}

async function submitLogin(provider, req, res, uid) {
    const form = await readForm(req);
    const account = ACCOUNTS.get(form.login);
    if (!account || form.password !== account.password) {
        return page(res, 200, 'Sign-in', loginForm(uid, 'Invalid user name or password'));
    }
    if (form.otp && form.otp !== OTP) {
        return page(res, 200, 'Sign-in', loginForm(uid, 'Invalid one-time code'));
    }
    const mfa = Boolean(form.otp);
    const login = {
        accountId: account.sub,
        amr: mfa ? ['pwd', 'otp'] : ['pwd'],
        acr: mfa ? 'urn:vigil:acr:mfa' : 'urn:vigil:acr:pwd',
        ts: Math.floor(Date.now() / 1000),
    };
    return provider.interactionFinished(req, res, { login }, { mergeWithLastSubmission: false });
}

async function submitConsent(provider, req, res) {
    const { prompt: { details }, grantId, session, params } = await provider.interactionDetails(req, res);
    const grant = grantId
        ? await provider.Grant.find(grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
    if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
    const consent = { grantId: await grant.save() };
    return provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
}

function abort(provider, req, res) {
    const result = { error: 'access_denied', error_description: 'End-User denied the request' };
    return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

// Our routes, or undefined to hand the request to the provider.
function route(req) {
    const path = new URL(req.url, 'http://x').pathname;
    const m = path.match(/^\/interaction\/([\w-]+)(?:\/(login|confirm|abort))?$/);
    if (path === '/jwks' && req.method === 'GET') return { jwks: true };
    if (path === '/token' && req.method === 'POST') return { token: true };
    if (!m) return undefined;
    return { uid: m[1], action: m[2] || 'show' };
}

let lastTokenRequest = 0;

// With --min-poll-gap: true when this token request came too soon.
function tooSoon(opts) {
    const now = Date.now();
    const soon = now - lastTokenRequest < opts.minPollGap * 1000;
    lastTokenRequest = now;
    return soon;
}

async function handle(provider, opts, publicJwks, req, res) {
    const delay = opts.delays.get(new URL(req.url, 'http://x').pathname);
    if (delay) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        log('delayed', req.method, new URL(req.url, 'http://x').pathname, `${delay} ms`);
    }
    const r = route(req);
    if (r?.jwks && opts.jwks === 'wrong-key') {
        res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
        return res.end(JSON.stringify(publicJwks));
    }
    if (r?.token && opts.minPollGap > 0 && tooSoon(opts)) {
        log('answered slow_down');
        res.writeHead(400, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        return res.end(JSON.stringify({ error: 'slow_down', error_description: 'polling too fast' }));
    }
    if (!r || r.jwks || r.token) return provider.callback()(req, res);
    if (r.action === 'show' && req.method === 'GET') return showInteraction(provider, req, res, r.uid);
    if (req.method !== 'POST') return page(res, 405, 'Method not allowed', '');
    if (r.action === 'login') return submitLogin(provider, req, res, r.uid);
    if (r.action === 'confirm') return submitConsent(provider, req, res);
    return abort(provider, req, res);
}

function log(...args) {
    process.stderr.write(`oidc-provider: ${args.join(' ')}\n`);
}

async function main() {
    const opts = parseArgs(process.argv.slice(2));
    const keys = [signingKey('rsa', 'RS256'), signingKey('ec', 'ES256')];
    const impostors = { keys: keys.map(impostorOf) };
    let provider;
    const server = http.createServer((req, res) => {
        log(req.method, req.url.replace(/([?&](user_code|code)=)[^&]*/g, '$1...'));
        handle(provider, opts, impostors, req, res).catch((e) => {
            log('error:', e.message);
            if (!res.headersSent) page(res, 500, 'Error', `<p>${esc(e.message)}</p>`);
            else res.end();
        });
    });
    await new Promise((resolve) => server.listen(opts.port, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${server.address().port}`;
    provider = new Provider(issuer, configuration(opts, keys));
    provider.on('device_authorization.success', (ctx, body) => {
        body.interval = opts.interval;
    });
    provider.on('server_error', (ctx, e) => log('server_error:', e.stack));
    provider.on('grant.error', (ctx, e) => {
        if (e.error !== 'authorization_pending') log('grant.error:', e.message);
    });
    // Nothing to flush: all state is in memory and meant to die with us.
    for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
    process.stdout.write(`OIDC_ISSUER=${issuer}\n`);
}

main().catch((e) => {
    log('fatal:', e.stack || e.message);
    process.exit(1);
});
