using AccessWorkflows.Requests;
using AccessWorkflows.Rules;

namespace AccessWorkflows.Grants;

/// <summary>
/// Makes IAM changes in one account (SPEC 9): the sandbox or real AWS. Every method is idempotent: applying what
/// is already applied, or removing what is already gone, succeeds and changes nothing. Callers count overlapping
/// grants in <see cref="Storage.IGrantLedger"/>; a provisioner never does.
/// </summary>
public interface IAccessProvisioner
{
    /// <summary>The IAM user name of a person; throws <see cref="PermanentProvisioningException"/> when there is none.</summary>
    Task<string> ResolveUserNameAsync(AccountConfig account, string email, CancellationToken cancellationToken = default);

    Task ApplyAsync(AccountConfig account, string userName, AccessSpec access, string requestId, CancellationToken cancellationToken = default);

    Task RemoveAsync(AccountConfig account, string userName, AccessSpec access, string requestId, CancellationToken cancellationToken = default);
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
