// A real OpenID Connect provider for the single sign-on tests: panva's certified
// oidc-provider with one confidential client, a few accounts with `groups`, a sign-in
// form (the only interaction: it also grants the scopes asked for), refresh tokens,
// and, on the same loopback port, an admin API for the tests:
//
//   POST /admin/reset                  for the next test: no redirect URI, no account disabled
//   POST /admin/redirect-uris          (form `uri`) the client may be sent back to this URI too
//   POST /admin/disable/<account>      the account's next sign-in or refresh is refused
//
// One process serves every test of a pytest worker: starting Node.js and oidc-provider
// cost about 0.5 s of CPU, each test's own provider is a new Provider object in it.
// oidc-provider keeps sessions, codes and grants in one store for all of them: an
// earlier test's stay there, out of reach, since no later test's browser has its cookies.
//
//   node idp.mjs <port> <client secret>
//
// Prints `ready <issuer>` on stdout once it listens.
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import { parse } from 'node:querystring';
import Provider from 'oidc-provider';

const [port, clientSecret] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

// Every account's password is `password`.
const ACCOUNTS = {
  alice: { email: 'alice@idp.example', name: 'Alice IdP', groups: ['agent', 'queue:support'] },
  sam: { email: 'sam@idp.example', name: 'Sam IdP', groups: ['supervisor', 'agent', 'queue:support', 'queue:sales'] },
  root: { email: 'root@idp.example', name: 'Root IdP', groups: ['admin', 'staff'] },
  mapped: { email: 'mapped@idp.example', name: 'Mapped IdP', groups: ['sb-admins'] },
  nobody: { email: 'nobody@idp.example', name: 'Nobody IdP', groups: ['staff'] },
};
const disabled = new Set();
const redirectUris = [];

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key', use: 'sig', alg: 'RS256' };

function newProvider() {
  return new Provider(issuer, {
    clients: [
      {
        client_id: 'switchboard',
        client_secret: clientSecret,
        redirect_uris: [...redirectUris],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: ['switchboard-test-idp-cookie-key'] },
    scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
    claims: { email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    // The claims of the scopes go into the ID token too, as Keycloak's and Entra's do.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    // A refresh token with every sign-in, as Keycloak gives one (oidc-provider, to the letter of the
    // spec, drops `offline_access` unless the request also says prompt=consent).
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, id) {
      const account = ACCOUNTS[id];
      if (!account || disabled.has(id)) return undefined; // a disabled account's refresh is refused
      return {
        accountId: id,
        async claims() {
          return { sub: id, email: account.email, email_verified: true, name: account.name, groups: account.groups };
        },
      };
    },
  });
}

// None until a test gives a redirect URI (a client needs one).
let provider = null;
let callback = null;

function page(res, status, html) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Test IdP</title></head><body>${html}</body></html>`);
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return parse(body);
}

const form = (uid, message) => `<main><h1>Test IdP sign-in</h1>${message ? `<p role="alert">${message}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
<label>Username <input name="login" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in at the IdP</button></form></main>`;

async function interaction(req, res, uid, submitting) {
  const details = await provider.interactionDetails(req, res);
  if (!submitting) return page(res, 200, form(uid, ''));
  const { login, password } = await readForm(req);
  if (!ACCOUNTS[login] || disabled.has(login) || password !== 'password') {
    return page(res, 200, form(uid, 'Wrong username or password'));
  }
  const grant = new provider.Grant({ accountId: login, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { login: { accountId: login }, consent: { grantId } });
}

async function admin(req, res, path) {
  const disabling = path.match(/^\/admin\/disable\/([a-z]+)$/);
  if (disabling) {
    disabled.add(disabling[1]);
  } else if (path === '/admin/reset') {
    disabled.clear();
    redirectUris.length = 0;
    provider = callback = null;
  } else if (path === '/admin/redirect-uris') {
    redirectUris.push((await readForm(req)).uri);
    provider = newProvider();
    callback = provider.callback();
  } else {
    return page(res, 404, '<p>No such admin call</p>');
  }
  res.statusCode = 204;
  return res.end();
}

createServer(async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    if (req.method === 'POST' && url.pathname.startsWith('/admin/')) return await admin(req, res, url.pathname);
    if (provider === null) return page(res, 503, '<p>No redirect URI yet: POST /admin/redirect-uris</p>');
    const step = url.pathname.match(/^\/interaction\/([\w-]+)(\/login)?$/);
    if (step) return await interaction(req, res, step[1], req.method === 'POST' && step[2] === '/login');
    return callback(req, res);
  } catch (err) {
    return page(res, 500, `<p>${String(err.message).replace(/[<&]/g, '')}</p>`);
  }
}).listen(Number(port), '127.0.0.1', () => console.log(`ready ${issuer}`));
