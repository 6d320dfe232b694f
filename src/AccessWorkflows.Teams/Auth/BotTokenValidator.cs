using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AccessWorkflows.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace AccessWorkflows.Teams.Auth;

/// <summary>The outcome of checking an inbound Bot Framework token.</summary>
internal sealed record BotTokenResult(bool IsValid, string? ServiceUrl, IReadOnlyList<string>? Endorsements, string? Problem)
{
    public static BotTokenResult Invalid(string problem) => new(false, null, null, problem);
}

/// <summary>
/// Checks the bearer token the Bot Framework channel service puts on every activity it sends (SPEC 10): signature
/// against the keys of the OpenID metadata (cached, refreshed when a token names a key id not in the cache), issuer
/// <c>https://api.botframework.com</c>, audience = the bot's app id, lifetime with five minutes of skew. The caller
/// then checks the <c>serviceurl</c> claim against the activity.
/// </summary>
/// <remarks>
/// The channel service sends one token with many activities, and checking its RS256 signature was the largest part of
/// answering a Teams click, so a token that passed every check is remembered (by its SHA-256) for
/// <see cref="RememberFor"/> at most and never past its expiry plus the skew. A remembered token is accepted again
/// only while its signing key is still in the metadata (a rotated-out key ends it at once); the same bytes carry the
/// same claims, so nothing else about it can have changed. A token that failed is never remembered.
/// </remarks>
internal sealed class BotTokenValidator
{
    /// <summary>How long a validated token is accepted without checking its signature again.</summary>
    public static readonly TimeSpan RememberFor = TimeSpan.FromMinutes(5);

    private static readonly TimeSpan Skew = TimeSpan.FromMinutes(5);
    private const int MaxRemembered = 1000;

    private readonly ConcurrentDictionary<string, Validated> _validated = new(StringComparer.Ordinal);
    private readonly OpenIdMetadataSource _metadata;
    private readonly TeamsOptions _options;
    private readonly TimeProvider _time;
    private readonly JsonWebTokenHandler _handler = new() { MaximumTokenSizeInBytes = 16 * 1024 };

    public BotTokenValidator(IOptions<TeamsOptions> options, IHttpClientFactory httpClients, TimeProvider time, ILogger<BotTokenValidator> logger)
    {
        _options = options.Value;
        _time = time;
        var metadataUri = new Uri(_options.OpenIdMetadataUrl);
        var retriever = new HttpDocumentRetriever(httpClients.CreateClient(TeamsServiceCollectionExtensions.MetadataHttpClient))
        {
            // Plain HTTP only for a metadata server on this machine (tests); anything else must be HTTPS.
            RequireHttps = !metadataUri.IsLoopback,
        };
        _metadata = new OpenIdMetadataSource(_options.OpenIdMetadataUrl, retriever, logger, automaticRefreshInterval: TimeSpan.FromHours(24));
    }

    public async Task<BotTokenResult> ValidateAsync(string? authorizationHeader, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(authorizationHeader) || !authorizationHeader.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return BotTokenResult.Invalid("no bearer token");
        }

        var token = authorizationHeader["Bearer ".Length..].Trim();
        if (token.Length == 0 || token.Length > _handler.MaximumTokenSizeInBytes)
        {
            return BotTokenResult.Invalid("no bearer token");
        }

        var fingerprint = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
        if (_validated.TryGetValue(fingerprint, out var known))
        {
            if (known.Until > _time.GetUtcNow() && await KeyStillPublishedAsync(known.Kid, cancellationToken) is { } current)
            {
                return new BotTokenResult(true, known.ServiceUrl, Endorsements(current, known.Kid), null);
            }

            _validated.TryRemove(fingerprint, out _);
        }

        JsonWebToken jwt;
        try
        {
            jwt = _handler.ReadJsonWebToken(token);
        }
        catch (ArgumentException)
        {
            return BotTokenResult.Invalid("malformed token");
        }

        OpenIdConnectConfiguration config;
        try
        {
            // Keys rotate: a key id the cache does not know makes the source fetch the metadata again.
            config = await _metadata.ForKeyAsync(jwt.Kid, cancellationToken);
        }
        catch (InvalidOperationException)
        {
            return BotTokenResult.Invalid("OpenID metadata unavailable");
        }

        var parameters = new TokenValidationParameters
        {
            ValidIssuer = TeamsOptions.BotFrameworkIssuer,
            ValidAudience = _options.AppId,
            IssuerSigningKeys = config.SigningKeys,
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidateLifetime = true,
            ValidateIssuerSigningKey = true,
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ClockSkew = Skew,
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
            TryAllIssuerSigningKeys = false,

            // The documented lifetime rule (not before, expires, five minutes of skew either way) on this host's clock,
            // the one that also ends a remembered token.
            LifetimeValidator = (notBefore, expires, _, _) => WithinLifetime(notBefore, expires),
        };
        var result = await _handler.ValidateTokenAsync(jwt, parameters);
        if (!result.IsValid)
        {
            return BotTokenResult.Invalid(result.Exception?.GetType().Name ?? "invalid token");
        }

        // Read from the token just validated, not from result.ClaimsIdentity: that identity is built on first use, every
        // claim copied, and it was a sixth of the validation's CPU on each click. A claim that is not one string is none.
        var serviceUrl = result.SecurityToken is JsonWebToken validated && validated.TryGetPayloadValue<string>("serviceurl", out var claimed)
            ? claimed
            : null;
        Remember(fingerprint, jwt, serviceUrl);
        return new BotTokenResult(true, serviceUrl, Endorsements(config, jwt.Kid), null);
    }

    private bool WithinLifetime(DateTime? notBefore, DateTime? expires)
    {
        var now = _time.GetUtcNow();
        return expires is { } exp
            && now <= new DateTimeOffset(DateTime.SpecifyKind(exp, DateTimeKind.Utc)) + Skew
            && (notBefore is not { } nbf || now >= new DateTimeOffset(DateTime.SpecifyKind(nbf, DateTimeKind.Utc)) - Skew);
    }

    private void Remember(string fingerprint, JsonWebToken jwt, string? serviceUrl)
    {
        if (_validated.Count >= MaxRemembered)
        {
            _validated.Clear();
        }

        var expires = new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero) + Skew;
        var until = _time.GetUtcNow() + RememberFor;
        _validated[fingerprint] = new Validated(jwt.Kid, serviceUrl, expires < until ? expires : until);
    }

    /// <summary>The current metadata when it still lists the key <paramref name="kid"/>; null otherwise.</summary>
    private async Task<OpenIdConnectConfiguration?> KeyStillPublishedAsync(string? kid, CancellationToken cancellationToken)
    {
        try
        {
            var config = await _metadata.ForKeyAsync(kid, cancellationToken);
            return config.SigningKeys.Any(k => k.KeyId == kid) ? config : null;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private sealed record Validated(string? Kid, string? ServiceUrl, DateTimeOffset Until);

    /// <summary>The channels the signing key is endorsed for (Bot Framework's <c>endorsements</c> key member), when the
    /// metadata lists any.</summary>
    private static List<string>? Endorsements(OpenIdConnectConfiguration config, string? kid)
    {
        var key = config.JsonWebKeySet?.Keys.FirstOrDefault(k => k.Kid == kid);
        if (key is null || !key.AdditionalData.TryGetValue("endorsements", out var value))
        {
            return null;
        }

        return value switch
        {
            JsonElement { ValueKind: JsonValueKind.Array } array => [.. array.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!)],
            IEnumerable<object> items => [.. items.Select(i => i?.ToString() ?? string.Empty)],
            _ => null,
        };
    }
}
