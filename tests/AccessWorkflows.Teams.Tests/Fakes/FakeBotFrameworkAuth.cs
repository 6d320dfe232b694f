using System.Security.Cryptography;
using System.Text.Json.Nodes;
using AccessWorkflows.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AccessWorkflows.Teams.Tests.Fakes;

/// <summary>
/// Stands in for login.botframework.com: OpenID metadata and a JWKS with Bot Framework's <c>endorsements</c>, and the
/// channel service's side of the protocol: tokens signed with a test RSA key, as the real service signs them.
/// </summary>
public sealed class FakeBotFrameworkAuth : IAsyncDisposable
{
    private readonly List<SigningKey> _published = [];
    private int _jwksFetches;

    private FakeBotFrameworkAuth(LoopbackServer server)
    {
        Server = server;
    }

    public LoopbackServer Server { get; }

    public string MetadataUrl => new Uri(Server.BaseAddress, "v1/.well-known/openidconfiguration").ToString();

    public int JwksFetches => Volatile.Read(ref _jwksFetches);

    /// <summary>The key tokens are signed with unless a test says otherwise.</summary>
    public SigningKey CurrentKey { get; private set; } = null!;

    public static async Task<FakeBotFrameworkAuth> StartAsync()
    {
        FakeBotFrameworkAuth? self = null;
        var server = await LoopbackServer.StartAsync(app =>
        {
            app.MapGet("/v1/.well-known/openidconfiguration", (HttpContext http) => Results.Json(new JsonObject
            {
                ["issuer"] = "https://api.botframework.com",
                ["authorization_endpoint"] = "https://invalid.botframework.com",
                ["jwks_uri"] = new Uri(self!.Server.BaseAddress, "v1/.well-known/keys").ToString(),
                ["id_token_signing_alg_values_supported"] = new JsonArray("RS256"),
                ["token_endpoint_auth_methods_supported"] = new JsonArray("private_key_jwt"),
            }));
            app.MapGet("/v1/.well-known/keys", () =>
            {
                Interlocked.Increment(ref self!._jwksFetches);
                lock (self._published)
                {
                    return Results.Json(new JsonObject { ["keys"] = new JsonArray([.. self._published.Select(k => (JsonNode)k.Jwk())]) });
                }
            });
        });
        self = new FakeBotFrameworkAuth(server);
        self.CurrentKey = self.Publish(SigningKey.Create("key-1", "msteams"));
        return self;
    }

    public SigningKey Publish(SigningKey key)
    {
        lock (_published)
        {
            _published.Add(key);
        }

        return key;
    }

    /// <summary>A channel-service token for an activity sent to the bot <paramref name="appId"/>.</summary>
    public string Token(
        string appId,
        string serviceUrl,
        string issuer = "https://api.botframework.com",
        DateTime? expires = null,
        SigningKey? key = null,
        bool withServiceUrl = true)
    {
        key ??= CurrentKey;
        var exp = expires ?? DateTime.UtcNow.AddHours(1);
        var claims = new Dictionary<string, object> { ["appid"] = "fake-channel-service" };
        if (withServiceUrl)
        {
            claims["serviceurl"] = serviceUrl;
        }

        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = appId,
            IssuedAt = exp.AddHours(-2),
            NotBefore = exp.AddHours(-2),
            Expires = exp,
            Claims = claims,
            SigningCredentials = new SigningCredentials(key.SecurityKey, SecurityAlgorithms.RsaSha256),
        });
    }

    public ValueTask DisposeAsync() => Server.DisposeAsync();

    public sealed class SigningKey
    {
        private SigningKey(string kid, RSA rsa, string[] endorsements)
        {
            Kid = kid;
            Rsa = rsa;
            Endorsements = endorsements;
            SecurityKey = new RsaSecurityKey(rsa) { KeyId = kid };
        }

        public string Kid { get; }

        public RSA Rsa { get; }

        public string[] Endorsements { get; }

        public RsaSecurityKey SecurityKey { get; }

        public static SigningKey Create(string kid, params string[] endorsements) => new(kid, RSA.Create(2048), endorsements);

        public JsonObject Jwk()
        {
            var p = Rsa.ExportParameters(false);
            return new JsonObject
            {
                ["kty"] = "RSA",
                ["use"] = "sig",
                ["kid"] = Kid,
                ["n"] = Base64UrlEncoder.Encode(p.Modulus),
                ["e"] = Base64UrlEncoder.Encode(p.Exponent),
                ["endorsements"] = new JsonArray([.. Endorsements.Select(e => (JsonNode)e)]),
            };
        }
    }
}
