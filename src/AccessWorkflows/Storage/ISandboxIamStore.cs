namespace AccessWorkflows.Storage;

/// <summary>The persisted state of the simulated IAM accounts (SPEC 9, <c>provider: sandbox</c>).</summary>
public interface ISandboxIamStore
{
    Task<SandboxUser?> GetUserAsync(string accountId, string userName, CancellationToken cancellationToken = default);

    /// <summary>Every user of a sandbox account, ordered by user name (reconciliation).</summary>
    Task<IReadOnlyList<SandboxUser>> ListUsersAsync(string accountId, CancellationToken cancellationToken = default);

    /// <summary>Applies <paramref name="mutate"/> to the user (an empty one when missing: users are created on first
    /// use) and saves it, retrying on a concurrency conflict. Returns the user as stored.</summary>
    Task<SandboxUser> UpdateUserAsync(string accountId, string userName, Func<SandboxUser, SandboxUser> mutate, CancellationToken cancellationToken = default);
}

/// <summary>A simulated IAM user: attached managed policy ARNs and group names, each sorted and distinct.</summary>
public sealed record SandboxUser(string AccountId, string UserName, IReadOnlyList<string> AttachedPolicies, IReadOnlyList<string> Groups)
{
    public static SandboxUser Empty(string accountId, string userName) => new(accountId, userName, [], []);
}
