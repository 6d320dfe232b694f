using System.Text.Json.Serialization;
using AccessWorkflows.Requests;

namespace AccessWorkflows.Notifications;

/// <summary>What happened to a request, for people. Each channel (Slack, Teams, webhook, in-process) turns it into
/// its own messages: prompts to a level's approvers, DMs to the requester, in-place updates of earlier cards.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<NotificationKind>))]
public enum NotificationKind
{
    /// <summary>Requester: your request was received.</summary>
    Received,

    /// <summary>Approvers of <see cref="Notification.Level"/>: please decide.</summary>
    ApprovalRequested,

    /// <summary>A decision counted (an approval short of the threshold); cards show it.</summary>
    DecisionRecorded,

    /// <summary>Approved, being provisioned.</summary>
    Approved,

    /// <summary>Provisioned: requester gets expiry and a Relinquish button; cards show who approved, until when.</summary>
    Active,

    Denied,

    TimedOut,

    /// <summary>Requester: ten minutes left.</summary>
    ExpiryReminder,

    /// <summary>Expired, relinquished or revoked (see the request's status).</summary>
    Ended,

    /// <summary>Provisioning failed; nothing is left granted.</summary>
    Failed,

    /// <summary>Revocation keeps failing: admins must look (the workflow keeps retrying).</summary>
    RevokeFailing,

    /// <summary>The requester asked to extend the active grant and the rule's approvers must decide (version 4).</summary>
    ExtensionRequested,

    /// <summary>The grant's expiry moved (see the request's <c>expiresAt</c>); cards show the new expiry.</summary>
    Extended,

    /// <summary>The pending extension was denied (or could not be applied); the grant keeps its expiry.</summary>
    ExtensionDenied,

    /// <summary>The requester approved their own request through break-glass: every approver of every level, every
    /// admin (<see cref="Requests.BreakGlassPlan.Alerted"/>) and the rule's extra destinations are alerted at once.</summary>
    BreakGlass,

    /// <summary>A break-glass request still has no review: the same people are reminded, once a day (ids carry the
    /// day, so a reminder that runs twice in a day sends once).</summary>
    BreakGlassUnreviewed,

    /// <summary>What an ended grant was used for is collected (<see cref="Requests.AccessRequest.Activity"/>): cards
    /// are refreshed to show it and the webhook sends the ended event again with it; nobody is messaged.</summary>
    ActivityCollected,
}

/// <summary>
/// One notification, delivered to every enabled channel by its own activity. <see cref="Id"/> is stable across
/// re-runs so a channel can skip what it already delivered.
/// </summary>
public sealed record Notification
{
    public required string Id { get; init; }

    public required NotificationKind Kind { get; init; }

    /// <summary>The request as it stands after the change.</summary>
    public required AccessRequest Request { get; init; }

    /// <summary>For <see cref="NotificationKind.ApprovalRequested"/>: the level being prompted.</summary>
    public int? Level { get; init; }

    /// <summary>Who caused it (approver, relinquisher, admin), when a person did.</summary>
    public string? Actor { get; init; }

    public string? Comment { get; init; }

    public DateTimeOffset At { get; init; }
}

/// <summary>A way to reach people. Implementations are idempotent per <see cref="Notification.Id"/>.</summary>
public interface INotificationChannel
{
    /// <summary>Stable name (slack, teams, webhook, inprocess), used in activity inputs.</summary>
    string Name { get; }

    Task DeliverAsync(Notification notification, CancellationToken cancellationToken = default);
}
