namespace AccessWorkflows.Requests;

/// <summary>
/// Whether a decision counts (SPEC 6.5). The command handlers use it to answer the person who clicked at once;
/// the orchestrator uses it again on what it receives, because it alone knows which levels it has notified by
/// the time the event arrives.
/// </summary>
public static class DecisionRules
{
    /// <param name="notifiedLevel">The highest level notified so far; only the levels of its stage decide.</param>
    /// <param name="comment">The decision's comment: a break-glass approval is refused without one.</param>
    public static CommandResult Check(AccessRequest request, int notifiedLevel, string approver, DecisionKind decision, TimeSpan? duration, string? comment = null)
    {
        if (request.Status != RequestStatus.Pending)
        {
            return TooLate(request);
        }

        if (IsBreakGlass(request, approver, decision))
        {
            if (string.IsNullOrWhiteSpace(comment))
            {
                return CommandResult.Refused(CommandOutcome.Invalid, "A break-glass approval of your own request needs a comment saying why.", request);
            }

            return duration is { } chosen && chosen <= TimeSpan.Zero
                ? CommandResult.Refused(CommandOutcome.Invalid, "The duration must be positive.", request)
                : CommandResult.Ok(request);
        }

        if (!request.IsApproverAtOrBelow(approver, notifiedLevel))
        {
            return CommandResult.Refused(CommandOutcome.Forbidden, $"{approver} is not an approver of a level this request has been sent to.", request);
        }

        var isOwn = string.Equals(approver, request.Requester, StringComparison.OrdinalIgnoreCase)
            || string.Equals(approver, request.OnBehalfOf, StringComparison.OrdinalIgnoreCase);
        if (isOwn && !request.Approval.AllowSelfApproval)
        {
            return CommandResult.Refused(CommandOutcome.Forbidden, "You cannot decide on your own request.", request);
        }

        var stage = request.Approval.StageOf(notifiedLevel);
        if (decision == DecisionKind.Approve && stage > 1
            && request.Decisions.FirstOrDefault(d => d.Decision == DecisionKind.Approve && d.Level > 0 && request.Approval.StageOf(d.Level) < stage
                && string.Equals(d.Approver, approver, StringComparison.OrdinalIgnoreCase)) is { } earlier)
        {
            return CommandResult.Refused(
                CommandOutcome.Conflict,
                $"{approver} already approved in stage {request.Approval.StageOf(earlier.Level)}; no approver counts in two stages.",
                request);
        }

        if (decision == DecisionKind.Approve && duration is { } d)
        {
            if (d <= TimeSpan.Zero)
            {
                return CommandResult.Refused(CommandOutcome.Invalid, "The duration must be positive.", request);
            }

            if (d > request.Approval.MaxDuration)
            {
                return CommandResult.Refused(
                    CommandOutcome.Invalid,
                    $"The duration {AccessDuration.Format(d)} exceeds the rule's maximum of {AccessDuration.Format(request.Approval.MaxDuration)}.",
                    request);
            }
        }

        return CommandResult.Ok(request);
    }

    /// <summary>
    /// The level a pending request counts as notified at when deciding. A request is decidable by its level-1
    /// approvers from the moment it is accepted (SPEC 6.5): the workflow records level 1 a moment later, and a
    /// decision raised before that is buffered and checked again by the workflow once level 1 is notified.
    /// </summary>
    public static int DecidableLevel(AccessRequest request) => Math.Max(request.ApprovalLevel, 1);

    /// <summary>
    /// The audit id of a decision that arrived after the request's outcome. The commands port and the workflow both
    /// record such a decision under this id, so whichever sees it first records it and the other is a no-op.
    /// </summary>
    public static string LateAuditId(string requestId, string decisionId) => $"{requestId}:late:{decisionId}";

    /// <summary>The audit detail of a late decision: what was sent, and the outcome it arrived after.</summary>
    public static string LateDetail(DecisionKind decision, RequestStatus outcome) =>
        $"{decision.ToString().ToLowerInvariant()} arrived after the request was {outcome.WireName()}; not counted";

    /// <summary>The 409 answer to a decision on a request that is no longer pending, naming the outcome.</summary>
    public static CommandResult TooLate(AccessRequest request) =>
        CommandResult.Refused(CommandOutcome.Conflict, OutcomeText(request) + "; this decision was not counted.", request);

    /// <summary>"The request is already approved (approved by x)": the outcome a late command is answered with.</summary>
    public static string OutcomeText(AccessRequest request) =>
        $"The request is already {request.Status.WireName()}"
        + (request.ApprovedBy is { Length: > 0 } by && request.Status is RequestStatus.Approved or RequestStatus.Active ? $" (approved by {by})" : string.Empty)
        + (request.EndedBy is { Length: > 0 } ended && request.Status.IsTerminal() ? $" (by {ended})" : string.Empty);

    /// <summary>
    /// Whether this is a break-glass approval: the requester (or the beneficiary) approving their own request under a
    /// rule with <c>breakGlass</c>. It approves at once, whatever the levels and stages say; a deny by the requester
    /// is not break-glass and stays refused like any decision on one's own request.
    /// </summary>
    public static bool IsBreakGlass(AccessRequest request, string approver, DecisionKind decision) =>
        decision == DecisionKind.Approve
        && request.Approval.BreakGlass is not null
        && (string.Equals(approver, request.Requester, StringComparison.OrdinalIgnoreCase)
            || string.Equals(approver, request.OnBehalfOf, StringComparison.OrdinalIgnoreCase));

    /// <summary>The duration a break-glass approval grants: the chosen (or requested) one, capped at the rule's
    /// <c>breakGlass.maxDuration</c>.</summary>
    public static TimeSpan BreakGlassDuration(AccessRequest request, TimeSpan? chosen)
    {
        var wanted = chosen ?? request.Duration;
        var cap = request.Approval.BreakGlass?.MaxDuration ?? wanted;
        return wanted < cap ? wanted : cap;
    }

    /// <summary>The lowest notified level of the current stage whose approvers include <paramref name="approver"/>; 0 when none.</summary>
    public static int LevelOf(AccessRequest request, string approver, int notifiedLevel) =>
        request.Approval.Levels
            .Where(l => l.Level <= notifiedLevel && l.Stage == request.Approval.StageOf(notifiedLevel) && l.Approvers.Contains(approver, StringComparer.OrdinalIgnoreCase))
            .Select(l => l.Level)
            .DefaultIfEmpty(0)
            .Min();
}
