using System.Net.Http.Json;
using System.Text.Json.Serialization;
using Azure.Core;
using Azure.Identity;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AccessWorkflows.Teams.Connector;

/// <summary>The bearer token the bot presents to the Bot Connector, cached until shortly before it expires.</summary>
public interface IBotTokenProvider
{
    Task<string> GetTokenAsync(CancellationToken cancellationToken);

    /// <summary>Forgets the cached token (the connector refused it).</summary>
    void Invalidate();
}

/// <summary>Caching shared by both flows: one acquisition at a time, refreshed five minutes before expiry.</summary>
public abstract class CachingBotTokenProvider : IBotTokenProvider
{
    private static readonly TimeSpan RefreshMargin = TimeSpan.FromMinutes(5);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly TimeProvider _time;
    private (string Token, DateTimeOffset ExpiresOn)? _cached;

    protected CachingBotTokenProvider(TimeProvider time) => _time = time;

    public async Task<string> GetTokenAsync(CancellationToken cancellationToken)
    {
        if (Fresh() is { } token)
        {
            return token;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (Fresh() is { } again)
            {
                return again;
            }

            var acquired = await AcquireAsync(cancellationToken);
            _cached = acquired;
            return acquired.Token;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Invalidate() => _cached = null;

    protected abstract Task<(string Token, DateTimeOffset ExpiresOn)> AcquireAsync(CancellationToken cancellationToken);

    private string? Fresh() => _cached is { } c && c.ExpiresOn - RefreshMargin > _time.GetUtcNow() ? c.Token : null;
}

/// <summary>Client credentials of a single-tenant app: <c>POST {LoginBaseUrl}/{TenantId}/oauth2/v2.0/token</c>.</summary>
public sealed class ClientCredentialsBotTokenProvider : CachingBotTokenProvider
{
    private readonly HttpClient _http;
    private readonly TeamsOptions _options;
    private readonly ILogger<ClientCredentialsBotTokenProvider> _logger;
    private readonly TimeProvider _time;

    public ClientCredentialsBotTokenProvider(IHttpClientFactory httpClients, IOptions<TeamsOptions> options, ILogger<ClientCredentialsBotTokenProvider> logger, TimeProvider? time = null)
        : base(time ?? TimeProvider.System)
    {
        _http = httpClients.CreateClient(TeamsServiceCollectionExtensions.LoginHttpClient);
        _options = options.Value;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    protected override async Task<(string Token, DateTimeOffset ExpiresOn)> AcquireAsync(CancellationToken cancellationToken)
    {
        var url = $"{_options.LoginBaseUrl.TrimEnd('/')}/{Uri.EscapeDataString(_options.TenantId!)}/oauth2/v2.0/token";
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = _options.AppId!,
            ["client_secret"] = _options.AppPassword!,
            ["scope"] = TeamsOptions.BotConnectorScope,
        });
        using var response = await _http.PostAsync(url, form, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            // The body may echo request details; only the status is reported.
            throw new HttpRequestException($"Entra token endpoint answered {(int)response.StatusCode}.", null, response.StatusCode);
        }

        var body = await response.Content.ReadFromJsonAsync<TokenResponse>(cancellationToken)
            ?? throw new HttpRequestException("Entra token endpoint answered an empty body.");
        if (string.IsNullOrEmpty(body.AccessToken))
        {
            throw new HttpRequestException("Entra token endpoint answered no access_token.");
        }

        var expiresOn = _time.GetUtcNow().AddSeconds(Math.Max(60, body.ExpiresIn));
        Log.TokenAcquired(_logger, "client credentials", expiresOn);
        return (body.AccessToken, expiresOn);
    }

    private sealed record TokenResponse(
        [property: JsonPropertyName("access_token")] string? AccessToken,
        [property: JsonPropertyName("expires_in")] long ExpiresIn,
        [property: JsonPropertyName("token_type")] string? TokenType);
}

/// <summary>An Azure.Core credential (in production a user-assigned <see cref="ManagedIdentityCredential"/>): no secret stored.</summary>
public sealed class TokenCredentialBotTokenProvider : CachingBotTokenProvider
{
    private readonly TokenCredential _credential;
    private readonly ILogger<TokenCredentialBotTokenProvider> _logger;

    public TokenCredentialBotTokenProvider(TokenCredential credential, ILogger<TokenCredentialBotTokenProvider> logger, TimeProvider? time = null)
        : base(time ?? TimeProvider.System)
    {
        _credential = credential;
        _logger = logger;
    }

    public static TokenCredential ManagedIdentity(string clientId) =>
        new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId));

    protected override async Task<(string Token, DateTimeOffset ExpiresOn)> AcquireAsync(CancellationToken cancellationToken)
    {
        var token = await _credential.GetTokenAsync(new TokenRequestContext([TeamsOptions.BotConnectorScope]), cancellationToken);
        Log.TokenAcquired(_logger, "managed identity", token.ExpiresOn);
        return (token.Token, token.ExpiresOn);
    }
}
