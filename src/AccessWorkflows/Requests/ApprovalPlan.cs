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
}

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
