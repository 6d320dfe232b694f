using AccessWorkflows.Rules;

namespace AccessWorkflows.Grants;

/// <summary>What exists in an account to offer in autocomplete (Slack external_select, Teams Data.Query). The core
/// filters it by the rules, so nobody is offered what no rule allows.</summary>
public interface IAccessCatalog
{
    /// <summary>Managed policy ARNs that can be attached in the account (AWS-managed and customer-managed).</summary>
    Task<IReadOnlyList<string>> ListPolicyArnsAsync(AccountConfig account, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<string>> ListGroupNamesAsync(AccountConfig account, CancellationToken cancellationToken = default);
}
