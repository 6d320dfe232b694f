using AccessWorkflows.Requests;
using AccessWorkflows.Rules;

namespace AccessWorkflows.Grants;

/// <summary>
/// The autocomplete source of every channel (Slack external_select, Teams Data.Query, the demo page, the CLI):
/// what exists in an account, kept to what some rule allows the person asking, so nobody is ever offered what no
/// rule allows. Sandbox accounts offer the rules' literal entries and common AWS managed policies; real accounts
/// offer what the registered <see cref="IAccessCatalog"/> lists.
/// </summary>
public sealed class AccessOptions
{
    /// <summary>At most this many options are returned (Slack shows 100).</summary>
    public const int MaxOptions = 100;

    private static readonly string[] CommonManagedPolicies =
    [
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
        "arn:aws:iam::aws:policy/ViewOnlyAccess",
        "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess",
        "arn:aws:iam::aws:policy/AdministratorAccess",
        "arn:aws:iam::aws:policy/PowerUserAccess",
        "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
        "arn:aws:iam::aws:policy/AmazonS3FullAccess",
        "arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess",
        "arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess",
        "arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess",
        "arn:aws:iam::aws:policy/AmazonSNSReadOnlyAccess",
        "arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess",
        "arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess",
        "arn:aws:iam::aws:policy/SecretsManagerReadWrite",
    ];

    private readonly AccessRules _rules;
    private readonly IAccessCatalog? _catalog;

    public AccessOptions(AccessRules rules, IEnumerable<IAccessCatalog> catalogs)
    {
        _rules = rules;
        _catalog = catalogs.FirstOrDefault();
    }

    /// <summary>The accounts some rule lets <paramref name="requester"/> ask for.</summary>
    public IReadOnlyList<AccountConfig> Accounts(string requester) => [.. _rules.AccountsFor(requester)];

    /// <summary>Policy ARNs, group names or permission set ARNs (by <paramref name="kind"/>) in the account that some rule allows the
    /// requester, containing <paramref name="query"/> (case-insensitive). For <see cref="AccessKind.Resource"/>,
    /// the base policies a resource request may scope.</summary>
    public async Task<IReadOnlyList<string>> SuggestAsync(string requester, string accountId, AccessKind kind, string? query, CancellationToken cancellationToken = default)
    {
        if (_rules.FindAccount(accountId) is not { } account)
        {
            return [];
        }

        IEnumerable<string> candidates;
        var wantsGroups = kind == AccessKind.Group;
        if (kind == AccessKind.PermissionSet)
        {
            // The sandbox simulates the permission sets the rules name; real accounts list the instance's.
            candidates = account.IsSandbox || _catalog is null
                ? _rules.RulesFor(requester).SelectMany(r => r.PermissionSets).Where(p => !p.Contains('*') && !p.Contains('?'))
                : await _catalog.ListPermissionSetArnsAsync(cancellationToken);
        }
        else if (account.IsSandbox || _catalog is null)
        {
            var literals = _rules.RulesFor(requester)
                .SelectMany(r => wantsGroups ? r.Groups : r.Policies)
                .Where(p => !p.Contains('*') && !p.Contains('?'));
            candidates = wantsGroups ? literals : literals.Concat(CommonManagedPolicies);
        }
        else
        {
            candidates = wantsGroups
                ? await _catalog.ListGroupNamesAsync(account, cancellationToken)
                : await _catalog.ListPolicyArnsAsync(account, cancellationToken);
        }

        var filterKind = kind == AccessKind.Resource ? AccessKind.Policy : kind;
        return [.. _rules.FilterCandidates(requester, accountId, filterKind, candidates, query).Take(MaxOptions)];
    }
}
