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
internal sealed class BotTokenValidator
{
    private readonly OpenIdMetadataSource _metadata;
    private readonly TeamsOptions _options;
    private readonly JsonWebTokenHandler _handler = new() { MaximumTokenSizeInBytes = 16 * 1024 };

    public BotTokenValidator(IOptions<TeamsOptions> options, IHttpClientFactory httpClients, ILogger<BotTokenValidator> logger)
    {
        _options = options.Value;
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
            ClockSkew = TimeSpan.FromMinutes(5),
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
            TryAllIssuerSigningKeys = false,
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
        return new BotTokenResult(true, serviceUrl, Endorsements(config, jwt.Kid), null);
    }

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
