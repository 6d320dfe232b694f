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
        return Task.FromResult<IReadOnlyList<AccountConfig>>(rules is null ? [] : [.. rules.AccountsFor(requesterEmail)]);
    }

    public async Task<IReadOnlyList<string>> CandidatesAsync(string requesterEmail, string accountId, AccessKind kind, string query, CancellationToken cancellationToken)
    {
        var rules = _services.GetService<AccessRules>();
        var account = rules?.FindAccount(accountId);
        if (rules is null || account is null)
        {
            return [];
        }

        // Rule patterns without wildcards are candidates themselves, so a rule naming one policy offers it even
        // where no catalog lists the account's policies.
        var applicable = rules.RulesFor(requesterEmail).Where(r => r.Accounts.Contains(accountId)).ToList();
        var patterns = kind switch
        {
            AccessKind.Group => applicable.SelectMany(r => r.Groups),
            AccessKind.Resource => applicable.SelectMany(r => r.Resources),
            _ => applicable.SelectMany(r => r.Policies),
        };
        var candidates = patterns.Where(p => !p.Contains('*') && !p.Contains('?')).ToList();
        if (kind == AccessKind.Resource)
        {
            // Resources are not listed anywhere: what the person typed is the candidate.
            candidates.Add(query.Trim());
        }
        else if (applicable.Count > 0 && _services.GetService<IAccessCatalog>() is { } catalog)
        {
            candidates.AddRange(kind == AccessKind.Group
                ? await catalog.ListGroupNamesAsync(account, cancellationToken)
                : await catalog.ListPolicyArnsAsync(account, cancellationToken));
        }

        return [.. rules.FilterCandidates(requesterEmail, accountId, kind, candidates, kind == AccessKind.Resource ? null : query)
            .Order(StringComparer.Ordinal)];
    }
}
