using System.Text.Json;
using AccessWorkflows.Requests;

namespace AccessWorkflows.Teams.Bot;

/// <summary>
/// The request as it stands once the workflow has taken a decision that <see cref="DecisionRules"/> accepted, so the
/// clicker's card can show it before the workflow has run: the decision listed, and the outcome it brings. The
/// workflow stays the authority; its notifications replace the cards with what it actually recorded.
/// </summary>
internal static class DecisionProjection
{
    public static AccessRequest Apply(AccessRequest request, DecisionRecord decision)
    {
        var next = JsonSerializer.Deserialize<AccessRequest>(JsonSerializer.Serialize(request))!;
        if (!next.AddDecision(decision))
        {
            return next;
        }

        if (decision.Decision == DecisionKind.Deny)
        {
            next.End(RequestStatus.Denied, decision.At, decision.Approver, decision.Comment);
            return next;
        }

        // The orchestrator's threshold: any notified level with its minApprovals distinct approvals of its own
        // approvers; the granted duration is the shortest any approver chose.
        var approvals = next.Decisions.Where(d => d.Decision == DecisionKind.Approve).ToList();
        var approvers = approvals.Select(d => d.Approver).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var notified = Math.Max(1, next.ApprovalLevel);
        if (next.Approval.Levels.Where(l => l.Level <= notified).Any(l => l.Approvers.Count(approvers.Contains) >= l.MinApprovals))
        {
            var granted = approvals.Select(d => d.Duration).OfType<TimeSpan>().Append(next.Duration).Min();
            next.Approve(granted, string.Join(", ", approvers));
        }

        return next;
    }
}
