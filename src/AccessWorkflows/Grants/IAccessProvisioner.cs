using AccessWorkflows.Requests;
using AccessWorkflows.Rules;

namespace AccessWorkflows.Grants;

/// <summary>
/// Makes IAM changes in one account (SPEC 9): the sandbox or real AWS. Every method is idempotent: applying what
/// is already applied, or removing what is already gone, succeeds and changes nothing. Callers count overlapping
/// grants and standing access in <see cref="Storage.IGrantLedger"/>; a provisioner never does.
/// </summary>
public interface IAccessProvisioner
{
    /// <summary>The IAM user name of a person; throws <see cref="PermanentProvisioningException"/> when there is none.</summary>
    Task<string> ResolveUserNameAsync(AccountConfig account, string email, CancellationToken cancellationToken = default);

    /// <summary>Who receives <paramref name="kind"/> access: the IAM user name, or for permission sets the Identity
    /// Center user id (real AWS). Grants, releases and the ledger use this name. Throws
    /// <see cref="PermanentProvisioningException"/> when the person has no such identity.</summary>
    Task<string> ResolvePrincipalAsync(AccountConfig account, string email, AccessKind kind, CancellationToken cancellationToken = default) =>
        ResolveUserNameAsync(account, email, cancellationToken);

    /// <param name="notAfter">When the grant ends. A generated (resource) policy denies itself after it
    /// (<c>DateLessThan aws:CurrentTime</c>), so AWS ends the access even if revocation is late; null: no limit.</param>
    Task ApplyAsync(AccountConfig account, string userName, AccessSpec access, string requestId, DateTimeOffset? notAfter = null, CancellationToken cancellationToken = default);

    Task RemoveAsync(AccountConfig account, string userName, AccessSpec access, string requestId, CancellationToken cancellationToken = default);

    /// <summary>Whether the user holds the policy or group now, however it got there (standing access is detected
    /// with it before a grant, and a grant's attachment removed by hand after). Always false for resource access,
    /// whose generated policy belongs to one request.</summary>
    Task<bool> HoldsAsync(AccountConfig account, string userName, AccessSpec access, CancellationToken cancellationToken = default);

    /// <summary>Moves the expiry written into a request's generated policy (an extended grant). No-op for policy and
    /// group access and when the generated policy is gone.</summary>
    Task ExtendAsync(AccountConfig account, AccessSpec access, string requestId, DateTimeOffset notAfter, CancellationToken cancellationToken = default);

    /// <summary>Everything reconciliation looks at in the account: the users in scope with their managed policies and
    /// groups, and the generated policies this deployment owns.</summary>
    Task<AccountInventory> InventoryAsync(AccountConfig account, CancellationToken cancellationToken = default);

    /// <summary>Detaches a generated policy of this deployment from every user and deletes it (reconciliation).</summary>
    Task RemoveGeneratedPolicyAsync(AccountConfig account, GeneratedPolicyInfo policy, CancellationToken cancellationToken = default);
}

/// <summary>Chooses the provisioner for an account (sandbox or AWS).</summary>
public interface IProvisionerResolver
{
    IAccessProvisioner For(AccountConfig account);
}

/// <summary>A provisioning failure that retrying cannot fix (no such user, no such policy, refused by grammar).
/// The workflow does not retry it; it cleans up and ends the request <c>failed</c>.</summary>
public sealed class PermanentProvisioningException : Exception
{
    public PermanentProvisioningException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}

/// <summary>What an account holds, as reconciliation sees it.</summary>
public sealed record AccountInventory(IReadOnlyList<UserHoldings> Users, IReadOnlyList<GeneratedPolicyInfo> GeneratedPolicies);

/// <param name="UserName">The IAM user name, or the Identity Center user id of an entry that holds permission sets.</param>
/// <param name="AttachedPolicies">Managed policy ARNs attached to the user (generated ones included).</param>
public sealed record UserHoldings(string UserName, IReadOnlyList<string> AttachedPolicies, IReadOnlyList<string> Groups)
{
    /// <summary>Permission set ARNs assigned to the user in the account (user assignments only, not group ones).</summary>
    public IReadOnlyList<string> PermissionSets { get; init; } = [];
}

/// <summary>A generated policy of this deployment and the request it was made for.</summary>
/// <param name="RequestId">The request tag; null when the policy carries none (then it is not judged).</param>
public sealed record GeneratedPolicyInfo(string Arn, string? RequestId, IReadOnlyList<string> AttachedTo);
