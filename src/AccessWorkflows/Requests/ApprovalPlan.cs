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

    /// <summary>Every level, numbered 1..n across stages in file order (a rule with <c>stages</c> lists the levels of
    /// stage 1, then those of stage 2, ...; <see cref="ApprovalLevelPlan.Stage"/> says which).</summary>
    public IReadOnlyList<ApprovalLevelPlan> Levels { get; init; } = [];

    /// <summary>The break-glass settings of the rule; null when the requester may not approve their own request.</summary>
    public BreakGlassPlan? BreakGlass { get; init; }

    /// <summary>How many stages must pass: 1 for a rule with plain <c>levels</c>.</summary>
    [JsonIgnore]
    public int StageCount => Levels.Count == 0 ? 1 : Levels.Max(l => l.Stage);

    /// <summary>The stage of a (global) level number; levels before any notification count as stage 1.</summary>
    public int StageOf(int level) => Levels.FirstOrDefault(l => l.Level == level)?.Stage ?? 1;

    /// <summary>The first level of the stage after the one <paramref name="level"/> belongs to; null in the last stage.</summary>
    public int? FirstLevelOfNextStage(int level)
    {
        var stage = StageOf(level);
        return Levels.Where(l => l.Stage == stage + 1).Select(l => (int?)l.Level).Min();
    }

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
    /// <summary>1-based, counted across stages.</summary>
    public int Level { get; init; }

    /// <summary>1-based stage the level belongs to; 1 for every level of a rule without stages (and of requests
    /// recorded before stages existed, whose stored plans have no such field).</summary>
    public int Stage { get; init; } = 1;

    /// <summary>Lower-case emails.</summary>
    public IReadOnlyList<string> Approvers { get; init; } = [];

    public int MinApprovals { get; init; } = 1;

    public string? SlackChannel { get; init; }

    public string? TeamsChannel { get; init; }

    public bool Webhook { get; init; }

    [JsonConverter(typeof(NullableIsoDurationJsonConverter))]
    public TimeSpan? EscalateAfter { get; init; }

    /// <summary>PagerDuty escalation policy whose on-call responders become approvers when this level is notified.</summary>
    public string? PagerDutyEscalationPolicy { get; init; }

    /// <summary>The responders found on call in <see cref="PagerDutyEscalationPolicy"/> when the level was notified
    /// (lower-case emails, also added to <see cref="Approvers"/>); empty before, or when PagerDuty named nobody.</summary>
    public IReadOnlyList<string> OnCallApprovers { get; init; } = [];
}

/// <summary>A rule's <c>breakGlass</c> frozen into the request.</summary>
/// <param name="MaxDuration">A break-glass approval grants at most this long.</param>
/// <param name="SlackChannel">Extra Slack channel alerted (besides every level's channel).</param>
/// <param name="TeamsChannel">Extra Teams conversation alerted (besides every level's channel).</param>
/// <param name="Alerted">Lower-case emails alerted personally: every approver of every level, then every admin.</param>
public sealed record BreakGlassPlan(
    [property: JsonConverter(typeof(IsoDurationJsonConverter))] TimeSpan MaxDuration,
    string? SlackChannel,
    string? TeamsChannel,
    IReadOnlyList<string> Alerted);
