using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace AccessWorkflows.Http;

/// <summary>
/// An issuer's OpenID metadata and signing keys, cached, and fetched again when a token names a key id the cache
/// does not know (keys rotate). <see cref="ConfigurationManager{T}"/> refreshes in the background, so the token at
/// hand would still fail; this fetch is awaited instead, at most once per <see cref="ForcedRefreshInterval"/>, so
/// forged key ids cannot make us hammer the metadata endpoint. Used for API callers (Jwt mode) and Bot Framework.
/// </summary>
public sealed partial class OpenIdMetadataSource
{
    public static readonly TimeSpan ForcedRefreshInterval = TimeSpan.FromSeconds(30);

    private readonly string _metadataUrl;
    private readonly HttpDocumentRetriever _retriever;
    private readonly ConfigurationManager<OpenIdConnectConfiguration> _cache;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _refreshGate = new(1, 1);
    private OpenIdConnectConfiguration? _refreshed;
    private DateTimeOffset _lastRefresh = DateTimeOffset.MinValue;

    public OpenIdMetadataSource(string metadataUrl, HttpDocumentRetriever retriever, ILogger logger, TimeSpan? automaticRefreshInterval = null)
    {
        _metadataUrl = metadataUrl;
        _retriever = retriever;
        _logger = logger;
        _cache = new ConfigurationManager<OpenIdConnectConfiguration>(metadataUrl, new OpenIdConnectConfigurationRetriever(), retriever);
        if (automaticRefreshInterval is { } interval)
        {
            _cache.AutomaticRefreshInterval = interval;
        }
    }

    /// <summary>The cached metadata. Throws <see cref="InvalidOperationException"/> when it cannot be fetched.</summary>
    public Task<OpenIdConnectConfiguration> GetAsync(CancellationToken cancellationToken = default) => _cache.GetConfigurationAsync(cancellationToken);

    /// <summary>The metadata that holds the key <paramref name="keyId"/>: the cached one, or one fetched now when the
    /// cache does not know it (and the last forced fetch is long enough ago). Without a key id, the cached one.</summary>
    public async Task<OpenIdConnectConfiguration> ForKeyAsync(string? keyId, CancellationToken cancellationToken = default)
    {
        var cached = await GetAsync(cancellationToken);
        if (string.IsNullOrEmpty(keyId) || HasKey(cached, keyId))
        {
            return cached;
        }

        return await RefreshedAsync(keyId, cancellationToken) ?? cached;
    }

    private static bool HasKey(OpenIdConnectConfiguration config, string keyId) => config.SigningKeys.Any(k => k.KeyId == keyId);

    private async Task<OpenIdConnectConfiguration?> RefreshedAsync(string keyId, CancellationToken cancellationToken)
    {
        if (_refreshed is { } known && HasKey(known, keyId))
        {
            return known;
        }

        await _refreshGate.WaitAsync(cancellationToken);
        try
        {
            if (_refreshed is { } again && HasKey(again, keyId))
            {
                return again;
            }

            var now = DateTimeOffset.UtcNow;
            if (now - _lastRefresh < ForcedRefreshInterval)
            {
                return null;
            }

            _lastRefresh = now;
            LogRefreshing(_logger, keyId, _metadataUrl);
            try
            {
                _refreshed = await OpenIdConnectConfigurationRetriever.GetAsync(_metadataUrl, _retriever, cancellationToken);
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or HttpRequestException)
            {
                return null;
            }

            return _refreshed;
        }
        finally
        {
            _refreshGate.Release();
        }
    }

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Fetching OpenID metadata {MetadataUrl} again: a token names the unknown signing key {KeyId}")]
    private static partial void LogRefreshing(ILogger logger, string keyId, string metadataUrl);
}
