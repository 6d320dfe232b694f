using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using AccessWorkflows.Notifications;
using AccessWorkflows.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace AccessWorkflows.Webhook;

/// <summary>The receiver did not take an event (non-2xx, network error, time-out) after the in-process retries.</summary>
public sealed class WebhookDeliveryException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Sends every notification as a signed event to <c>AccessWorkflows:Webhook:Url</c> (SPEC 10).
/// </summary>
/// <remarks>
/// Delivery is at least once: a quick blip is retried here a few times; anything longer makes
/// <see cref="DeliverAsync"/> throw, so the workflow's durable activity retry re-delivers later (and, because the
/// workflow delivers one request's notifications in order, a receiver that was down gets every event, in order,
/// once it is back). Each attempt is signed afresh, so a late re-delivery is not stale at the receiver; the body
/// and the event id stay the same, so the receiver de-duplicates on <c>id</c>. A delivery that succeeded is
/// remembered in <see cref="IMessageRefStore"/> when one is registered, and not sent again.
/// </remarks>
public sealed partial class WebhookNotificationChannel : INotificationChannel
{
    public const string ChannelName = "webhook";
    public const string HttpClientName = "AccessWorkflows.Webhook";

    private readonly IHttpClientFactory _httpFactory;
    private readonly WebhookOptions _options;
    private readonly TimeProvider _time;
    private readonly IMessageRefStore? _deliveries;
    private readonly ILogger<WebhookNotificationChannel> _logger;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;

    public WebhookNotificationChannel(IHttpClientFactory httpFactory, IOptions<WebhookOptions> options, TimeProvider time, ILogger<WebhookNotificationChannel> logger, IMessageRefStore? deliveries = null)
    {
        _httpFactory = httpFactory;
        _options = options.Value;
        _time = time;
        _deliveries = deliveries;
        _logger = logger;
        _pipeline = BuildPipeline();
    }

    public string Name => ChannelName;

    public async Task DeliverAsync(Notification notification, CancellationToken cancellationToken = default)
    {
        var url = _options.Url ?? throw new InvalidOperationException("AccessWorkflows:Webhook:Url is not set.");
        var secret = _options.Secret ?? throw new InvalidOperationException("AccessWorkflows:Webhook:Secret is not set.");
        var deliveryKey = $"{ChannelName}:{notification.Id}";
        if (_deliveries is not null && await _deliveries.IsDoneAsync(deliveryKey, cancellationToken))
        {
            return;
        }

        var e = WebhookEvents.From(notification);
        var body = WebhookEvents.Serialize(e);
        var http = _httpFactory.CreateClient(HttpClientName);
        HttpResponseMessage response;
        try
        {
            response = await _pipeline.ExecuteAsync(
                async (state, ct) =>
                {
                    var timestamp = state.self._time.GetUtcNow().ToUnixTimeSeconds();
                    using var request = new HttpRequestMessage(HttpMethod.Post, state.url)
                    {
                        Content = new ByteArrayContent(state.body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" } } },
                    };
                    request.Headers.Add(WebhookSignature.TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
                    request.Headers.Add(WebhookSignature.SignatureHeader, WebhookSignature.Sign(state.secret, timestamp, state.body));
                    request.Headers.Add("X-AccessWorkflows-Event-Id", state.e.Id);
                    request.Headers.Add("X-AccessWorkflows-Event-Type", state.e.Type);
                    return await state.http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
                },
                (self: this, url, secret, body, e, http),
                cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutRejectedException)
        {
            LogFailed(_logger, e.Type, e.Id, ex.GetType().Name);
            throw new WebhookDeliveryException($"The webhook receiver could not be reached ({ex.GetType().Name}).", ex);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                LogFailed(_logger, e.Type, e.Id, $"HTTP {(int)response.StatusCode}");
                throw new WebhookDeliveryException($"The webhook receiver answered HTTP {(int)response.StatusCode} to {e.Type} {e.Id}.");
            }
        }

        LogDelivered(_logger, e.Type, e.Id);
        if (_deliveries is not null)
        {
            await _deliveries.MarkDoneAsync(deliveryKey, cancellationToken);
        }
    }

    private ResiliencePipeline<HttpResponseMessage> BuildPipeline()
    {
        var retries = _options.DeliveryAttempts - 1;
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = _time };
        if (retries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = retries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.DeliveryRetryDelay,
                ShouldHandle = args => args.Outcome switch
                {
                    { Exception: HttpRequestException or TimeoutRejectedException } => PredicateResult.True(),
                    { Result.StatusCode: HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout or >= HttpStatusCode.InternalServerError } => PredicateResult.True(),
                    _ => PredicateResult.False(),
                },
                // A receiver that names a short wait gets it; a long one is the durable retry's job.
                DelayGenerator = args => new ValueTask<TimeSpan?>(
                    args.Outcome.Result?.Headers.RetryAfter?.Delta is { } d && d <= TimeSpan.FromSeconds(5) ? d : null),
                OnRetry = args =>
                {
                    var status = args.Outcome.Result is { } r ? (int)r.StatusCode : 0;
                    LogRetry(_logger, args.AttemptNumber + 1, status, args.RetryDelay);
                    return default;
                },
            });
        }

        return builder.AddTimeout(_options.DeliveryTimeout).Build();
    }

    [LoggerMessage(EventId = 7201, Level = LogLevel.Information, Message = "Webhook event {Type} {EventId} delivered.")]
    private static partial void LogDelivered(ILogger logger, string type, string eventId);

    [LoggerMessage(EventId = 7202, Level = LogLevel.Information, Message = "Webhook attempt {Attempt} failed (HTTP {Status}); retrying in {Delay}.")]
    private static partial void LogRetry(ILogger logger, int attempt, int status, TimeSpan delay);

    [LoggerMessage(EventId = 7203, Level = LogLevel.Warning, Message = "Webhook event {Type} {EventId} not delivered ({Reason}); the workflow will retry.")]
    private static partial void LogFailed(ILogger logger, string type, string eventId, string reason);
}
