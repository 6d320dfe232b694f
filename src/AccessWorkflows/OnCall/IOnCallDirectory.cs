using AccessWorkflows.Requests;

namespace AccessWorkflows.OnCall;

/// <summary>Who is on call (SPEC 10, PagerDuty). Never throws for a directory failure: it answers "not on call",
/// with the reason in <see cref="OnCallAnswer.Detail"/>, so an outage never approves anything.</summary>
public interface IOnCallDirectory
{
    Task<OnCallAnswer> IsOnCallAsync(string email, OnCallPlan plan, DateTimeOffset at, CancellationToken cancellationToken = default);

    /// <summary>
    /// The lower-case emails of the first responders (escalation level 1) on call in an escalation policy at
    /// <paramref name="at"/>, for a level that names <c>pagerDutyEscalationPolicy</c>. Unlike
    /// <see cref="IsOnCallAsync"/> this throws when the directory fails, so the activity retries; the workflow treats
    /// a lookup that keeps failing as nobody on call (the level keeps its listed approvers only).
    /// </summary>
    Task<IReadOnlyList<string>> OnCallResponderEmailsAsync(string escalationPolicyId, DateTimeOffset at, CancellationToken cancellationToken = default);
}

/// <param name="ScheduleId">The schedule the person is on call in, when on call.</param>
public sealed record OnCallAnswer(bool OnCall, string? ScheduleId, string? Detail)
{
    public static OnCallAnswer No(string detail) => new(false, null, detail);
}

/// <summary>The directory when none is configured: nobody is on call.</summary>
public sealed class NoOnCallDirectory : IOnCallDirectory
{
    public Task<OnCallAnswer> IsOnCallAsync(string email, OnCallPlan plan, DateTimeOffset at, CancellationToken cancellationToken = default)
        => Task.FromResult(OnCallAnswer.No("no on-call directory is configured"));

    public Task<IReadOnlyList<string>> OnCallResponderEmailsAsync(string escalationPolicyId, DateTimeOffset at, CancellationToken cancellationToken = default)
        => Task.FromResult<IReadOnlyList<string>>([]);
}
