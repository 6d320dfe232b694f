using AccessWorkflows.Requests;

namespace AccessWorkflows.Rules;

// Placeholder until the rules branch lands; replaced wholesale by it.
public sealed record RuleMatch(AccessRule Rule, AccountConfig Account);

public static class RuleMatcher
{
    public static RuleMatch? Match(AccessRules rules, string requesterEmail, string accountId, AccessSpec access) => throw new NotImplementedException();

    public static ApprovalPlan ResolvePlan(AccessRules rules, AccessRule rule) => throw new NotImplementedException();
}
