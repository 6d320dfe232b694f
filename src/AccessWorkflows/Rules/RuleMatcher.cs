using AccessWorkflows.Requests;

namespace AccessWorkflows.Rules;

/// <summary>The rule that allows a request, and the account it targets.</summary>
public sealed record RuleMatch(AccessRule Rule, AccountConfig Account);

/// <summary>
/// Decides which rule allows a request (SPEC 5: first match in file order wins) and what the rules allow a
/// requester, for autocomplete. Everything here fails closed: an input that does not pass its grammar matches nothing.
/// </summary>
public static class RuleMatcher
{
    private const string GroupPrefix = "group:";

    /// <summary>
    /// The first rule, in file order, whose requesters include <paramref name="requesterEmail"/>, whose accounts
    /// include <paramref name="accountId"/> and whose access allows <paramref name="access"/>; null when none does
    /// (the request is refused). A rule that matches the requester but not the access does not stop the search.
    /// </summary>
    public static RuleMatch? Match(this AccessRules rules, string requesterEmail, string accountId, AccessSpec access)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(access);
        if (!Grammar.IsAccountId(accountId) || rules.FindAccount(accountId) is not { } account)
        {
            return null;
        }

        foreach (var rule in rules.RulesFor(requesterEmail))
        {
            if (rule.Accounts.Contains(accountId) && rule.Allows(access))
            {
                return new RuleMatch(rule, account);
            }
        }

        return null;
    }

    /// <summary>Whether <paramref name="requesterEmail"/> is one of the rule's requesters: the email itself
    /// (any case), <c>*@domain</c> with exactly that domain (not its subdomains), or a member of <c>group:name</c>.</summary>
    public static bool RequesterMatches(this AccessRules rules, AccessRule rule, string requesterEmail)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(rule);
        if (!Grammar.IsEmail(requesterEmail))
        {
            return false;
        }

        var email = Grammar.NormalizeEmail(requesterEmail);
        var domain = email[(email.LastIndexOf('@') + 1)..];
        foreach (var pattern in rule.Requesters)
        {
            if (pattern.StartsWith(GroupPrefix, StringComparison.Ordinal))
            {
                if (rules.ApproverGroups.TryGetValue(pattern[GroupPrefix.Length..], out var members)
                    && members.Contains(email, StringComparer.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
            else if (pattern.StartsWith("*@", StringComparison.Ordinal))
            {
                if (string.Equals(pattern[2..], domain, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
            else if (string.Equals(pattern, email, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The rules whose requesters include <paramref name="requesterEmail"/>, in file order.</summary>
    public static IReadOnlyList<AccessRule> RulesFor(this AccessRules rules, string requesterEmail)
    {
        ArgumentNullException.ThrowIfNull(rules);
        return rules.Rules.Where(r => rules.RequesterMatches(r, requesterEmail)).ToList();
    }

    /// <summary>The accounts some rule lets <paramref name="requesterEmail"/> request, in the file's account order.</summary>
    public static IEnumerable<AccountConfig> AccountsFor(this AccessRules rules, string requesterEmail)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var ids = rules.RulesFor(requesterEmail).SelectMany(r => r.Accounts).ToHashSet(StringComparer.Ordinal);
        return rules.Accounts.Where(a => ids.Contains(a.Id)).ToList();
    }

    /// <summary>
    /// Whether the rule's access allows <paramref name="access"/> (accounts and requesters aside). Policy: the policy
    /// ARN matches a <c>policies</c> glob. Group: the group name matches a <c>groups</c> glob. Resource: the resource
    /// ARN matches a <c>resources</c> glob and its base policy ARN matches a <c>policies</c> glob. Access that fails
    /// its grammar is never allowed, so no glob ever sees a wildcard from a request.
    /// </summary>
    public static bool Allows(this AccessRule rule, AccessSpec access)
    {
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(access);
        if (access.Validate().Count > 0)
        {
            return false;
        }

        return access.Type switch
        {
            AccessKind.Policy => Glob.AnyMatch(rule.Policies, access.PolicyArn!),
            AccessKind.Group => Glob.AnyMatch(rule.Groups, access.GroupName!),
            AccessKind.Resource => Glob.AnyMatch(rule.Resources, access.ResourceArn!) && Glob.AnyMatch(rule.Policies, access.PolicyArn!),
            AccessKind.PermissionSet => Glob.AnyMatch(rule.PermissionSets, access.PermissionSetArn!),
            _ => false,
        };
    }

    /// <summary>
    /// Autocomplete: the <paramref name="candidates"/> (policy ARNs for <see cref="AccessKind.Policy"/>, group names for
    /// <see cref="AccessKind.Group"/>, resource ARNs for <see cref="AccessKind.Resource"/>) that some rule matching the
    /// requester and account allows, and that contain <paramref name="query"/> (any case), in candidate order without
    /// duplicates. For a resource request's base policy, filter policy ARNs with <see cref="AccessKind.Policy"/>.
    /// </summary>
    public static IEnumerable<string> FilterCandidates(
        this AccessRules rules, string requesterEmail, string accountId, AccessKind kind, IEnumerable<string> candidates, string? query)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(candidates);
        var applicable = rules.RulesFor(requesterEmail).Where(r => r.Accounts.Contains(accountId)).ToList();
        if (applicable.Count == 0)
        {
            return [];
        }

        var q = query?.Trim() ?? "";
        return candidates
            .Where(c => c is not null && (q.Length == 0 || c.Contains(q, StringComparison.OrdinalIgnoreCase)))
            .Distinct(StringComparer.Ordinal)
            .Where(c => kind switch
            {
                AccessKind.Policy => Grammar.IsPolicyArn(c) && applicable.Any(r => Glob.AnyMatch(r.Policies, c)),
                AccessKind.Group => Grammar.IsGroupName(c) && applicable.Any(r => Glob.AnyMatch(r.Groups, c)),
                AccessKind.Resource => Grammar.IsResourceArn(c) && applicable.Any(r => r.Policies.Count > 0 && Glob.AnyMatch(r.Resources, c)),
                AccessKind.PermissionSet => Grammar.IsPermissionSetArn(c) && applicable.Any(r => Glob.AnyMatch(r.PermissionSets, c)),
                _ => false,
            })
            .ToList();
    }

    /// <summary>
    /// The approval plan frozen into a request created under <paramref name="rule"/>: levels numbered from 1,
    /// approvers expanded from groups to distinct lower-case emails (in file order), notify settings copied,
    /// <see cref="ApprovalPlan.MaxDuration"/> from the rule.
    /// </summary>
    public static ApprovalPlan ResolvePlan(this AccessRules rules, AccessRule rule)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(rule);
        var approval = rule.Approval;

        // Stages flatten into one numbered list: level numbers stay unique, so a prompt, a card and a decision name
        // their level as before, and the stage is a property of the level.
        var tiers = approval.Stages.Count > 0
            ? approval.Stages.SelectMany((stage, s) => stage.Levels.Select(level => (Stage: s + 1, Level: level)))
            : approval.Levels.Select(level => (Stage: 1, Level: level));
        var levels = tiers.Select((tier, i) => new ApprovalLevelPlan
        {
            Level = i + 1,
            Stage = tier.Stage,
            Approvers = rules.ExpandApprovers(tier.Level.Approvers),
            MinApprovals = tier.Level.MinApprovals,
            SlackChannel = tier.Level.SlackChannel,
            TeamsChannel = tier.Level.TeamsChannel,
            Webhook = tier.Level.Webhook,
            EscalateAfter = tier.Level.EscalateAfter,
            PagerDutyEscalationPolicy = tier.Level.PagerDutyEscalationPolicy,
        }).ToList();
        return new ApprovalPlan
        {
            Auto = approval.Auto,
            OnCall = approval.OnCall is { } onCall
                ? new OnCallPlan([.. onCall.PagerDutySchedules], onCall.EscalationLevel, onCall.Duration)
                : null,
            Levels = levels,
            BreakGlass = rule.BreakGlass is { } breakGlass
                ? new BreakGlassPlan(
                    breakGlass.MaxDuration,
                    breakGlass.SlackChannel,
                    breakGlass.TeamsChannel,
                    [.. levels.SelectMany(l => l.Approvers).Concat(rules.Admins.Select(Grammar.NormalizeEmail)).Distinct(StringComparer.Ordinal)])
                : null,
            ApprovalWindow = approval.ApprovalWindow,
            AllowSelfApproval = approval.AllowSelfApproval,
            MaxDuration = rule.MaxDuration,
            Extension = rule.Extension,
        };
    }

    /// <summary>Emails and <c>group:name</c> entries → distinct lower-case emails, in order. An unknown group
    /// contributes nobody (the loader refuses them, so this only matters for hand-built models).</summary>
    public static IReadOnlyList<string> ExpandApprovers(this AccessRules rules, IEnumerable<string> entries)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(entries);
        var result = new List<string>();
        foreach (var entry in entries)
        {
            var emails = entry.StartsWith(GroupPrefix, StringComparison.Ordinal)
                ? rules.ApproverGroups.GetValueOrDefault(entry[GroupPrefix.Length..]) ?? []
                : [entry];
            foreach (var email in emails.Select(Grammar.NormalizeEmail))
            {
                if (!result.Contains(email))
                {
                    result.Add(email);
                }
            }
        }

        return result;
    }
}
