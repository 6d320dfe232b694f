using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace AccessWorkflows.PagerDuty.Api;

/// <summary>
/// The narrow slice of PagerDuty's REST API v2 this product needs, so the official client can replace it in one
/// place. Lists are streamed page by page (classic offset/limit/more pagination) so a caller can stop early.
/// </summary>
public interface IPagerDutyApi
{
    /// <summary><c>GET /users?query=</c>: PagerDuty matches the query against names and emails, so callers must
    /// still check the email themselves.</summary>
    IAsyncEnumerable<PagerDutyUser> FindUsersAsync(string query, CancellationToken cancellationToken = default);

    /// <summary><c>GET /oncalls</c> for one user in some schedules over [since, until].</summary>
    IAsyncEnumerable<PagerDutyOnCall> ListOnCallsAsync(string userId, IReadOnlyList<string> scheduleIds, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken = default);

    /// <summary><c>GET /oncalls?escalation_policy_ids[]=&amp;include[]=users</c> over [since, until]: every on-call entry of
    /// one escalation policy, each user expanded so its email is there.</summary>
    IAsyncEnumerable<PagerDutyOnCall> ListPolicyOnCallsAsync(string escalationPolicyId, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken = default);
}

/// <summary>
/// <see cref="IPagerDutyApi"/> over HTTP: token auth and the v2 Accept header on every call; 429 (honouring
/// Retry-After or PagerDuty's ratelimit-reset), 5xx, network errors and attempt time-outs retried with exponential
/// back-off and jitter. Throws <see cref="PagerDutyApiException"/> when PagerDuty does not answer usefully.
/// </summary>
public sealed partial class PagerDutyApiClient : IPagerDutyApi
{
    public const string HttpClientName = "AccessWorkflows.PagerDuty";
    private const int PageSize = 100;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    private readonly IHttpClientFactory _httpFactory;
    private readonly PagerDutyOptions _options;
    private readonly ILogger<PagerDutyApiClient> _logger;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;

    public PagerDutyApiClient(IHttpClientFactory httpFactory, IOptions<PagerDutyOptions> options, ILogger<PagerDutyApiClient> logger)
    {
        _httpFactory = httpFactory;
        _options = options.Value;
        _logger = logger;
        _pipeline = BuildPipeline(_options, logger);
    }

    public async IAsyncEnumerable<PagerDutyUser> FindUsersAsync(string query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var page in PagesAsync<PagerDutyUsersPage>(offset => $"users?query={Uri.EscapeDataString(query)}&limit={PageSize}&offset={offset}", p => (p.More, p.Users?.Count ?? 0), cancellationToken))
        {
            foreach (var user in page.Users ?? [])
            {
                yield return user;
            }
        }
    }

    public async IAsyncEnumerable<PagerDutyOnCall> ListOnCallsAsync(string userId, IReadOnlyList<string> scheduleIds, DateTimeOffset since, DateTimeOffset until, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var filter = new StringBuilder("oncalls?time_zone=UTC");
        filter.Append(CultureInfo.InvariantCulture, $"&{Uri.EscapeDataString("user_ids[]")}={Uri.EscapeDataString(userId)}");
        foreach (var schedule in scheduleIds)
        {
            filter.Append(CultureInfo.InvariantCulture, $"&{Uri.EscapeDataString("schedule_ids[]")}={Uri.EscapeDataString(schedule)}");
        }

        await foreach (var entry in OnCallPagesAsync(filter, since, until, cancellationToken))
        {
            yield return entry;
        }
    }

    public async IAsyncEnumerable<PagerDutyOnCall> ListPolicyOnCallsAsync(string escalationPolicyId, DateTimeOffset since, DateTimeOffset until, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var filter = new StringBuilder("oncalls?time_zone=UTC");
        filter.Append(CultureInfo.InvariantCulture, $"&{Uri.EscapeDataString("escalation_policy_ids[]")}={Uri.EscapeDataString(escalationPolicyId)}");
        filter.Append(CultureInfo.InvariantCulture, $"&{Uri.EscapeDataString("include[]")}=users");
        await foreach (var entry in OnCallPagesAsync(filter, since, until, cancellationToken))
        {
            yield return entry;
        }
    }

    /// <summary>The on-call entries of a filter over [since, until], page by page.</summary>
    private async IAsyncEnumerable<PagerDutyOnCall> OnCallPagesAsync(StringBuilder filter, DateTimeOffset since, DateTimeOffset until, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        filter.Append(CultureInfo.InvariantCulture, $"&since={Uri.EscapeDataString(since.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture))}");
        filter.Append(CultureInfo.InvariantCulture, $"&until={Uri.EscapeDataString(until.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture))}");
        var prefix = filter.ToString();
        await foreach (var page in PagesAsync<PagerDutyOnCallsPage>(offset => $"{prefix}&limit={PageSize}&offset={offset}", p => (p.More, p.Oncalls?.Count ?? 0), cancellationToken))
        {
            foreach (var entry in page.Oncalls ?? [])
            {
                yield return entry;
            }
        }
    }

    private async IAsyncEnumerable<TPage> PagesAsync<TPage>(Func<int, string> pathForOffset, Func<TPage, (bool More, int Count)> paging, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var offset = 0;
        for (var pageNumber = 1; ; pageNumber++)
        {
            var page = await GetAsync<TPage>(pathForOffset(offset), cancellationToken);
            yield return page;
            var (more, count) = paging(page);
            if (!more)
            {
                yield break;
            }

            // A page that says "more" but holds nothing, or a server that never stops, must not loop forever.
            if (count == 0 || pageNumber >= _options.MaxPages)
            {
                throw new PagerDutyApiException($"PagerDuty pagination did not end after {pageNumber} page(s).");
            }

            offset += count;
        }
    }

    private async Task<T> GetAsync<T>(string relativePath, CancellationToken cancellationToken)
    {
        var uri = new Uri(BaseUri(_options.ApiBaseUrl), relativePath);
        HttpResponseMessage response;
        try
        {
            response = await _pipeline.ExecuteAsync(
                async (state, ct) =>
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, state.uri);
                    request.Headers.TryAddWithoutValidation("Authorization", $"Token token={state.token}");
                    request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/vnd.pagerduty+json") { Parameters = { new NameValueHeaderValue("version", "2") } });
                    return await state.http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
                },
                (uri, token: _options.ApiToken, http: _httpFactory.CreateClient(HttpClientName)),
                cancellationToken);
        }
        catch (TimeoutRejectedException ex)
        {
            throw new PagerDutyApiException("PagerDuty did not answer in time.", ex);
        }
        catch (HttpRequestException ex)
        {
            throw new PagerDutyApiException($"PagerDuty could not be reached ({ex.HttpRequestError}).", ex);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                // The body may echo the request; only the status and PagerDuty's error code are worth keeping.
                var code = await ReadErrorCodeAsync(response, cancellationToken);
                throw new PagerDutyApiException($"PagerDuty answered HTTP {(int)response.StatusCode}{(code is null ? "" : $" (error code {code})")}.");
            }

            try
            {
                var body = await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken);
                return body ?? throw new PagerDutyApiException("PagerDuty answered an empty body.");
            }
            catch (JsonException ex)
            {
                throw new PagerDutyApiException("PagerDuty answered malformed JSON.", ex);
            }
        }
    }

    private static async Task<int?> ReadErrorCodeAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            using var doc = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), default, cancellationToken);
            return doc.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object
                && error.TryGetProperty("code", out var code) && code.TryGetInt32(out var value) ? value : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    internal static Uri BaseUri(string baseUrl) => new(baseUrl.TrimEnd('/') + "/");

    /// <summary>The wait PagerDuty asks for: Retry-After (seconds or a date) or ratelimit-reset (seconds).</summary>
    internal static TimeSpan? RequestedWait(HttpResponseMessage response, DateTimeOffset now)
    {
        var retryAfter = response.Headers.RetryAfter;
        if (retryAfter?.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (retryAfter?.Date is { } date)
        {
            var wait = date - now;
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        if (response.Headers.TryGetValues("ratelimit-reset", out var values)
            && int.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return TimeSpan.FromSeconds(seconds);
        }

        return null;
    }

    private static ResiliencePipeline<HttpResponseMessage> BuildPipeline(PagerDutyOptions options, ILogger logger)
    {
        return new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                // Polly needs at least one; MaxRetries = 0 is honoured by ShouldHandle below.
                MaxRetryAttempts = Math.Max(options.MaxRetries, 1),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryDelay,
                ShouldHandle = args =>
                {
                    if (options.MaxRetries <= 0)
                    {
                        return PredicateResult.False();
                    }

                    return args.Outcome switch
                    {
                        { Exception: HttpRequestException or TimeoutRejectedException } => PredicateResult.True(),
                        // A wait longer than the whole budget cannot be honoured: give up now rather than time out.
                        { Result.StatusCode: HttpStatusCode.TooManyRequests } r => new ValueTask<bool>((RequestedWait(r.Result!, DateTimeOffset.UtcNow) ?? TimeSpan.Zero) < options.Timeout),
                        { Result.StatusCode: >= HttpStatusCode.InternalServerError } => PredicateResult.True(),
                        _ => PredicateResult.False(),
                    };
                },
                DelayGenerator = args => new ValueTask<TimeSpan?>(args.Outcome.Result is { } r ? RequestedWait(r, DateTimeOffset.UtcNow) : null),
                OnRetry = args =>
                {
                    var status = args.Outcome.Result is { } r ? (int)r.StatusCode : 0;
                    var error = args.Outcome.Exception is { } e ? e.GetType().Name : "no exception";
                    LogRetry(logger, args.AttemptNumber + 1, status, error, args.RetryDelay);
                    return default;
                },
            })
            .AddTimeout(options.AttemptTimeout)
            .Build();
    }

    [LoggerMessage(EventId = 7101, Level = LogLevel.Information, Message = "PagerDuty attempt {Attempt} failed (HTTP {Status}, {Error}); retrying in {Delay}.")]
    private static partial void LogRetry(ILogger logger, int attempt, int status, string? error, TimeSpan delay);
}
