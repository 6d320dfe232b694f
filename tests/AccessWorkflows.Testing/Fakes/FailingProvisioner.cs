using AccessWorkflows.Grants;
using AccessWorkflows.Requests;
using AccessWorkflows.Rules;

namespace AccessWorkflows.Testing.Fakes;

/// <summary>
/// An AWS account whose IAM misbehaves on purpose: applying fails for good after <see cref="PermanentApplyFailure"/> is
/// set (what AwsProvisioner reports for a policy that does not exist), and the next <see cref="RemoveFailures"/>
/// removals fail as a throttled or broken IAM would, then removals succeed. Counts every call. The user holds nothing
/// else: no standing access, no generated policies to reconcile.
/// </summary>
public sealed class FailingProvisioner : IAccessProvisioner
{
    private int _applies;
    private int _removes;
    private int _removeFailures;

    public string? PermanentApplyFailure { get; init; }

    /// <summary>How many of the next removals fail.</summary>
    public int RemoveFailures
    {
        get => Volatile.Read(ref _removeFailures);
        init => _removeFailures = value;
    }

    public int Applies => Volatile.Read(ref _applies);

    public int Removes => Volatile.Read(ref _removes);

    public Task<string> ResolveUserNameAsync(AccountConfig account, string email, CancellationToken cancellationToken = default) => Task.FromResult(email);

    public Task ApplyAsync(AccountConfig account, string userName, AccessSpec access, string requestId, DateTimeOffset? notAfter = null, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _applies);
        return PermanentApplyFailure is { } reason ? throw new PermanentProvisioningException(reason) : Task.CompletedTask;
    }

    public Task RemoveAsync(AccountConfig account, string userName, AccessSpec access, string requestId, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _removes);
        return Interlocked.Decrement(ref _removeFailures) >= 0
            ? throw new HttpRequestException("IAM answered 500 ServiceFailure.")
            : Task.CompletedTask;
    }

    public Task<bool> HoldsAsync(AccountConfig account, string userName, AccessSpec access, CancellationToken cancellationToken = default) => Task.FromResult(false);

    public Task ExtendAsync(AccountConfig account, AccessSpec access, string requestId, DateTimeOffset notAfter, CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task<AccountInventory> InventoryAsync(AccountConfig account, CancellationToken cancellationToken = default) =>
        Task.FromResult(new AccountInventory([], []));

    public Task RemoveGeneratedPolicyAsync(AccountConfig account, GeneratedPolicyInfo policy, CancellationToken cancellationToken = default) => Task.CompletedTask;
}
