using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AccessWorkflows.Teams.Bot;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AccessWorkflows.Teams.Connector;

/// <summary>
/// The narrow slice of the Bot Connector REST API (v3) this product needs. One place to swap for the official SDK.
/// </summary>
internal interface IBotConnector
{
    /// <summary><c>POST {serviceUrl}/v3/conversations/{conversationId}/activities</c>; returns the new activity id.</summary>
    Task<string> SendAsync(string serviceUrl, string conversationId, JsonObject activity, CancellationToken cancellationToken);

    /// <summary><c>PUT {serviceUrl}/v3/conversations/{conversationId}/activities/{activityId}</c>: replaces the message in place.</summary>
    Task UpdateAsync(string serviceUrl, string conversationId, string activityId, JsonObject activity, CancellationToken cancellationToken);

    /// <summary><c>POST {serviceUrl}/v3/conversations</c>; returns the conversation id (a 1:1 chat with the bot).</summary>
    Task<string> CreateConversationAsync(string serviceUrl, JsonObject parameters, CancellationToken cancellationToken);

    /// <summary><c>GET {serviceUrl}/v3/conversations/{conversationId}/members/{userId}</c>; null when the member is unknown.</summary>
    Task<TeamsMember?> GetMemberAsync(string serviceUrl, string conversationId, string userId, CancellationToken cancellationToken);

    /// <summary><c>GET {serviceUrl}/v3/teams/{teamId}/conversations</c>: the ids of the team's channels.</summary>
    Task<IReadOnlyList<string>> GetTeamChannelsAsync(string serviceUrl, string teamId, CancellationToken cancellationToken);
}

internal sealed class BotConnectorClient : IBotConnector
{
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromMinutes(2);
    private readonly HttpClient _http;
    private readonly IBotTokenProvider _tokens;
    private readonly TeamsOptions _options;
    private readonly ILogger<BotConnectorClient> _logger;

    public BotConnectorClient(IHttpClientFactory httpClients, IBotTokenProvider tokens, IOptions<TeamsOptions> options, ILogger<BotConnectorClient> logger)
    {
        _http = httpClients.CreateClient(TeamsServiceCollectionExtensions.ConnectorHttpClient);
        _tokens = tokens;
        _options = options.Value;
        _logger = logger;
    }

    public async Task<string> SendAsync(string serviceUrl, string conversationId, JsonObject activity, CancellationToken cancellationToken)
    {
        var body = await SendJsonAsync(HttpMethod.Post, serviceUrl, $"v3/conversations/{Uri.EscapeDataString(conversationId)}/activities", activity, cancellationToken);
        return JsonText.String(JsonText.Node(body, "id")) ?? throw new HttpRequestException("The Bot Connector answered no activity id.");
    }

    public async Task UpdateAsync(string serviceUrl, string conversationId, string activityId, JsonObject activity, CancellationToken cancellationToken)
        => await SendJsonAsync(HttpMethod.Put, serviceUrl, $"v3/conversations/{Uri.EscapeDataString(conversationId)}/activities/{Uri.EscapeDataString(activityId)}", activity, cancellationToken);

    public async Task<string> CreateConversationAsync(string serviceUrl, JsonObject parameters, CancellationToken cancellationToken)
    {
        var body = await SendJsonAsync(HttpMethod.Post, serviceUrl, "v3/conversations", parameters, cancellationToken);
        return JsonText.String(JsonText.Node(body, "id")) ?? throw new HttpRequestException("The Bot Connector answered no conversation id.");
    }

    public async Task<TeamsMember?> GetMemberAsync(string serviceUrl, string conversationId, string userId, CancellationToken cancellationToken)
    {
        try
        {
            var body = await SendJsonAsync(HttpMethod.Get, serviceUrl, $"v3/conversations/{Uri.EscapeDataString(conversationId)}/members/{Uri.EscapeDataString(userId)}", null, cancellationToken);
            return body?.Deserialize<TeamsMember>(Activity.Json);
        }
        catch (HttpRequestException e) when (e.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Forbidden or HttpStatusCode.BadRequest)
        {
            Log.MemberLookupFailed(_logger, (int)e.StatusCode!.Value);
            return null;
        }
    }

    public async Task<IReadOnlyList<string>> GetTeamChannelsAsync(string serviceUrl, string teamId, CancellationToken cancellationToken)
    {
        var body = await SendJsonAsync(HttpMethod.Get, serviceUrl, $"v3/teams/{Uri.EscapeDataString(teamId)}/conversations", null, cancellationToken);
        return JsonText.Node(body, "conversations") is JsonArray conversations
            ? [.. conversations.Select(c => JsonText.String(JsonText.Node(c, "id"))).OfType<string>()]
            : [];
    }

    private async Task<JsonNode?> SendJsonAsync(HttpMethod method, string serviceUrl, string path, JsonObject? body, CancellationToken cancellationToken)
    {
        var uri = new Uri(ServiceBase(serviceUrl), path);
        var payload = body?.ToJsonString(Activity.Json);
        var refreshedToken = false;
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, uri);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await _tokens.GetTokenAsync(cancellationToken));
            if (payload is not null)
            {
                request.Content = new StringContent(payload, Encoding.UTF8, "application/json");
            }

            using var response = await _http.SendAsync(request, cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                var text = await response.Content.ReadAsStringAsync(cancellationToken);
                return string.IsNullOrWhiteSpace(text) ? null : JsonNode.Parse(text);
            }

            if (response.StatusCode == HttpStatusCode.Unauthorized && !refreshedToken)
            {
                // A token revoked or rotated early: one retry with a fresh one, never a loop.
                Log.ConnectorUnauthorized(_logger);
                _tokens.Invalidate();
                refreshedToken = true;
                continue;
            }

            if (IsTransient(response.StatusCode) && attempt <= _options.MaxRetries)
            {
                var delay = RetryDelay(response, attempt);
                Log.ConnectorRetry(_logger, method.Method, uri.AbsolutePath, (int)response.StatusCode, attempt, delay);
                await Task.Delay(delay, cancellationToken);
                continue;
            }

            throw new HttpRequestException($"Bot Connector {method.Method} {uri.AbsolutePath} answered {(int)response.StatusCode}.", null, response.StatusCode);
        }
    }

    /// <summary>429 throttled, 412 a concurrent update of the same message, 502/504 the channel service's gateways.</summary>
    private static bool IsTransient(HttpStatusCode status) =>
        status is HttpStatusCode.TooManyRequests or HttpStatusCode.PreconditionFailed or HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout;

    /// <summary>Retry-After when the service gives one (never less), else exponential backoff with full jitter.</summary>
    internal static TimeSpan RetryDelay(HttpResponseMessage response, int attempt)
    {
        var retryAfter = response.Headers.RetryAfter;
        TimeSpan? asked = retryAfter?.Delta ?? (retryAfter?.Date is { } date ? date - DateTimeOffset.UtcNow : null);
        var backoff = TimeSpan.FromMilliseconds(Math.Min(MaxDelay.TotalMilliseconds, 250 * Math.Pow(2, attempt - 1)));
        var jittered = TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * backoff.TotalMilliseconds);
        if (asked is { } a && a > TimeSpan.Zero)
        {
            // Honour the service's wait, plus a little jitter so many senders do not come back in lockstep.
            return (a > MaxRetryAfter ? MaxRetryAfter : a) + TimeSpan.FromMilliseconds(Random.Shared.Next(0, 100));
        }

        return jittered;
    }

    /// <summary>
    /// The bot's token is sent to serviceUrl, so it must be HTTPS (or this machine, for tests). Service URLs come
    /// only from activities whose token was checked and whose serviceurl claim matched.
    /// </summary>
    private static Uri ServiceBase(string serviceUrl)
    {
        if (!Uri.TryCreate(serviceUrl.TrimEnd('/') + "/", UriKind.Absolute, out var uri)
            || !(uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback)))
        {
            throw new InvalidOperationException("A Bot Connector serviceUrl must be an absolute HTTPS URL.");
        }

        return uri;
    }
}
