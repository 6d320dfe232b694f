using AccessWorkflows.Grants;
using AccessWorkflows.Requests;
using AccessWorkflows.Rules;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Slack.Options;

/// <summary>What the request modal offers one requester: the accounts some rule lets them ask for, and, per account
/// and access type, the policies, groups or resources a rule allows (SPEC 5: autocomplete never offers what no rule
/// allows).</summary>
public interface ISlackRequestChoices
{
    Task<IReadOnlyList<AccountConfig>> AccountsAsync(string requesterEmail, CancellationToken cancellationToken);

    /// <param name="query">What the person typed; candidates containing it (case-insensitive) come first.</param>
    Task<IReadOnlyList<string>> CandidatesAsync(string requesterEmail, string accountId, AccessKind kind, string query, CancellationToken cancellationToken);
}

/// <summary>
/// Choices from the rules file (the <see cref="AccessRules"/> the host registers) and the account's
/// <see cref="IAccessCatalog"/>: a catalog entry is offered when a rule that matches the requester and the account
/// allows it; a rule pattern without wildcards is offered even without a catalog. A resource is offered as typed,
/// when it is a resource ARN that a rule allows.
/// </summary>
public sealed class RulesRequestChoices : ISlackRequestChoices
{
    private readonly IServiceProvider _services;

    public RulesRequestChoices(IServiceProvider services) => _services = services;

    public Task<IReadOnlyList<AccountConfig>> AccountsAsync(string requesterEmail, CancellationToken cancellationToken)
    {
        var rules = _services.GetService<AccessRules>();
        if (rules is null)
        {
            return Task.FromResult<IReadOnlyList<AccountConfig>>([]);
        }

        var allowed = RulesFor(rules, requesterEmail).SelectMany(r => r.Accounts).ToHashSet(StringComparer.Ordinal);
        return Task.FromResult<IReadOnlyList<AccountConfig>>([.. rules.Accounts.Where(a => allowed.Contains(a.Id))]);
    }

    public async Task<IReadOnlyList<string>> CandidatesAsync(string requesterEmail, string accountId, AccessKind kind, string query, CancellationToken cancellationToken)
    {
        var rules = _services.GetService<AccessRules>();
        var account = rules?.FindAccount(accountId);
        if (rules is null || account is null)
        {
            return [];
        }

        var matching = RulesFor(rules, requesterEmail).Where(r => r.Accounts.Contains(accountId)).ToList();
        var patterns = kind switch
        {
            AccessKind.Group => matching.SelectMany(r => r.Groups).ToList(),
            AccessKind.Resource => matching.SelectMany(r => r.Resources).ToList(),
            _ => matching.SelectMany(r => r.Policies).ToList(),
        };
        if (patterns.Count == 0)
        {
            return [];
        }

        var candidates = new HashSet<string>(patterns.Where(p => !p.Contains('*') && !p.Contains('?')), StringComparer.Ordinal);
        if (kind == AccessKind.Resource)
        {
            var typed = query.Trim();
            if (Grammar.IsResourceArn(typed))
            {
                candidates.Add(typed);
            }
        }
        else if (_services.GetService<IAccessCatalog>() is { } catalog)
        {
            var listed = kind == AccessKind.Group
                ? await catalog.ListGroupNamesAsync(account, cancellationToken)
                : await catalog.ListPolicyArnsAsync(account, cancellationToken);
            candidates.UnionWith(listed);
        }

        var valid = kind switch
        {
            AccessKind.Group => candidates.Where(Grammar.IsGroupName),
            AccessKind.Resource => candidates.Where(Grammar.IsResourceArn),
            _ => candidates.Where(Grammar.IsPolicyArn),
        };
        return [.. valid
            .Where(c => patterns.Any(p => Glob(p, c)))
            .Where(c => query.Length == 0 || c.Contains(query.Trim(), StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)];
    }

    private static IEnumerable<AccessRule> RulesFor(AccessRules rules, string email) =>
        rules.Rules.Where(r => r.Requesters.Any(p => RequesterMatches(rules, p, email)));

    private static bool RequesterMatches(AccessRules rules, string pattern, string email)
    {
        if (pattern.StartsWith("group:", StringComparison.Ordinal))
        {
            return rules.ApproverGroups.TryGetValue(pattern["group:".Length..], out var members)
                && members.Contains(email, StringComparer.OrdinalIgnoreCase);
        }

        return Glob(pattern, email, ignoreCase: true);
    }

    /// <summary><c>*</c> any run, <c>?</c> one character; everything else literal.</summary>
    internal static bool Glob(string pattern, string text, bool ignoreCase = false)
    {
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || Same(pattern[p], text[t], ignoreCase)))
            {
                p++;
                t++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = t;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    private static bool Same(char a, char b, bool ignoreCase) => ignoreCase ? char.ToLowerInvariant(a) == char.ToLowerInvariant(b) : a == b;
}
