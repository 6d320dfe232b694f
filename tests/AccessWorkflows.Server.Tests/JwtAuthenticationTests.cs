using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Security.Cryptography;
using AccessWorkflows.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AccessWorkflows.Server.Tests;

/// <summary>
/// <c>Jwt</c> mode against a local OpenID provider (discovery document + JWKS on loopback): only tokens signed
/// by its key, for the audience, within their lifetime, with an email claim, authenticate.
/// </summary>
public sealed class JwtAuthenticationTests : IAsyncLifetime
{
    private const string Audience = "api://access-workflows";
    private readonly RsaSecurityKey _key = new(RSA.Create(2048)) { KeyId = "test-key-1" };
    private readonly RsaSecurityKey _rotatedKey = new(RSA.Create(2048)) { KeyId = "test-key-2" };
    private RsaSecurityKey _published = null!;
    private LoopbackServer _provider = null!;
    private ServerFactory _server = null!;

    private string Issuer => _provider.BaseAddress.ToString().TrimEnd('/');

    public async Task InitializeAsync()
    {
        _published = _key;
        _provider = await LoopbackServer.StartAsync(app =>
        {
            app.MapGet("/.well-known/openid-configuration", (HttpContext http) => Results.Json(new Dictionary<string, object>
            {
                ["issuer"] = Issuer,
                ["jwks_uri"] = $"{Issuer}/keys",
                ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
            }));
            app.MapGet("/keys", () =>
            {
                var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(_published.Rsa.ExportParameters(false)) { KeyId = _published.KeyId });
                return Results.Json(new { keys = new[] { new { kty = jwk.Kty, kid = jwk.Kid, use = "sig", alg = "RS256", n = jwk.N, e = jwk.E } } });
            });
        });
        _server = new ServerFactory(settings: new Dictionary<string, string?>
        {
            ["AccessWorkflows:Auth:Mode"] = "Jwt",
            ["AccessWorkflows:Auth:Authority"] = Issuer,
            ["AccessWorkflows:Auth:Audience"] = Audience,
            ["AccessWorkflows:Auth:RequireHttpsMetadata"] = "false",
        });
    }

    public async Task DisposeAsync()
    {
        _server.Dispose();
        await _provider.DisposeAsync();
    }

    [Fact]
    public async Task A_valid_token_authenticates_with_its_email_claim()
    {
        var created = await Api.CreateAsync(Client(Token()), Api.PolicyRequest());
        Assert.Equal("yara@example.com", created.Requester);
    }

    [Fact]
    public async Task A_token_signed_with_a_rotated_key_is_accepted_after_the_metadata_is_fetched_again()
    {
        await Api.CreateAsync(Client(Token()), Api.PolicyRequest());

        // The provider rolls its key after the server cached the metadata: the new key id makes it fetch again.
        _published = _rotatedKey;
        var created = await Api.CreateAsync(Client(Token(key: _rotatedKey)), Api.PolicyRequest());
        Assert.Equal("yara@example.com", created.Requester);
    }

    [Fact]
    public async Task The_page_configuration_names_the_authority_and_is_read_without_a_token()
    {
        var answer = await _server.CreateClient().GetAsync("/console/config");
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("no-store", answer.Headers.CacheControl?.ToString());
        var config = await answer.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        Assert.Equal("Jwt", config.GetProperty("mode").GetString());
        Assert.Equal(Issuer, config.GetProperty("authority").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, config.GetProperty("clientId").ValueKind); // not configured here
        Assert.Equal("openid email profile", config.GetProperty("scopes").GetString());

        // Everything else of the page still needs a token.
        Assert.Equal(HttpStatusCode.Unauthorized, (await _server.CreateClient().GetAsync("/console/me")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _server.CreateClient().PostAsync("/console/events/ticket", null)).StatusCode);
    }

    [Fact]
    public async Task The_dev_header_is_not_trusted_in_jwt_mode()
    {
        var client = _server.CreateClient();
        client.DefaultRequestHeaders.Add("X-Dev-User", "secops@example.com");
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/requests")).StatusCode);
    }

    public static TheoryData<string> BadTokens => new() { "expired", "wrong-audience", "wrong-issuer", "unknown-key", "no-email", "tampered", "unsigned" };

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task Bad_tokens_are_401(string kind)
    {
        var token = kind switch
        {
            "expired" => Token(expires: DateTime.UtcNow.AddMinutes(-10)),
            "wrong-audience" => Token(audience: "api://someone-else"),
            "wrong-issuer" => Token(issuer: "https://login.evil.example"),
            "unknown-key" => Token(key: new RsaSecurityKey(RSA.Create(2048)) { KeyId = "other" }),
            "no-email" => Token(email: null),
            "tampered" => Tamper(Token()),
            _ => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor { Issuer = Issuer, Audience = Audience, Claims = new Dictionary<string, object> { ["email"] = "yara@example.com" } }),
        };

        var response = await Client(token).PostAsJsonAsync("/api/requests", Api.PolicyRequest());
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    private HttpClient Client(string token)
    {
        var client = _server.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private string Token(string? email = "yara@example.com", string? audience = null, string? issuer = null, DateTime? expires = null, SecurityKey? key = null)
    {
        var claims = new Dictionary<string, object>();
        if (email is not null)
        {
            claims["email"] = email;
        }

        var expiry = expires ?? DateTime.UtcNow.AddMinutes(30);
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Issuer,
            Audience = audience ?? Audience,
            Subject = new ClaimsIdentity([new Claim("sub", "user-1")]),
            Claims = claims,
            NotBefore = expiry.AddHours(-1),
            IssuedAt = expiry.AddHours(-1),
            Expires = expiry,
            SigningCredentials = new SigningCredentials(key ?? _key, SecurityAlgorithms.RsaSha256),
        });
    }

    /// <summary>Changes the payload (the email) but keeps the signature of the original.</summary>
    private static string Tamper(string token)
    {
        var parts = token.Split('.');
        var payload = System.Text.Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(parts[1])).Replace("yara@example.com", "secops@example.com");
        return $"{parts[0]}.{Base64UrlEncoder.Encode(payload)}.{parts[2]}";
    }
}
