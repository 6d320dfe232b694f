using System.Text.RegularExpressions;
using AccessWorkflows.Grants;
using AccessWorkflows.Rules;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Teams.Bot;

/// <summary>What the request form offers a requester: accounts, and typeahead choices for policies and groups.
/// Never offers what no rule allows that requester (SPEC 5).</summary>
public interface ITeamsRequestOptions
{
    IReadOnlyList<(string Id, string Name)> Accounts(string requesterEmail);

    Task<IReadOnlyList<(string Title, string Value)>> SearchAsync(string requesterEmail, string dataset, string? accountId, string query, int top, CancellationToken cancellationToken);
}

/// <summary>
/// The catalog (<see cref="IAccessCatalog"/>) filtered by the rules the host registered (<see cref="AccessRules"/>):
/// a policy or group is offered when a rule admits this requester, this account and that name.
/// </summary>
internal sealed class RulesRequestOptions : ITeamsRequestOptions
{
    private readonly IServiceProvider _services;

    public RulesRequestOptions(IServiceProvider services) => _services = services;

    public IReadOnlyList<(string Id, string Name)> Accounts(string requesterEmail)
    {
        if (_services.GetService<AccessRules>() is not { } rules)
        {
            return [];
        }

        var allowed = RulesFor(rules, requesterEmail).SelectMany(r => r.Accounts).ToHashSet(StringComparer.Ordinal);
        return [.. rules.Accounts.Where(a => allowed.Contains(a.Id) || allowed.Contains("*")).Select(a => (a.Id, a.Name))];
    }

    public async Task<IReadOnlyList<(string Title, string Value)>> SearchAsync(string requesterEmail, string dataset, string? accountId, string query, int top, CancellationToken cancellationToken)
    {
        if (_services.GetService<AccessRules>() is not { } rules || _services.GetService<IAccessCatalog>() is not { } catalog
            || accountId is null || rules.FindAccount(accountId) is not { } account)
        {
            return [];
        }

        var applicable = RulesFor(rules, requesterEmail).Where(r => r.Accounts.Any(a => a == "*" || a == accountId)).ToList();
        if (applicable.Count == 0)
        {
            return [];
        }

        top = Math.Clamp(top, 1, 50);
        query = query.Trim();
        if (dataset == Cards.TeamsCards.PoliciesDataset)
        {
            var policies = await catalog.ListPolicyArnsAsync(account, cancellationToken);
            return [.. policies
                .Where(p => applicable.Any(r => r.Policies.Any(g => Glob(g, p, ignoreCase: false))))
                .Where(p => p.Contains(query, StringComparison.OrdinalIgnoreCase))
                .Take(top)
                .Select(p => (p[(p.LastIndexOf('/') + 1)..] + " (" + p + ")", p))];
        }

        if (dataset == Cards.TeamsCards.GroupsDataset)
        {
            var groups = await catalog.ListGroupNamesAsync(account, cancellationToken);
            return [.. groups
                .Where(g => applicable.Any(r => r.Groups.Any(pattern => Glob(pattern, g, ignoreCase: false))))
                .Where(g => g.Contains(query, StringComparison.OrdinalIgnoreCase))
                .Take(top)
                .Select(g => (g, g))];
        }

        return [];
    }

    private static IEnumerable<AccessRule> RulesFor(AccessRules rules, string email) =>
        rules.Rules.Where(rule => rule.Requesters.Any(entry => RequesterMatches(rules, entry, email)));

    private static bool RequesterMatches(AccessRules rules, string entry, string email)
    {
        if (entry.StartsWith("group:", StringComparison.OrdinalIgnoreCase))
        {
            return rules.ApproverGroups.TryGetValue(entry["group:".Length..], out var members)
                && members.Contains(email, StringComparer.OrdinalIgnoreCase);
        }

        return Glob(entry, email, ignoreCase: true);
    }

    /// <summary>Rules-file globs: <c>*</c> any run of characters, <c>?</c> one character, everything else literal.</summary>
    internal static bool Glob(string pattern, string value, bool ignoreCase)
    {
        var regex = "^" + Regex.Escape(pattern).Replace("\\*", ".*", StringComparison.Ordinal).Replace("\\?", ".", StringComparison.Ordinal) + "$";
        return Regex.IsMatch(value, regex, (ignoreCase ? RegexOptions.IgnoreCase : RegexOptions.None) | RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
    }
}
