using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Slack.Api;

/// <summary>
/// The Web API over HTTP: JSON bodies for the write methods, form bodies for the user look-ups (which Slack does
/// not accept as JSON), the bot token as <c>Authorization: Bearer</c>. A 429 is waited out for its
/// <c>Retry-After</c> and the same call is sent again, so callers that post in order stay in order.
/// </summary>
public sealed partial class SlackApiClient : ISlackApi
{
    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(60);
    private readonly HttpClient _http;
    private readonly SlackOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<SlackApiClient> _logger;

    public SlackApiClient(HttpClient http, SlackOptions options, TimeProvider time, ILogger<SlackApiClient> logger)
    {
        _http = http;
        _options = options;
        _time = time;
        _logger = logger;
    }

    public Task OpenViewAsync(string triggerId, JsonObject view, CancellationToken cancellationToken = default)
        => CallJsonAsync("views.open", new JsonObject { ["trigger_id"] = triggerId, ["view"] = view }, cancellationToken);

    public async Task<(string Channel, string Ts)> PostMessageAsync(string channel, string text, JsonArray blocks, CancellationToken cancellationToken = default)
    {
        var answer = await CallJsonAsync("chat.postMessage", new JsonObject
        {
            ["channel"] = channel,
            ["text"] = text,
            ["blocks"] = blocks,
            ["unfurl_links"] = false,
            ["unfurl_media"] = false,
        }, cancellationToken);
        var ts = answer["ts"]?.GetValue<string>() ?? throw new SlackApiException("chat.postMessage", "missing_ts");
        return (answer["channel"]?.GetValue<string>() ?? channel, ts);
    }

    public Task UpdateMessageAsync(string channel, string ts, string text, JsonArray blocks, CancellationToken cancellationToken = default)
        => CallJsonAsync("chat.update", new JsonObject { ["channel"] = channel, ["ts"] = ts, ["text"] = text, ["blocks"] = blocks }, cancellationToken);

    public Task PostEphemeralAsync(string channel, string user, string text, CancellationToken cancellationToken = default)
        => CallJsonAsync("chat.postEphemeral", new JsonObject { ["channel"] = channel, ["user"] = user, ["text"] = text }, cancellationToken);

    public async Task<string> OpenDirectMessageAsync(string userId, CancellationToken cancellationToken = default)
    {
        var answer = await CallJsonAsync("conversations.open", new JsonObject { ["users"] = userId }, cancellationToken);
        return answer["channel"]?["id"]?.GetValue<string>() ?? throw new SlackApiException("conversations.open", "missing_channel");
    }

    public async Task<string?> GetUserEmailAsync(string userId, CancellationToken cancellationToken = default)
    {
        JsonObject answer;
        try
        {
            answer = await CallFormAsync("users.info", new Dictionary<string, string> { ["user"] = userId }, cancellationToken);
        }
        catch (SlackApiException e) when (e.Error == "user_not_found")
        {
            return null;
        }

        var user = answer["user"];
        if (user is null || user["deleted"]?.GetValue<bool>() == true || user["is_bot"]?.GetValue<bool>() == true)
        {
            return null;
        }

        return user["profile"]?["email"]?.GetValue<string>();
    }

    public async Task<string?> LookupUserIdByEmailAsync(string email, CancellationToken cancellationToken = default)
    {
        try
        {
            var answer = await CallFormAsync("users.lookupByEmail", new Dictionary<string, string> { ["email"] = email }, cancellationToken);
            return answer["user"]?["id"]?.GetValue<string>();
        }
        catch (SlackApiException e) when (e.Error is "users_not_found" or "user_not_found")
        {
            return null;
        }
    }

    private Task<JsonObject> CallJsonAsync(string method, JsonObject args, CancellationToken cancellationToken)
    {
        var json = args.ToJsonString();
        return SendAsync(method, () => new StringContent(json, Encoding.UTF8, "application/json"), cancellationToken);
    }

    private Task<JsonObject> CallFormAsync(string method, Dictionary<string, string> args, CancellationToken cancellationToken)
        => SendAsync(method, () => new FormUrlEncodedContent(args), cancellationToken);

    private async Task<JsonObject> SendAsync(string method, Func<HttpContent> content, CancellationToken cancellationToken)
    {
        var uri = new Uri(new Uri(EnsureSlash(_options.ApiBaseUrl)), method);
        for (var attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = content() };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.BotToken);
            using var response = await _http.SendAsync(request, cancellationToken);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                if (attempt >= _options.MaxRateLimitRetries)
                {
                    throw new SlackApiException(method, "ratelimited");
                }

                var wait = RetryAfter(response);
                Log.RateLimited(_logger, method, wait.TotalSeconds, attempt + 1);
                await Task.Delay(wait, _time, cancellationToken);
                continue;
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new SlackApiException(method, "http_" + ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture));
            }

            JsonObject? answer;
            try
            {
                answer = await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken);
            }
            catch (JsonException)
            {
                throw new SlackApiException(method, "invalid_response");
            }

            if (answer is null)
            {
                throw new SlackApiException(method, "invalid_response");
            }

            if (answer["ok"]?.GetValue<bool>() != true)
            {
                var error = answer["error"]?.GetValue<string>() ?? "unknown_error";
                Log.ApiError(_logger, method, error);
                throw new SlackApiException(method, error);
            }

            return answer;
        }
    }

    private static TimeSpan RetryAfter(HttpResponseMessage response)
    {
        var delta = response.Headers.RetryAfter?.Delta;
        if (delta is null && response.Headers.RetryAfter?.Date is { } date)
        {
            delta = date - DateTimeOffset.UtcNow;
        }

        var wait = delta is { } d && d > TimeSpan.Zero ? d : TimeSpan.FromSeconds(1);
        return wait > MaxRetryAfter ? MaxRetryAfter : wait;
    }

    private static string EnsureSlash(string url) => url.EndsWith('/') ? url : url + "/";

    private static partial class Log
    {
        [LoggerMessage(EventId = 5101, Level = LogLevel.Warning, Message = "Slack {Method} was rate limited; retrying after {Seconds}s (attempt {Attempt})")]
        public static partial void RateLimited(ILogger logger, string method, double seconds, int attempt);

        [LoggerMessage(EventId = 5102, Level = LogLevel.Warning, Message = "Slack {Method} answered ok=false: {Error}")]
        public static partial void ApiError(ILogger logger, string method, string error);
    }
}
