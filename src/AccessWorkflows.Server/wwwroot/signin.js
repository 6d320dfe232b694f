// Sign-in on a Jwt server: OpenID Connect authorization code flow with PKCE (RFC 7636, S256) as a public client.
// The server says which authority, client id and scopes to use (GET /console/config); the page discovers the
// authority's endpoints, sends the person there with a fresh state, nonce and code challenge, exchanges the code it
// gets back for tokens, and sends the access token as a Bearer token to the API.
//
// Where the tokens live: sessionStorage, not localStorage and not a cookie. It is per tab and gone when the tab
// closes, it is never sent by the browser on its own (so no cross-site request can use it), and it survives the
// reloads and the redirect back from the authority that a variable in memory would not (memory alone would send the
// person to the authority on every reload). A script injected into this origin could read it, but such a script could
// as well call the API from the page while the token sits in memory; the page therefore loads no third-party script.
// The PKCE verifier, state and nonce wait in sessionStorage during the redirect, each used once and then removed.
'use strict';

const SignIn = (() => {
  const PENDING_KEY = 'accessworkflows.signin.pending';
  const SESSION_KEY = 'accessworkflows.signin.session';
  const PENDING_MAX_AGE_MS = 10 * 60 * 1000; // a sign-in left at the authority for longer is started again

  let config = null;   // { authority, clientId, scopes }
  let metadata = null; // the authority's discovery document
  let session = null;  // { accessToken, idToken, expiresAt (ms), email }

  class SignInError extends Error {}

  const redirectUri = () => location.origin + location.pathname;

  function base64Url(bytes) {
    let binary = '';
    for (const b of new Uint8Array(bytes)) binary += String.fromCharCode(b);
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  /** 32 random bytes as base64url: 43 characters, within RFC 7636's 43-128 for the verifier. */
  const randomValue = () => base64Url(crypto.getRandomValues(new Uint8Array(32)));

  async function s256(verifier) {
    return base64Url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  }

  function jwtPayload(jwt) {
    const part = (jwt || '').split('.')[1];
    if (!part) throw new SignInError('the identity provider sent no valid ID token');
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, c => c.charCodeAt(0))));
  }

  async function discover() {
    if (metadata) return metadata;
    let response;
    try {
      response = await fetch(config.authority + '/.well-known/openid-configuration', { headers: { Accept: 'application/json' } });
    } catch {
      throw new SignInError(`the identity provider ${config.authority} cannot be reached`);
    }
    if (!response.ok) throw new SignInError(`the identity provider's metadata answered ${response.status}`);
    const document = await response.json();
    // OpenID Connect Discovery 4.3: the issuer in the document must be the authority the metadata was asked of.
    if (document.issuer !== config.authority) throw new SignInError(`the identity provider calls itself ${document.issuer}, not ${config.authority}`);
    if (!document.authorization_endpoint || !document.token_endpoint) throw new SignInError('the identity provider lists no authorization or token endpoint');
    const methods = document.code_challenge_methods_supported;
    if (Array.isArray(methods) && !methods.includes('S256')) throw new SignInError('the identity provider does not support PKCE with S256');
    metadata = document;
    return metadata;
  }

  function readJson(storageKey) {
    try { return JSON.parse(sessionStorage.getItem(storageKey) || 'null'); } catch { return null; }
  }

  /** Sends the person to the authority. The page is left; nothing after this runs. */
  async function begin() {
    const meta = await discover();
    const pending = { state: randomValue(), nonce: randomValue(), verifier: randomValue(), returnHash: location.hash, at: Date.now() };
    sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
    const url = new URL(meta.authorization_endpoint);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: config.clientId,
      redirect_uri: redirectUri(),
      scope: config.scopes,
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await s256(pending.verifier),
      code_challenge_method: 'S256',
    }).toString();
    location.assign(url.toString());
  }

  /** The authority sent the person back with ?code=&state= (or ?error=): exchange the code, once. */
  async function completeCallback(params) {
    const pending = readJson(PENDING_KEY);
    // Used once: a reload or a second tab with the same answer finds nothing and must start over.
    sessionStorage.removeItem(PENDING_KEY);
    history.replaceState(null, '', location.pathname + (pending && pending.returnHash ? pending.returnHash : ''));

    if (!pending || params.get('state') !== pending.state || Date.now() - pending.at > PENDING_MAX_AGE_MS) {
      throw new SignInError('this answer does not belong to a sign-in started from this tab (state mismatch)');
    }
    if (params.has('error')) {
      throw new SignInError(`the identity provider refused: ${params.get('error')}${params.get('error_description') ? ' (' + params.get('error_description') + ')' : ''}`);
    }
    const meta = await discover();
    // RFC 9207: when the authority names itself in the answer, it must be the one the sign-in went to.
    if (params.has('iss') && params.get('iss') !== meta.issuer) throw new SignInError('the answer comes from another identity provider');

    let response;
    try {
      response = await fetch(meta.token_endpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: params.get('code') || '',
          redirect_uri: redirectUri(),
          client_id: config.clientId,
          code_verifier: pending.verifier,
        }),
      });
    } catch {
      throw new SignInError('the identity provider\'s token endpoint cannot be reached');
    }
    let tokens = null;
    try { tokens = await response.json(); } catch { /* the status says enough */ }
    if (!response.ok || !tokens || !tokens.access_token) {
      const reason = tokens && tokens.error ? tokens.error + (tokens.error_description ? ': ' + tokens.error_description : '') : `answer ${response.status}`;
      throw new SignInError(`the identity provider did not accept the code (${reason})`);
    }
    if (String(tokens.token_type).toLowerCase() !== 'bearer') throw new SignInError('the identity provider sent no bearer token');

    // The ID token comes straight from the token endpoint over TLS, so OpenID Connect Core 3.1.3.7 lets the client
    // rely on TLS rather than its signature; the claims that bind it to this sign-in are checked here. The access
    // token's signature, issuer, audience and lifetime are the server's to check on every call.
    const id = jwtPayload(tokens.id_token);
    const audiences = [].concat(id.aud);
    if (id.iss !== meta.issuer) throw new SignInError('the ID token comes from another issuer');
    if (!audiences.includes(config.clientId)) throw new SignInError('the ID token is for another client');
    if (id.nonce !== pending.nonce) throw new SignInError('the ID token answers another sign-in (nonce mismatch)');
    if (typeof id.exp !== 'number' || id.exp * 1000 <= Date.now()) throw new SignInError('the ID token has expired');

    const lifetime = Number(tokens.expires_in) > 0 ? Number(tokens.expires_in) * 1000 : id.exp * 1000 - Date.now();
    session = {
      accessToken: tokens.access_token,
      idToken: tokens.id_token,
      expiresAt: Date.now() + lifetime,
      email: id.email || id.preferred_username || id.upn || '',
    };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  }

  /**
   * Starts sign-in for the page: finishes a redirect back from the authority, or takes the tab's session. Resolves
   * to true when a token is at hand, false when the person must sign in; rejects with a SignInError to show.
   */
  async function start(serverConfig) {
    config = serverConfig;
    if (!config.clientId) throw new SignInError('this server has no client id for the page (AccessWorkflows:Auth:ClientId); use the aw command line with --token');
    const params = new URLSearchParams(location.search);
    if (params.has('state') && (params.has('code') || params.has('error'))) {
      await completeCallback(params);
      return true;
    }
    session = readJson(SESSION_KEY);
    if (session && !token()) return false;
    return !!session;
  }

  /** The access token, or null when there is none or it has expired (the API would refuse it soon anyway). */
  function token() {
    return session && session.expiresAt > Date.now() ? session.accessToken : null;
  }

  /** When the current token stops working (ms since the epoch), or null. */
  const expiresAt = () => (session ? session.expiresAt : null);

  /** Forgets the tokens of this tab; with an end-session endpoint, the authority's session ends too. */
  async function signOut() {
    const idToken = session && session.idToken;
    session = null;
    sessionStorage.removeItem(SESSION_KEY);
    let meta = null;
    try { meta = await discover(); } catch { /* the tab's tokens are gone; that is what matters */ }
    if (meta && meta.end_session_endpoint) {
      const url = new URL(meta.end_session_endpoint);
      url.search = new URLSearchParams({ client_id: config.clientId, post_logout_redirect_uri: redirectUri(), ...(idToken ? { id_token_hint: idToken } : {}) }).toString();
      location.assign(url.toString());
      return true;
    }
    return false;
  }

  /** Drops a token the server refused (401): the next call asks the person to sign in again. */
  function forget() {
    session = null;
    sessionStorage.removeItem(SESSION_KEY);
  }

  return { start, begin, token, expiresAt, signOut, forget, SignInError };
})();
