namespace AccessWorkflows.Requests;

/// <summary>
/// Whether an extension of an active grant may be asked for, and who may decide one (rule key <c>extension</c>,
/// SPEC 13). The commands port uses these rules to answer at once; the workflow checks again on what it receives,
/// because only it knows which extensions have been applied by the time the event arrives.
/// </summary>
public static class ExtensionRules
{
    /// <summary>Checks an ask to add <paramref name="duration"/> to the grant's expiry. Refusals: 403 for anyone but
    /// the requester or the beneficiary, 409 when the grant is not active, the rule allows no (more) extensions, one is
    /// already waiting, or <paramref name="duration"/> is over <c>maxExtendBy</c>.</summary>
    public static CommandResult CheckAsk(AccessRequest request, string caller, TimeSpan duration)
    {
        if (!IsRequesterSide(request, caller))
        {
            return CommandResult.Refused(CommandOutcome.Forbidden, "Only the requester can extend this access.", request);
        }

        if (duration <= TimeSpan.Zero)
        {
            return CommandResult.Refused(CommandOutcome.Invalid, "The duration must be positive.", request);
        }

        if (request.Status != RequestStatus.Active)
        {
            return CommandResult.Refused(CommandOutcome.Conflict, $"The request is {request.Status.WireName()}, not active; only an active grant can be extended.", request);
        }

        if (request.Approval.Extension is not { } plan || plan.MaxExtensions == 0)
        {
            return CommandResult.Refused(CommandOutcome.Conflict, $"Rule '{request.RuleName}' allows no extensions.", request);
        }

        if (duration > plan.MaxExtendBy)
        {
            return CommandResult.Refused(
                CommandOutcome.Conflict,
                $"An extension of {AccessDuration.Format(duration)} exceeds maxExtendBy ({AccessDuration.Format(plan.MaxExtendBy)}) of rule '{request.RuleName}'.",
                request);
        }

        if (request.PendingExtension is { } pending)
        {
            return CommandResult.Refused(CommandOutcome.Conflict, $"An extension of {AccessDuration.Format(pending.Duration)} is already waiting for approval.", request);
        }

        var used = request.Extensions.Count(e => e.Status == ExtensionStatus.Applied);
        if (used >= plan.MaxExtensions)
        {
            return CommandResult.Refused(
                CommandOutcome.Conflict,
                $"The grant was extended {used} time(s); maxExtensions of rule '{request.RuleName}' is {plan.MaxExtensions}.",
                request);
        }

        return CommandResult.Ok(request);
    }

    /// <summary>Whether <paramref name="approver"/> may decide the pending extension: an approver of any level of the
    /// rule (extensions are not escalated), never the requester unless the rule allows self-approval. 409 when no
    /// extension is waiting.</summary>
    public static CommandResult CheckDecision(AccessRequest request, string approver)
    {
        if (request.Status != RequestStatus.Active || request.PendingExtension is null)
        {
            return DecisionRules.TooLate(request);
        }

        if (!request.Approval.Levels.Any(l => l.Approvers.Contains(approver, StringComparer.OrdinalIgnoreCase)))
        {
            return CommandResult.Refused(CommandOutcome.Forbidden, $"{approver} is not an approver of this request's rule.", request);
        }

        if (IsRequesterSide(request, approver) && !request.Approval.AllowSelfApproval)
        {
            return CommandResult.Refused(CommandOutcome.Forbidden, "You cannot approve the extension of your own access.", request);
        }

        return CommandResult.Ok(request);
    }

    /// <summary>The step the chat buttons extend by: the rule's <c>maxExtendBy</c>; null when the rule allows none.</summary>
    public static TimeSpan? ButtonStep(AccessRequest request) =>
        request.Approval.Extension is { MaxExtensions: > 0 } plan ? plan.MaxExtendBy : null;

    /// <summary>Whether a chat message should offer Extend: active, extensible, none waiting, some left.</summary>
    public static bool Offers(AccessRequest request) =>
        request.Status == RequestStatus.Active
        && request.Approval.Extension is { MaxExtensions: > 0 } plan
        && request.PendingExtension is null
        && request.Extensions.Count(e => e.Status == ExtensionStatus.Applied) < plan.MaxExtensions;

    private static bool IsRequesterSide(AccessRequest request, string email) =>
        string.Equals(email, request.Requester, StringComparison.OrdinalIgnoreCase)
        || string.Equals(email, request.OnBehalfOf, StringComparison.OrdinalIgnoreCase);
}
