namespace AccessWorkflows.Storage;

/// <summary>
/// Which requests hold which permission on which IAM user, so overlapping grants never cut each other short
/// (SPEC 6): a permission is removed only when its last holder lets go. Add and remove are idempotent per
/// request and atomic per key (optimistic concurrency in the stores). Standing access — a policy or group the user
/// held before any grant needed it — is recorded as the holder <see cref="GrantHolders.Standing"/>, which never lets
/// go, so a grant of what someone already had never takes it away.
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

/// <summary>Holder ids that are not requests.</summary>
public static class GrantHolders
{
    /// <summary>The user held the permission before AccessWorkflows granted it (attached by hand, by another tool).
    /// It is never released by a request; only a person removes standing access. No request id can take this value
    /// (request ids are letters, digits and <c>_.-</c>).</summary>
    public const string Standing = "~standing";

    public static bool IsRequest(string holder) => holder != Standing;
}

/// <param name="Permission">See <see cref="Requests.AccessSpec.PermissionKey"/>.</param>
public sealed record GrantKey(string AccountId, string UserName, string Permission);

public sealed record GrantHolding(GrantKey Key, IReadOnlyList<string> RequestIds);
