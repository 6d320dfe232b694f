namespace AccessWorkflows.Requests;

/// <summary>
/// Whether a decision counts (SPEC 6.5). The command handlers use it to answer the person who clicked at once;
/// the orchestrator uses it again on what it receives, because it alone knows which levels it has notified by
/// the time the event arrives.
/// </summary>
public static class DecisionRules
{
    /// <param name="notifiedLevel">The highest level notified so far.</param>
    public static CommandResult Check(AccessRequest request, int notifiedLevel, string approver, DecisionKind decision, TimeSpan? duration)
    {
        if (request.Status != RequestStatus.Pending)
        {
            return CommandResult.Refused(CommandOutcome.Conflict, $"The request is {request.Status.WireName()}, no longer pending.", request);
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

    /// <summary>The lowest notified level whose approvers include <paramref name="approver"/>; 0 when none.</summary>
    public static int LevelOf(AccessRequest request, string approver, int notifiedLevel) =>
        request.Approval.Levels
            .Where(l => l.Level <= notifiedLevel && l.Approvers.Contains(approver, StringComparer.OrdinalIgnoreCase))
            .Select(l => l.Level)
            .DefaultIfEmpty(0)
            .Min();
}
