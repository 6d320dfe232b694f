using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using AccessWorkflows.Notifications;
using AccessWorkflows.Requests;

namespace AccessWorkflows.Webhook;

/// <summary>
/// One event as POSTed to the receiver (docs/webhook.md). Fields that do not apply to an event are omitted.
/// </summary>
/// <param name="Id">Stable per notification: a re-delivery carries the same id, so receivers de-duplicate on it.</param>
/// <param name="Level">For <c>request.pending</c>: the approval level being prompted.</param>
/// <param name="Approvers">For <c>request.pending</c> of a level with <c>notify: { webhook: true }</c>: who may decide.</param>
/// <param name="Actor">Who caused the event, when a person did (approver, relinquisher, admin).</param>
public sealed record WebhookEvent(
    string Id,
    string Type,
    DateTimeOffset OccurredAt,
    WebhookRequest Request,
    int? Level = null,
    IReadOnlyList<string>? Approvers = null,
    string? Actor = null,
    string? Comment = null);

/// <summary>The request as the receiver sees it: the fields of GET /api/requests/{id} (SPEC 8), without the
/// internal approval plan (other levels' approvers and chat channels are not the receiver's business).</summary>
public sealed record WebhookRequest(
    string Id,
    string Requester,
    string? OnBehalfOf,
    string AccountId,
    AccessSpec Access,
    string Duration,
    string? Reason,
    string RuleName,
    string Channel,
    string Status,
    int ApprovalLevel,
    IReadOnlyList<WebhookDecision> Decisions,
    DateTimeOffset CreatedAt,
    DateTimeOffset? GrantedAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? EndedAt,
    string? GrantedDuration,
    string? ApprovedBy,
    string? EndedBy,
    string? StatusDetail,
    int ApprovalStage = 1,
    int ApprovalStages = 1,
    bool BreakGlass = false,
    BreakGlassReview? Review = null,
    AccessWorkflows.Grants.Activity.GrantActivity? Activity = null);

public sealed record WebhookDecision(string Approver, DecisionKind Decision, string? Duration, string? Comment, string Channel, int Level, DateTimeOffset At);

/// <summary>Maps notifications to webhook events (SPEC 10).</summary>
public static class WebhookEvents
{
    public const string Created = "request.created";
    public const string Pending = "request.pending";
    public const string Approved = "request.approved";
    public const string Denied = "request.denied";
    public const string Active = "request.active";
    public const string Ended = "request.ended";
    public const string TimedOut = "request.timedOut";
    public const string Failed = "request.failed";

    // Beyond SPEC 10's list, for the notifications people get too; receivers may ignore unknown types.
    public const string DecisionRecorded = "request.decisionRecorded";
    public const string Expiring = "request.expiring";
    public const string RevokeFailing = "request.revokeFailing";

    /// <summary>The requester asked to extend the active grant and an approver must decide (<c>request.expiresAt</c>
    /// is still the current expiry).</summary>
    public const string ExtensionRequested = "request.extensionRequested";

    /// <summary>The grant was extended: <c>request.expiresAt</c> is the new expiry.</summary>
    public const string Extended = "request.extended";

    /// <summary>The pending extension was denied or could not be applied; the expiry is unchanged.</summary>
    public const string ExtensionDenied = "request.extensionDenied";
    /// <summary>The requester approved their own request through break-glass (<c>actor</c>, <c>comment</c>: why).</summary>
    public const string BreakGlass = "request.breakGlass";

    /// <summary>The daily reminder that a break-glass request still has no review.</summary>
    public const string BreakGlassUnreviewed = "request.breakGlassUnreviewed";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string TypeOf(NotificationKind kind) => kind switch
    {
        NotificationKind.Received => Created,
        NotificationKind.ApprovalRequested => Pending,
        NotificationKind.DecisionRecorded => DecisionRecorded,
        NotificationKind.Approved => Approved,
        NotificationKind.Active => Active,
        NotificationKind.Denied => Denied,
        NotificationKind.TimedOut => TimedOut,
        NotificationKind.ExpiryReminder => Expiring,
        NotificationKind.Ended => Ended,
        NotificationKind.Failed => Failed,
        NotificationKind.RevokeFailing => RevokeFailing,
        NotificationKind.ExtensionRequested => ExtensionRequested,
        NotificationKind.Extended => Extended,
        NotificationKind.ExtensionDenied => ExtensionDenied,
        NotificationKind.BreakGlass => BreakGlass,
        NotificationKind.BreakGlassUnreviewed => BreakGlassUnreviewed,

        // The ended event again, now carrying request.activity (workflow version 4, ActivityDelay after the end).
        NotificationKind.ActivityCollected => Ended,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown notification kind."),
    };

    /// <summary>The event id for a notification: a hash, so the internal id format is not part of the contract.</summary>
    public static string EventId(string notificationId)
        => "evt_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("accessworkflows.webhook:" + notificationId)))[..32];

    public static WebhookEvent From(Notification notification)
    {
        var request = notification.Request;
        int? level = null;
        IReadOnlyList<string>? approvers = null;
        if (notification.Kind == NotificationKind.ApprovalRequested)
        {
            level = notification.Level ?? request.ApprovalLevel;
            var plan = request.Approval.Levels.FirstOrDefault(l => l.Level == level);
            if (plan is { Webhook: true })
            {
                approvers = [.. plan.Approvers];
            }
        }

        return new WebhookEvent(
            EventId(notification.Id),
            TypeOf(notification.Kind),
            notification.At,
            ToWire(request),
            level,
            approvers,
            notification.Actor,
            notification.Comment);
    }

    public static byte[] Serialize(WebhookEvent e) => JsonSerializer.SerializeToUtf8Bytes(e, Json);

    private static WebhookRequest ToWire(AccessRequest r) => new(
        r.Id,
        r.Requester,
        r.OnBehalfOf,
        r.AccountId,
        r.Access,
        AccessDuration.Format(r.Duration),
        r.Reason,
        r.RuleName,
        r.Channel,
        r.Status.WireName(),
        r.ApprovalLevel,
        [.. r.Decisions.Select(d => new WebhookDecision(d.Approver, d.Decision, d.Duration is { } x ? AccessDuration.Format(x) : null, d.Comment, d.Channel, d.Level, d.At))],
        r.CreatedAt,
        r.GrantedAt,
        r.ExpiresAt,
        r.EndedAt,
        r.GrantedDuration is { } g ? AccessDuration.Format(g) : null,
        r.ApprovedBy,
        r.EndedBy,
        r.StatusDetail,
        r.ApprovalStage,
        r.Approval.StageCount,
        r.BreakGlass,
        r.Review,
        r.Activity);
}
