namespace AccessWorkflows.Requests;

/// <summary>
/// What people do to requests, whatever the channel (HTTP API, Slack, Teams, webhook, CLI). Each command checks
/// who may do it before anything changes (SPEC 6.5, 12) and answers at once; the workflow does the rest.
/// Callers pass identities they have authenticated themselves (a verified token, a Slack user resolved through
/// users.info, a Teams member lookup), never an identity taken from a request body.
/// </summary>
public interface IAccessRequestCommands
{
    /// <summary>Validates against the rules, records the request and starts its workflow. With an
    /// <paramref name="idempotencyKey"/>, the same caller and key return the request made the first time.</summary>
    Task<SubmitResult> SubmitAsync(string requesterEmail, NewAccessRequest body, string channel, string? idempotencyKey = null, CancellationToken cancellationToken = default);

    /// <summary>An approver's decision. <paramref name="decisionId"/> de-duplicates deliveries of the same click.</summary>
    Task<CommandResult> DecideAsync(string requestId, string approverEmail, DecisionKind decision, TimeSpan? duration, string? comment, string channel, string decisionId, CancellationToken cancellationToken = default);

    /// <summary>
    /// <see cref="DecideAsync"/> for a caller that has given the approver their answer already and runs this behind it
    /// (a Teams click's queued command): the same checks and the same outcome, with one difference. The audit entry of
    /// a refusal (<c>decision.refused</c>) may be written after this returns, in a batch with other refusals: a crash
    /// before then loses it (it changed nothing), a clean stop does not. A decision that counts is recorded (raised
    /// into its workflow) before this returns, exactly as with <see cref="DecideAsync"/>. Implementations that do not
    /// batch need not override it.
    /// </summary>
    Task<CommandResult> DecideAnsweredAsync(string requestId, string approverEmail, DecisionKind decision, TimeSpan? duration, string? comment, string channel, string decisionId, CancellationToken cancellationToken = default) =>
        DecideAsync(requestId, approverEmail, decision, duration, comment, channel, decisionId, cancellationToken);

    /// <summary>The requester (or the beneficiary) gives access back early.</summary>
    Task<CommandResult> RelinquishAsync(string requestId, string requesterEmail, string channel, CancellationToken cancellationToken = default);

    /// <summary>An admin ends a request: a pending one is refused, an active one is revoked.</summary>
    Task<CommandResult> RevokeAsync(string requestId, string adminEmail, string channel, string? comment, CancellationToken cancellationToken = default);

    /// <summary>The requester (or the beneficiary) asks to add <paramref name="duration"/> to the active grant's expiry
    /// (rule key <c>extension</c>). Applied at once, or pending until an approver decides when the rule requires it.
    /// <paramref name="extensionId"/> de-duplicates deliveries of the same ask.</summary>
    Task<CommandResult> ExtendAsync(string requestId, string requesterEmail, TimeSpan duration, string? reason, string channel, string extensionId, CancellationToken cancellationToken = default);

    /// <summary>The requester withdraws a pending request. Accepted only while pending; once accepted, the request is
    /// never provisioned, even when an approval is being counted at the same moment.</summary>
    Task<CommandResult> CancelAsync(string requestId, string requesterEmail, string channel, CancellationToken cancellationToken = default);
    /// <summary>The post-incident review of a break-glass request, by an approver of any of its levels or an admin
    /// (never its requester): 400 without a comment, 409 when not break-glass or already reviewed.</summary>
    Task<CommandResult> ReviewAsync(string requestId, string reviewerEmail, string? comment, string channel, CancellationToken cancellationToken = default);
}

/// <summary>A new request as a caller sends it (SPEC 4); the requester is never part of it.</summary>
public sealed record NewAccessRequest(string? AccountId, AccessSpec? Access, string? Duration, string? Reason, string? OnBehalfOf);

/// <summary>How a command ended, mapped by hosts to 202 / 400 / 403 / 404 / 409 / 429.</summary>
public enum CommandOutcome
{
    Accepted,
    Invalid,
    Forbidden,
    NotFound,
    Conflict,

    /// <summary>A per-requester limit of the rule is reached (<c>maxPendingPerRequester</c>, <c>maxActivePerRequester</c>).</summary>
    LimitReached,
}

/// <param name="Problem">Why it was not accepted, for the person (safe to show; contains no secrets).</param>
/// <param name="Errors">Field errors of an invalid submission, keyed by JSON path.</param>
public sealed record CommandResult(CommandOutcome Outcome, string? Problem = null, AccessRequest? Request = null, IReadOnlyDictionary<string, string>? Errors = null)
{
    public bool Accepted => Outcome == CommandOutcome.Accepted;

    public static CommandResult Ok(AccessRequest request) => new(CommandOutcome.Accepted, null, request);

    public static CommandResult Refused(CommandOutcome outcome, string problem, AccessRequest? request = null) => new(outcome, problem, request);
}

/// <summary>The result of a submission: the request when accepted.</summary>
public sealed record SubmitResult(CommandOutcome Outcome, AccessRequest? Request = null, string? Problem = null, IReadOnlyDictionary<string, string>? Errors = null)
{
    public bool Accepted => Outcome == CommandOutcome.Accepted;
}
