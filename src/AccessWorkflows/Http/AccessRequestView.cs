using AccessWorkflows.Requests;

namespace AccessWorkflows.Http;

/// <summary>The JSON shape of a request in the API (SPEC 8): the fields of SPEC 4 plus its state. <c>approvalLevel</c>
/// counts levels across stages; <c>approvalStage</c> of <c>approvalStages</c> is the stage being decided (1 of 1 for a
/// rule without stages). <c>breakGlass</c> is true once the requester approved through break-glass, and <c>review</c>
/// holds its post-incident review (null until recorded).</summary>
public sealed record AccessRequestView(
    string Id,
    string Requester,
    string? OnBehalfOf,
    string AccountId,
    AccessSpec Access,
    string Duration,
    string? Reason,
    string Status,
    int ApprovalLevel,
    IReadOnlyList<DecisionView> Decisions,
    DateTimeOffset CreatedAt,
    DateTimeOffset? GrantedAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? EndedAt,
    string RuleName,
    string? GrantedDuration,
    string? ApprovedBy,
    string? EndedBy,
    string? StatusDetail,
    string Channel,
    IReadOnlyList<ExtensionView> Extensions,
    int ApprovalStage,
    int ApprovalStages,
    bool BreakGlass,
    BreakGlassReview? Review)
{
    public static AccessRequestView From(AccessRequest r) => new(
        r.Id,
        r.Requester,
        r.OnBehalfOf,
        r.AccountId,
        r.Access,
        AccessDuration.Format(r.Duration),
        r.Reason,
        r.Status.WireName(),
        r.ApprovalLevel,
        [.. r.Decisions.Select(DecisionView.From)],
        r.CreatedAt,
        r.GrantedAt,
        r.ExpiresAt,
        r.EndedAt,
        r.RuleName,
        r.GrantedDuration is { } g ? AccessDuration.Format(g) : null,
        r.ApprovedBy,
        r.EndedBy,
        r.StatusDetail,
        r.Channel,
        [.. r.Extensions.Select(ExtensionView.From)],
        r.ApprovalStage,
        r.Approval.StageCount,
        r.BreakGlass,
        r.Review);
}

/// <summary>One extension of the grant: <c>pending</c> (waiting for an approver), <c>applied</c> or <c>denied</c>.</summary>
public sealed record ExtensionView(string Duration, string Status, string RequestedBy, string? Reason, string Channel, DateTimeOffset RequestedAt, string? DecidedBy, DateTimeOffset? ExpiresAt, string? Comment)
{
    public static ExtensionView From(ExtensionRecord e) => new(
        AccessDuration.Format(e.Duration),
        e.Status.ToString().ToLowerInvariant(),
        e.RequestedBy,
        e.Reason,
        e.Channel,
        e.RequestedAt,
        e.DecidedBy,
        e.ExpiresAt,
        e.Comment);
}

public sealed record DecisionView(string Approver, string Decision, string? Duration, string? Comment, string Channel, int Level, DateTimeOffset At)
{
    public static DecisionView From(DecisionRecord d) => new(
        d.Approver,
        d.Decision == DecisionKind.Approve ? "approve" : "deny",
        d.Duration is { } x ? AccessDuration.Format(x) : null,
        d.Comment,
        d.Channel,
        d.Level,
        d.At);
}

public sealed record RequestListView(IReadOnlyList<AccessRequestView> Items, string? ContinuationToken);
