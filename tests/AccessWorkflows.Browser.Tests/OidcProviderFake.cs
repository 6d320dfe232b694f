using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using AccessWorkflows.Requests;
using AccessWorkflows.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AccessWorkflows.Browser.Tests;

/// <summary>
/// A strict local OpenID Connect provider with one registered public client (the page), as strict as a real one on
/// what the page sends: discovery, JWKS, an authorization endpoint that refuses an unregistered client or redirect URI
/// (without redirecting, RFC 6749 4.1.2.1) and requires <c>state</c>, <c>nonce</c>, <c>openid</c> and an S256
/// <c>code_challenge</c> (RFC 7636 4.3); a login form where the person types their email; a token endpoint that takes
/// only form posts, checks client, redirect URI and <c>code_verifier</c> against the challenge (RFC 7636 4.6), and
/// honours a code once (RFC 6749 4.1.2, a second use is <c>invalid_grant</c>) and for a minute only; RS256 ID and access
/// tokens the server validates with its ordinary Jwt validation; CORS for the registered origin only; end session.
/// </summary>
public sealed partial class OidcProviderFake : IAsyncDisposable
{
    public const string ClientId = "accessworkflows-console";
    public const string Audience = "api://access-workflows";

    private static readonly TimeSpan CodeLifetime = TimeSpan.FromMinutes(1);

    private readonly RsaSecurityKey _key = new(RSA.Create(2048)) { KeyId = "console-test-key" };
    private readonly JsonWebTokenHandler _tokens = new();
    private readonly ConcurrentDictionary<string, Authorization> _pendingLogins = new();
    private readonly ConcurrentDictionary<string, Authorization> _codes = new();
    private readonly ConcurrentQueue<string> _refusals = new();
    private LoopbackServer _server = null!;

    private OidcProviderFake()
    {
    }

    /// <summary>The issuer, e.g. http://127.0.0.1:41234 (no trailing slash, as in the discovery document).</summary>
    public string Issuer => _server.BaseAddress.ToString().TrimEnd('/');

    /// <summary>The page's address, the only redirect URI of the client; set once the server listens.</summary>
    public Uri RedirectUri { get; set; } = null!;

    /// <summary>How long access tokens live (<c>expires_in</c>).</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Why the token endpoint refused each refused exchange, in order (<c>error: description</c>).</summary>
    public IReadOnlyCollection<string> Refusals => _refusals;

    /// <summary>How many codes were exchanged for tokens.</summary>
    public int TokensIssued => _issued;

    /// <summary>How many times the end-session endpoint sent someone back.</summary>
    public int SignOuts => _signOuts;

    private int _issued;
    private int _signOuts;

    public static async Task<OidcProviderFake> StartAsync()
    {
        var fake = new OidcProviderFake();
        fake._server = await LoopbackServer.StartAsync(fake.Map);
        return fake;
    }

    /// <summary>An access token for <paramref name="email"/> as the token endpoint issues it, for test set-up through the API.</summary>
    public string AccessTokenFor(string email) => Sign(new Dictionary<string, object> { ["email"] = email, ["sub"] = Subject(email), ["scp"] = "openid email profile", ["azp"] = ClientId }, Audience, AccessTokenLifetime);

    private void Map(WebApplication app)
    {
        app.MapGet("/.well-known/openid-configuration", (HttpContext http) =>
        {
            AllowPageOrigin(http);
            return Results.Json(new Dictionary<string, object>
            {
                ["issuer"] = Issuer,
                ["authorization_endpoint"] = $"{Issuer}/authorize",
                ["token_endpoint"] = $"{Issuer}/token",
                ["jwks_uri"] = $"{Issuer}/keys",
                ["end_session_endpoint"] = $"{Issuer}/logout",
                ["response_types_supported"] = new[] { "code" },
                ["grant_types_supported"] = new[] { "authorization_code" },
                ["code_challenge_methods_supported"] = new[] { "S256" },
                ["subject_types_supported"] = new[] { "public" },
                ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
                ["token_endpoint_auth_methods_supported"] = new[] { "none" },
                ["scopes_supported"] = new[] { "openid", "email", "profile" },
            });
        });
        app.MapGet("/keys", (HttpContext http) =>
        {
            AllowPageOrigin(http);
            var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(_key.Rsa.ExportParameters(false)) { KeyId = _key.KeyId });
            return Results.Json(new { keys = new[] { new { kty = jwk.Kty, kid = jwk.Kid, use = "sig", alg = "RS256", n = jwk.N, e = jwk.E } } });
        });
        app.MapGet("/authorize", (Func<HttpContext, IResult>)Authorize);
        app.MapPost("/authorize/login", (Func<HttpContext, Task<IResult>>)LoginAsync);
        app.MapPost("/token", (Func<HttpContext, Task<IResult>>)TokenAsync);
        app.MapGet("/logout", (HttpContext http) =>
        {
            var back = http.Request.Query["post_logout_redirect_uri"].ToString();
            if (http.Request.Query["client_id"] != ClientId || back != RedirectUri.ToString())
            {
                return Results.Text("post_logout_redirect_uri is not registered for this client", statusCode: 400);
            }

            Interlocked.Increment(ref _signOuts);
            return Results.Redirect(back);
        });
    }

    private IResult Authorize(HttpContext http)
    {
        var q = http.Request.Query;

        // An unknown client or redirect URI must not be redirected to: the provider shows the error itself.
        if (q["client_id"] != ClientId)
        {
            return Results.Text("unknown client_id", statusCode: 400);
        }

        if (q["redirect_uri"] != RedirectUri.ToString())
        {
            return Results.Text($"redirect_uri '{q["redirect_uri"]}' is not registered for {ClientId}", statusCode: 400);
        }

        var state = q["state"].ToString();
        string? problem = null;
        if (q["response_type"] != "code")
        {
            problem = "response_type must be code";
        }
        else if (!q["scope"].ToString().Split(' ').Contains("openid"))
        {
            problem = "scope must include openid";
        }
        else if (state.Length < 16)
        {
            problem = "state is required (at least 16 characters of randomness)";
        }
        else if (q["nonce"].ToString().Length < 16)
        {
            problem = "nonce is required (at least 16 characters of randomness)";
        }
        else if (q["code_challenge_method"] != "S256")
        {
            problem = "code_challenge_method must be S256";
        }
        else if (!S256Challenge().IsMatch(q["code_challenge"].ToString()))
        {
            problem = "code_challenge must be the base64url SHA-256 of the verifier (43 characters)";
        }

        if (problem is not null)
        {
            return Results.Redirect($"{RedirectUri}?error=invalid_request&error_description={Uri.EscapeDataString(problem)}&state={Uri.EscapeDataString(state)}");
        }

        var login = NewSecret();
        _pendingLogins[login] = new Authorization(q["redirect_uri"]!, state, q["nonce"]!, q["code_challenge"]!, q["scope"]!, "", DateTimeOffset.UtcNow);
        var html = $$"""
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test identity provider</title></head>
            <body><h1>Test identity provider</h1>
            <form method="post" action="/authorize/login">
              <input type="hidden" name="login" value="{{login}}">
              <label for="email">Email</label> <input id="email" name="email" type="email" required>
              <button type="submit">Continue</button>
            </form></body></html>
            """;
        return Results.Content(html, "text/html; charset=utf-8");
    }

    private async Task<IResult> LoginAsync(HttpContext http)
    {
        var form = await http.Request.ReadFormAsync();
        if (!_pendingLogins.TryRemove(form["login"].ToString(), out var pending) || !Grammar.IsEmail(form["email"].ToString()))
        {
            return Results.Text("unknown login or invalid email", statusCode: 400);
        }

        var code = NewSecret();
        _codes[code] = pending with { Email = form["email"].ToString().ToLowerInvariant(), At = DateTimeOffset.UtcNow };
        return Results.Redirect($"{pending.RedirectUri}?code={code}&state={Uri.EscapeDataString(pending.State)}&iss={Uri.EscapeDataString(Issuer)}");
    }

    private async Task<IResult> TokenAsync(HttpContext http)
    {
        AllowPageOrigin(http);
        http.Response.Headers.CacheControl = "no-store";
        if (!http.Request.HasFormContentType)
        {
            return Refuse("invalid_request", "the token request must be application/x-www-form-urlencoded");
        }

        var form = await http.Request.ReadFormAsync();
        if (form["grant_type"] != "authorization_code")
        {
            return Refuse("unsupported_grant_type", "only authorization_code");
        }

        if (form["client_id"] != ClientId)
        {
            return Refuse("invalid_client", "unknown client", HttpStatusCode.Unauthorized);
        }

        // The code is spent by the first attempt, whatever its outcome: a stolen code is worth one try.
        if (!_codes.TryRemove(form["code"].ToString(), out var grant))
        {
            return Refuse("invalid_grant", "the code is unknown or was already used");
        }

        if (DateTimeOffset.UtcNow - grant.At > CodeLifetime)
        {
            return Refuse("invalid_grant", "the code has expired");
        }

        if (form["redirect_uri"] != grant.RedirectUri)
        {
            return Refuse("invalid_grant", "redirect_uri differs from the authorization request");
        }

        var verifier = form["code_verifier"].ToString();
        if (!Verifier().IsMatch(verifier))
        {
            return Refuse("invalid_request", "code_verifier must be 43-128 unreserved characters");
        }

        var challenge = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(challenge), Encoding.ASCII.GetBytes(grant.Challenge)))
        {
            return Refuse("invalid_grant", "code_verifier does not match the code_challenge");
        }

        Interlocked.Increment(ref _issued);
        var idToken = Sign(new Dictionary<string, object> { ["email"] = grant.Email, ["sub"] = Subject(grant.Email), ["nonce"] = grant.Nonce }, ClientId, TimeSpan.FromMinutes(10));
        return Results.Json(new Dictionary<string, object>
        {
            ["access_token"] = AccessTokenFor(grant.Email),
            ["token_type"] = "Bearer",
            ["expires_in"] = (int)AccessTokenLifetime.TotalSeconds,
            ["id_token"] = idToken,
            ["scope"] = grant.Scope,
        });
    }

    private IResult Refuse(string error, string description, HttpStatusCode status = HttpStatusCode.BadRequest)
    {
        _refusals.Enqueue($"{error}: {description}");
        return Results.Json(new { error, error_description = description }, statusCode: (int)status);
    }

    /// <summary>A browser reads a cross-origin answer only with this header; only the page's origin gets it.</summary>
    private void AllowPageOrigin(HttpContext http)
    {
        var origin = http.Request.Headers.Origin.ToString();
        if (RedirectUri is not null && origin == RedirectUri.GetLeftPart(UriPartial.Authority))
        {
            http.Response.Headers.AccessControlAllowOrigin = origin;
            http.Response.Headers.Vary = "Origin";
        }
    }

    private string Sign(Dictionary<string, object> claims, string audience, TimeSpan lifetime)
    {
        var now = DateTime.UtcNow;
        return _tokens.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = audience,
            Claims = claims,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + lifetime,
            SigningCredentials = new SigningCredentials(_key, SecurityAlgorithms.RsaSha256),
        });
    }

    private static string Subject(string email) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(email)))[..24];

    private static string NewSecret() => Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));

    [GeneratedRegex("^[A-Za-z0-9_-]{43}$")]
    private static partial Regex S256Challenge();

    [GeneratedRegex(@"^[A-Za-z0-9\-._~]{43,128}$")]
    private static partial Regex Verifier();

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private sealed record Authorization(string RedirectUri, string State, string Nonce, string Challenge, string Scope, string Email, DateTimeOffset At);
}
