using AccessWorkflows.Grants;
using AccessWorkflows.Requests;
using AccessWorkflows.Rules;

namespace AccessWorkflows.Testing.Fakes;

/// <summary>
/// An AWS account whose IAM misbehaves on purpose: applying fails for good after <see cref="PermanentApplyFailure"/> is
/// set (what AwsProvisioner reports for a policy that does not exist), and the next <see cref="RemoveFailures"/>
/// removals fail as a throttled or broken IAM would, then removals succeed. Counts every call.
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

    public Task ApplyAsync(AccountConfig account, string userName, AccessSpec access, string requestId, CancellationToken cancellationToken = default)
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
}
