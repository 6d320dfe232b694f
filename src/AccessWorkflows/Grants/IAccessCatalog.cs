using AccessWorkflows.Rules;

namespace AccessWorkflows.Grants;

/// <summary>What exists in an account to offer in autocomplete (Slack external_select, Teams Data.Query). The core
/// filters it by the rules, so nobody is offered what no rule allows.</summary>
public interface IAccessCatalog
{
    /// <summary>Managed policy ARNs that can be attached in the account (AWS-managed and customer-managed).</summary>
    Task<IReadOnlyList<string>> ListPolicyArnsAsync(AccountConfig account, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<string>> ListGroupNamesAsync(AccountConfig account, CancellationToken cancellationToken = default);

    /// <summary>The permission sets of the organisation's IAM Identity Center instance (any account can be assigned
    /// any of them); empty when no Identity Center is configured.</summary>
    Task<IReadOnlyList<string>> ListPermissionSetArnsAsync(CancellationToken cancellationToken = default) => Task.FromResult<IReadOnlyList<string>>([]);
}
