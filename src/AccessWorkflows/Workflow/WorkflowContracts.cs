using System.Text.Json.Serialization;
using AccessWorkflows.Notifications;
using AccessWorkflows.Requests;

namespace AccessWorkflows.Workflow;

/// <summary>Names shared by the orchestrator, the activities and both hosts. Changing one breaks running instances.</summary>
public static class WorkflowNames
{
    public const string Orchestrator = "AccessRequestWorkflow";

    /// <summary>Event carrying a <see cref="DecisionEvent"/>.</summary>
    public const string DecisionEvent = "Decision";

    /// <summary>Event carrying an <see cref="EndCommand"/> from the requester.</summary>
    public const string RelinquishEvent = "Relinquish";

    /// <summary>Event carrying an <see cref="EndCommand"/> from an admin.</summary>
    public const string RevokeEvent = "Revoke";

    /// <summary>Event carrying an <see cref="ExtendCommand"/> from the requester (version 4).</summary>
    public const string ExtendEvent = "Extend";

    /// <summary>Event carrying an <see cref="EndCommand"/> from the requester who cancels while pending (version 4).</summary>
    public const string CancelEvent = "Cancel";

    public const string ApplyChangeActivity = "ApplyRequestChange";
    public const string DeliverActivity = "DeliverNotification";
    public const string CheckOnCallActivity = "CheckOnCall";

    /// <summary>Version 4: the on-call responders of a level's PagerDuty escalation policy (<see cref="OnCallRespondersInput"/>).</summary>
    public const string ResolveOnCallRespondersActivity = "ResolveOnCallResponders";
    public const string ProvisionActivity = "ProvisionAccess";
    public const string DeprovisionActivity = "DeprovisionAccess";

    /// <summary>Moves the expiry written into the grant's IAM policy (version 4); input <see cref="ExtendGrantInput"/>.</summary>
    public const string ExtendGrantActivity = "ExtendGrant";

    /// <summary>Version 4: collects and stores what the grant was used for, after <see cref="AccessWorkflowInput.ActivityDelay"/>.</summary>
    public const string CollectActivityActivity = "CollectGrantActivity";
}

/// <summary>The orchestration's input: the request as created and what was configured then.</summary>
/// <param name="Channels">The notification channels enabled when the request was created, frozen for replay.</param>
/// <param name="ReminderLead">How long before expiry the requester is reminded (10 minutes in production).</param>
/// <param name="Version">
/// The workflow version the instance was started with (<see cref="CurrentVersion"/> for new requests). A request
/// may sleep for days across a deployment, and its history replays on the new code: a change that alters the
/// sequence of activities, timers or waits applies only from the version that introduced it, and older versions
/// keep their path (docs/decisions/0009-orchestrator-versioning.md). Inputs recorded before the field existed
/// read as 1.
/// </param>
/// <param name="RevocationRetry">How revocation retries (version 2 on; version 1 instances use the defaults).</param>
/// <param name="Revoking">Set only on an execution continued as new while revocation keeps failing (version 2 on):
/// where the previous execution was, so the new one goes straight back to revoking.</param>
/// <param name="ActivityDelay">How long after a grant ends its CloudTrail activity is collected (version 4;
/// <c>AccessWorkflows:Aws:ActivityDelay</c>, frozen at start); null: <see cref="DefaultActivityDelay"/>.</param>
public sealed record AccessWorkflowInput(
    AccessRequest Request,
    IReadOnlyList<string> Channels,
    [property: JsonConverter(typeof(IsoDurationJsonConverter))] TimeSpan ReminderLead,
    int Version = 1,
    RevocationRetry? RevocationRetry = null,
    RevocationInProgress? Revoking = null,
    [property: JsonConverter(typeof(WaitJsonConverter))] TimeSpan? ActivityDelay = null)
{
    /// <summary>The version new requests start with. Raise it with every change of the orchestrator's sequence.</summary>
    /// <remarks>2: revocation that keeps failing continues as new after every round, so its history stays bounded.</remarks>
    /// <remarks>3: decisions that arrive after the outcome are recorded as too late (audit <c>decision.late</c>)
    /// right after the request leaves pending, instead of being left unread.</remarks>
    /// <remarks>4: the requester may cancel while pending (event <c>Cancel</c>; an approval refused by the store because
    /// of a cancel ends the request cancelled) and extend the active grant (event <c>Extend</c>, decisions while
    /// active decide a pending extension, the expiry and reminder timers move); break-glass (the requester's own approval with a comment approves at once, and everyone is
    /// alerted), and approval stages that must all pass in order.
    /// After a grant that was active ends, a durable timer waits <see cref="ActivityDelay"/> (CloudTrail's
    /// delivery delay) and <see cref="WorkflowNames.CollectActivityActivity"/> records what the grant was used for,
    /// then the channels show it (<see cref="Notifications.NotificationKind.ActivityCollected"/>).</remarks>
    public const int CurrentVersion = 4;

    /// <summary>The wait before collecting activity when the input carries none (SPEC 13's default).</summary>
    public static readonly TimeSpan DefaultActivityDelay = TimeSpan.FromMinutes(15);
}

/// <summary>How revocation retries while AWS refuses it (SPEC 6.9: until it succeeds, alerting loudly).</summary>
public sealed record RevocationRetry
{
    /// <summary>The first wait between attempts inside a round (doubling, at most a minute, six attempts).</summary>
    [JsonConverter(typeof(IsoDurationJsonConverter))]
    public TimeSpan FirstRetryInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The pause between rounds; admins are alerted after every failed round.</summary>
    [JsonConverter(typeof(IsoDurationJsonConverter))]
    public TimeSpan RoundPause { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>A revocation carried across <c>ContinueAsNew</c>: what to take back, and how the request ends once it is.</summary>
/// <param name="Round">The round the new execution starts with.</param>
public sealed record RevocationInProgress(GrantInput Grant, RequestStatus EndStatus, string By, string Channel, string? Comment, int Round);

/// <summary>What the orchestration returns: how the request ended.</summary>
public sealed record AccessWorkflowResult(RequestStatus Status, string? Detail);

[JsonConverter(typeof(JsonStringEnumConverter<RequestChangeKind>))]
public enum RequestChangeKind
{
    Pending,
    Decision,
    DecisionRefused,

    /// <summary>A decision that arrived after the outcome: audited, not counted (workflow version 3).</summary>
    DecisionLate,
    Approved,
    Active,
    Ended,
    RevokeFailing,

    /// <summary>An extension waits for an approver (version 4).</summary>
    ExtensionRequested,

    /// <summary>An approver approved the pending extension: audit only; <see cref="ExtensionApplied"/> follows.</summary>
    ExtensionApproved,

    /// <summary>The grant's expiry moved to <see cref="RequestChange.ExpiresAt"/>.</summary>
    ExtensionApplied,

    /// <summary>An approver denied the pending extension, or it could not be applied.</summary>
    ExtensionDenied,

    /// <summary>An ask the workflow refused (limits reached meanwhile): audit only.</summary>
    ExtensionRefused,
    /// <summary>The requester approved their own request under the rule's <c>breakGlass</c> (workflow version 4).</summary>
    BreakGlass,
}

/// <summary>
/// One change to a stored request, applied by <see cref="WorkflowNames.ApplyChangeActivity"/> together with its
/// audit event. <see cref="AuditId"/> comes from the orchestrator's deterministic <c>NewGuid</c>, so a re-run
/// activity neither applies the change twice nor writes the audit event twice.
/// </summary>
public sealed record RequestChange
{
    public required string RequestId { get; init; }

    public required RequestChangeKind Kind { get; init; }

    public required string AuditId { get; init; }

    public required DateTimeOffset At { get; init; }

    /// <summary>The person (or <c>system</c>) who caused it.</summary>
    public required string Actor { get; init; }

    public required string Channel { get; init; }

    public int? Level { get; init; }

    /// <summary>For <see cref="RequestChangeKind.Pending"/> (version 4): the level's PagerDuty on-call responders,
    /// who become its approvers.</summary>
    public IReadOnlyList<string>? OnCallApprovers { get; init; }

    public DecisionRecord? Decision { get; init; }

    [JsonConverter(typeof(NullableIsoDurationJsonConverter))]
    public TimeSpan? GrantedDuration { get; init; }

    public string? ApprovedBy { get; init; }

    public DateTimeOffset? GrantedAt { get; init; }

    public DateTimeOffset? ExpiresAt { get; init; }

    public RequestStatus? EndStatus { get; init; }

    public string? Detail { get; init; }

    /// <summary>The extension the change is about (extension kinds).</summary>
    public ExtensionRecord? Extension { get; init; }
}

/// <summary>The new end of an active grant, for <see cref="WorkflowNames.ExtendGrantActivity"/>.</summary>
public sealed record ExtendGrantInput(GrantInput Grant, DateTimeOffset ExpiresAt);

public sealed record DeliverInput(string Channel, Notification Notification);

public sealed record OnCallInput(string Email, OnCallPlan Plan, DateTimeOffset At);

/// <summary>Who is on call in <paramref name="EscalationPolicyId"/> at <paramref name="At"/> (the orchestrator's time).</summary>
public sealed record OnCallRespondersInput(string EscalationPolicyId, DateTimeOffset At);

/// <summary>The activity of a grant between when it became active and when it ended.</summary>
public sealed record ActivityInput(GrantInput Grant, DateTimeOffset From, DateTimeOffset To);

/// <summary>What to grant or take back, and to whom.</summary>
/// <param name="UserName">The IAM user resolved at provisioning; null when provisioning never got that far.</param>
public sealed record GrantInput(string RequestId, string AccountId, string Email, AccessSpec Access, string? UserName = null);

/// <summary>An ISO 8601 wait that may be zero (tests collect activity at once); request durations, which must be
/// positive, use <see cref="NullableIsoDurationJsonConverter"/>.</summary>
public sealed class WaitJsonConverter : JsonConverter<TimeSpan?>
{
    public override TimeSpan? Read(ref System.Text.Json.Utf8JsonReader reader, Type typeToConvert, System.Text.Json.JsonSerializerOptions options) =>
        reader.TokenType == System.Text.Json.JsonTokenType.Null ? null : System.Xml.XmlConvert.ToTimeSpan(reader.GetString()!);

    public override void Write(System.Text.Json.Utf8JsonWriter writer, TimeSpan? value, System.Text.Json.JsonSerializerOptions options)
    {
        if (value is { } wait)
        {
            writer.WriteStringValue(System.Xml.XmlConvert.ToString(wait));
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}
