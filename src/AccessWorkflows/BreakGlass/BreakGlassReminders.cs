using System.Globalization;
using AccessWorkflows.Notifications;
using AccessWorkflows.Requests;
using AccessWorkflows.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AccessWorkflows.BreakGlass;

/// <summary>How unreviewed break-glass requests are re-announced (<c>AccessWorkflows:BreakGlass:*</c>).</summary>
public sealed class BreakGlassOptions
{
    /// <summary>How often the server looks for unreviewed break-glass requests (zero turns the job off). Each request
    /// is announced at most once per UTC day however often this runs; the Functions app runs hourly.</summary>
    public TimeSpan ReminderInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long after the break-glass the first reminder may go out: the alert itself has just told everyone,
    /// so a request is reminded from the day after it on.</summary>
    public TimeSpan ReminderAfter { get; set; } = TimeSpan.FromDays(1);
}

/// <summary>
/// Re-announces every break-glass request that still has no review, once per UTC day, to every enabled channel
/// (the same people as the alert: every approver of every level, every admin, the rule's extra destinations).
/// Both hosts run it periodically. It does not go through the workflow: the review is wanted long after the grant
/// ended and its orchestration finished, and a reminder changes nothing of the request.
/// </summary>
/// <remarks>Idempotent per day: the notification id is the request id and the UTC date, and every channel skips an
/// id it already delivered, so a run repeated within the day (a restart, two instances, a retry) sends nothing twice.</remarks>
public sealed partial class BreakGlassReminders
{
    private const int PageSize = 200;

    private readonly IRequestStore _requests;
    private readonly IEnumerable<INotificationChannel> _channels;
    private readonly TimeProvider _time;
    private readonly BreakGlassOptions _options;
    private readonly ILogger<BreakGlassReminders> _logger;

    public BreakGlassReminders(IRequestStore requests, IEnumerable<INotificationChannel> channels, TimeProvider time, IOptions<BreakGlassOptions> options, ILogger<BreakGlassReminders> logger)
    {
        _requests = requests;
        _channels = channels;
        _time = time;
        _options = options.Value;
        _logger = logger;
    }

    /// <summary>The notification id of a request's reminder on the UTC day of <paramref name="at"/>.</summary>
    public static string ReminderId(string requestId, DateTimeOffset at) =>
        $"{requestId}:breakglass-unreviewed:{at.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}";

    /// <summary>Announces each unreviewed break-glass request old enough; returns how many were announced. A channel
    /// that fails is logged and skipped for that request (the next run tries again: the day's id is not delivered).</summary>
    public async Task<int> AnnounceUnreviewedAsync(CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        var announced = 0;
        string? token = null;
        do
        {
            var page = await _requests.QueryAsync(new RequestQuery(PageSize: PageSize, ContinuationToken: token, UnreviewedBreakGlass: true), cancellationToken);
            foreach (var request in page.Items.Where(r => BrokenAt(r) is { } at && now - at >= _options.ReminderAfter))
            {
                var notification = new Notification
                {
                    Id = ReminderId(request.Id, now),
                    Kind = NotificationKind.BreakGlassUnreviewed,
                    Request = request,
                    Actor = request.Requester,
                    At = now,
                };
                foreach (var channel in _channels)
                {
                    try
                    {
                        await channel.DeliverAsync(notification, cancellationToken);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        LogReminderFailed(_logger, request.Id, channel.Name, ex.Message);
                    }
                }

                announced++;
            }

            token = page.ContinuationToken;
        }
        while (token is not null);

        if (announced > 0)
        {
            LogAnnounced(_logger, announced);
        }

        return announced;
    }

    /// <summary>When the glass was broken: the requester's own approval (recorded at level 0).</summary>
    private static DateTimeOffset? BrokenAt(AccessRequest request) =>
        request.Decisions.LastOrDefault(d => d.Level == 0 && d.Decision == DecisionKind.Approve)?.At;

    [LoggerMessage(EventId = 1131, Level = LogLevel.Information, Message = "Re-announced {Count} unreviewed break-glass request(s)")]
    private static partial void LogAnnounced(ILogger logger, int count);

    [LoggerMessage(EventId = 1132, Level = LogLevel.Warning, Message = "The reminder of unreviewed break-glass request {RequestId} failed on channel {Channel} ({Error}); the next run tries again")]
    private static partial void LogReminderFailed(ILogger logger, string requestId, string channel, string error);
}
