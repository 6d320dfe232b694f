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

    public const string ApplyChangeActivity = "ApplyRequestChange";
    public const string DeliverActivity = "DeliverNotification";
    public const string CheckOnCallActivity = "CheckOnCall";
    public const string ProvisionActivity = "ProvisionAccess";
    public const string DeprovisionActivity = "DeprovisionAccess";
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
public sealed record AccessWorkflowInput(
    AccessRequest Request,
    IReadOnlyList<string> Channels,
    [property: JsonConverter(typeof(IsoDurationJsonConverter))] TimeSpan ReminderLead,
    int Version = 1)
{
    /// <summary>The version new requests start with. Raise it with every change of the orchestrator's sequence.</summary>
    /// <remarks>Version 2: decisions that arrive after the outcome are recorded as too late (audit
    /// <c>decision.late</c>) right after the request leaves pending, instead of being left unread.</remarks>
    public const int CurrentVersion = 2;
}

/// <summary>What the orchestration returns: how the request ended.</summary>
public sealed record AccessWorkflowResult(RequestStatus Status, string? Detail);

[JsonConverter(typeof(JsonStringEnumConverter<RequestChangeKind>))]
public enum RequestChangeKind
{
    Pending,
    Decision,
    DecisionRefused,

    /// <summary>A decision that arrived after the outcome: audited, not counted (workflow version 2).</summary>
    DecisionLate,
    Approved,
    Active,
    Ended,
    RevokeFailing,
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

    public DecisionRecord? Decision { get; init; }

    [JsonConverter(typeof(NullableIsoDurationJsonConverter))]
    public TimeSpan? GrantedDuration { get; init; }

    public string? ApprovedBy { get; init; }

    public DateTimeOffset? GrantedAt { get; init; }

    public DateTimeOffset? ExpiresAt { get; init; }

    public RequestStatus? EndStatus { get; init; }

    public string? Detail { get; init; }
}

public sealed record DeliverInput(string Channel, Notification Notification);

public sealed record OnCallInput(string Email, OnCallPlan Plan, DateTimeOffset At);

/// <summary>What to grant or take back, and to whom.</summary>
/// <param name="UserName">The IAM user resolved at provisioning; null when provisioning never got that far.</param>
public sealed record GrantInput(string RequestId, string AccountId, string Email, AccessSpec Access, string? UserName = null);
