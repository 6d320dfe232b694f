using AccessWorkflows.Requests;
using AccessWorkflows.Rules;
using AccessWorkflows.Storage;

namespace AccessWorkflows.Grants.Sandbox;

/// <summary>
/// The simulated IAM account of <c>provider: sandbox</c> (SPEC 9): a user named after each email, created on
/// first use, whose attached policies and groups are persisted with the rest of the state. Like IAM, attaching
/// what is attached and detaching what is not are no-ops; a resource grant attaches a generated policy under
/// <c>/access-workflows/</c> named after the request. Permission sets are simulated too: an assignment of a
/// permission set to the user in the account is kept in the user's attachment list under the permission set's
/// <c>arn:aws:sso:::permissionSet/...</c> ARN, which can never be an IAM policy ARN (<see cref="IsPermissionSet"/>), so
/// the store needs no new shape; the sandbox view and the inventory separate them again.
/// </summary>
public sealed class SandboxProvisioner : IAccessProvisioner
{
    private readonly ISandboxIamStore _store;

    public SandboxProvisioner(ISandboxIamStore store) => _store = store;

    /// <summary>The generated policy of a resource request, as real AWS would name it.</summary>
    public static string GeneratedPolicyArn(string accountId, string requestId) =>
        $"arn:aws:iam::{accountId}:policy/access-workflows/access-workflows-{requestId}";

    /// <summary>Whether an entry of a sandbox user's attachment list is a simulated permission set assignment.</summary>
    public static bool IsPermissionSet(string arn) => Grammar.IsPermissionSetArn(arn);

    public Task<string> ResolveUserNameAsync(AccountConfig account, string email, CancellationToken cancellationToken = default)
    {
        if (!Grammar.IsEmail(email))
        {
            throw new PermanentProvisioningException($"'{email}' is not an email, so it names no sandbox user.");
        }

        return Task.FromResult(Grammar.NormalizeEmail(email));
    }

    /// <summary>The sandbox has no clock in its policies: <paramref name="notAfter"/> is not kept (revocation ends it).</summary>
    public async Task ApplyAsync(AccountConfig account, string userName, AccessSpec access, string requestId, DateTimeOffset? notAfter = null, CancellationToken cancellationToken = default)
        => await _store.UpdateUserAsync(account.Id, userName, user => access.Type switch
        {
            AccessKind.Group => user with { Groups = With(user.Groups, access.GroupName!) },
            _ => user with { AttachedPolicies = With(user.AttachedPolicies, PolicyArn(account, access, requestId)) },
        }, cancellationToken);

    public async Task RemoveAsync(AccountConfig account, string userName, AccessSpec access, string requestId, CancellationToken cancellationToken = default)
        => await _store.UpdateUserAsync(account.Id, userName, user => access.Type switch
        {
            AccessKind.Group => user with { Groups = Without(user.Groups, access.GroupName!) },
            _ => user with { AttachedPolicies = Without(user.AttachedPolicies, PolicyArn(account, access, requestId)) },
        }, cancellationToken);

    public async Task<bool> HoldsAsync(AccountConfig account, string userName, AccessSpec access, CancellationToken cancellationToken = default)
    {
        if (access.Type == AccessKind.Resource || await _store.GetUserAsync(account.Id, userName, cancellationToken) is not { } user)
        {
            return false;
        }

        return access.Type switch
        {
            AccessKind.Group => user.Groups.Contains(access.GroupName!, StringComparer.Ordinal),
            AccessKind.PermissionSet => user.AttachedPolicies.Contains(access.PermissionSetArn!, StringComparer.Ordinal),
            _ => user.AttachedPolicies.Contains(access.PolicyArn!, StringComparer.Ordinal),
        };
    }

    public Task ExtendAsync(AccountConfig account, AccessSpec access, string requestId, DateTimeOffset notAfter, CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <summary>Every sandbox user; the generated policies are the <c>/access-workflows/</c> ARNs attached to them
    /// (the sandbox keeps no separate policy objects, and one deployment owns it).</summary>
    public async Task<AccountInventory> InventoryAsync(AccountConfig account, CancellationToken cancellationToken = default)
    {
        var users = await _store.ListUsersAsync(account.Id, cancellationToken);
        var prefix = GeneratedPolicyArn(account.Id, string.Empty);
        var generated = users
            .SelectMany(u => u.AttachedPolicies.Where(p => p.StartsWith(prefix, StringComparison.Ordinal)).Select(p => (Policy: p, u.UserName)))
            .GroupBy(x => x.Policy, StringComparer.Ordinal)
            .Select(g => new GeneratedPolicyInfo(g.Key, g.Key[prefix.Length..], [.. g.Select(x => x.UserName)]))
            .ToList();
        return new AccountInventory(
            [.. users.Select(u => new UserHoldings(u.UserName, [.. u.AttachedPolicies.Where(p => !IsPermissionSet(p))], u.Groups)
            {
                PermissionSets = [.. u.AttachedPolicies.Where(IsPermissionSet)],
            })],
            generated);
    }

    public async Task RemoveGeneratedPolicyAsync(AccountConfig account, GeneratedPolicyInfo policy, CancellationToken cancellationToken = default)
    {
        foreach (var userName in policy.AttachedTo)
        {
            await _store.UpdateUserAsync(account.Id, userName, user => user with { AttachedPolicies = Without(user.AttachedPolicies, policy.Arn) }, cancellationToken);
        }
    }

    private static string PolicyArn(AccountConfig account, AccessSpec access, string requestId) => access.Type switch
    {
        AccessKind.Resource => GeneratedPolicyArn(account.Id, requestId),
        AccessKind.PermissionSet => access.PermissionSetArn!,
        _ => access.PolicyArn!,
    };

    private static List<string> With(IEnumerable<string> items, string item) => [.. items.Append(item).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    private static List<string> Without(IEnumerable<string> items, string item) => [.. items.Where(i => i != item)];
}
