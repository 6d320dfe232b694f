namespace AccessWorkflows.Storage;

/// <summary>
/// Which requests hold which permission on which IAM user, so overlapping grants never cut each other short
/// (SPEC 6): a permission is removed only when its last holder lets go. Add and remove are idempotent per
/// request and atomic per key (optimistic concurrency in the stores).
/// </summary>
public interface IGrantLedger
{
    /// <summary>Records <paramref name="requestId"/> as a holder; returns the number of holders afterwards.</summary>
    Task<int> AddHolderAsync(GrantKey key, string requestId, CancellationToken cancellationToken = default);

    /// <summary>Removes <paramref name="requestId"/> as a holder; returns the number of holders left.</summary>
    Task<int> RemoveHolderAsync(GrantKey key, string requestId, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<string>> GetHoldersAsync(GrantKey key, CancellationToken cancellationToken = default);

    /// <summary>Every key with at least one holder in an account (reconciliation).</summary>
    Task<IReadOnlyList<GrantHolding>> ListAsync(string accountId, CancellationToken cancellationToken = default);
}

/// <param name="Permission">See <see cref="Requests.AccessSpec.PermissionKey"/>.</param>
public sealed record GrantKey(string AccountId, string UserName, string Permission);

public sealed record GrantHolding(GrantKey Key, IReadOnlyList<string> RequestIds);
