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
/// Choices from the rules file (the <see cref="AccessRules"/> the host registers): policies and groups come from the
/// core's <see cref="AccessOptions"/>, the one autocomplete source of every channel (sandbox accounts from the rules,
/// real accounts from IAM, always filtered by the rules); a resource is offered as typed, when it is a resource ARN
/// that a rule allows.
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
        if (rules?.FindAccount(accountId) is null)
        {
            return [];
        }

        if (kind != AccessKind.Resource)
        {
            var options = _services.GetRequiredService<AccessOptions>();
            return [.. (await options.SuggestAsync(requesterEmail, accountId, kind, query, cancellationToken)).Order(StringComparer.Ordinal)];
        }

        // Resources are not listed anywhere: what the person typed is the candidate, if a rule allows it.
        return [.. rules.FilterCandidates(requesterEmail, accountId, kind, [query.Trim()], null)];
    }
}
