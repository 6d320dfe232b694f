using System.Text.Json.Serialization;

namespace AccessWorkflows.Requests;

/// <summary>
/// The approval rules of a request, resolved from its rule when it was created (groups expanded to emails) and
/// frozen with it: a later edit of the rules file changes no running request, and replay stays deterministic.
/// </summary>
public sealed record ApprovalPlan
{
    public bool Auto { get; init; }

    public OnCallPlan? OnCall { get; init; }

    public IReadOnlyList<ApprovalLevelPlan> Levels { get; init; } = [];

    [JsonConverter(typeof(IsoDurationJsonConverter))]
    public TimeSpan ApprovalWindow { get; init; } = TimeSpan.FromDays(1);

    public bool AllowSelfApproval { get; init; }

    [JsonConverter(typeof(IsoDurationJsonConverter))]
    public TimeSpan MaxDuration { get; init; }

    /// <summary>How an active grant may be extended (rule key <c>extension</c>); null: it may not.</summary>
    public ExtensionPlan? Extension { get; init; }
}

/// <summary>The rule's <c>extension</c> key, frozen with the request.</summary>
/// <param name="MaxExtensions">How many extensions one grant may get (pending ones count).</param>
/// <param name="MaxExtendBy">The most one extension may add to the current expiry.</param>
/// <param name="RequireApproval">Whether one approver of the rule must approve each extension first.</param>
public sealed record ExtensionPlan(
    int MaxExtensions,
    [property: JsonConverter(typeof(IsoDurationJsonConverter))] TimeSpan MaxExtendBy,
    bool RequireApproval);

public sealed record OnCallPlan(
    IReadOnlyList<string> PagerDutySchedules,
    int EscalationLevel,
    [property: JsonConverter(typeof(IsoDurationJsonConverter))] TimeSpan Duration);

/// <summary>One approval level: who may decide, how many approvals it takes, where to prompt, when to escalate.</summary>
public sealed record ApprovalLevelPlan
{
    /// <summary>1-based.</summary>
    public int Level { get; init; }

    /// <summary>Lower-case emails.</summary>
    public IReadOnlyList<string> Approvers { get; init; } = [];

    public int MinApprovals { get; init; } = 1;

    public string? SlackChannel { get; init; }

    public string? TeamsChannel { get; init; }

    public bool Webhook { get; init; }

    [JsonConverter(typeof(NullableIsoDurationJsonConverter))]
    public TimeSpan? EscalateAfter { get; init; }
}
