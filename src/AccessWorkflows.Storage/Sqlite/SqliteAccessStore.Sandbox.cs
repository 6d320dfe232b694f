using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace AccessWorkflows.Storage.Sqlite;

public sealed partial class SqliteAccessStore
{
    public async Task<SandboxUser?> GetUserAsync(string accountId, string userName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(accountId);
        ArgumentNullException.ThrowIfNull(userName);
        await using var connection = await OpenConnectionAsync(cancellationToken);
        return (await ReadUserAsync(connection, accountId, userName, cancellationToken))?.User;
    }

    /// <summary>Ordered by user name (ordinal).</summary>
    public async Task<IReadOnlyList<SandboxUser>> ListUsersAsync(string accountId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(accountId);
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var select = Command(
            connection,
            "SELECT user_name, attached_policies, groups FROM sandbox_users WHERE account_id = $account ORDER BY user_name");
        select.Parameters.AddWithValue("$account", accountId);
        var users = new List<SandboxUser>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            users.Add(new SandboxUser(accountId, reader.GetString(0), ReadList(reader.GetString(1)), ReadList(reader.GetString(2))));
        }

        return users;
    }

    /// <summary>
    /// Optimistic read-modify-write like <see cref="UpdateAsync"/>: <paramref name="mutate"/> may run several times.
    /// The result is normalized (lists sorted ordinally and distinct) before it is stored and returned; a result
    /// naming another account or user is refused with <see cref="InvalidOperationException"/>.
    /// </summary>
    public async Task<SandboxUser> UpdateUserAsync(string accountId, string userName, Func<SandboxUser, SandboxUser> mutate, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountId);
        ArgumentException.ThrowIfNullOrEmpty(userName);
        ArgumentNullException.ThrowIfNull(mutate);
        await using var connection = await OpenConnectionAsync(cancellationToken);
        for (var attempt = 0; attempt < MaxConflictRetries; attempt++)
        {
            var row = await ReadUserAsync(connection, accountId, userName, cancellationToken);
            var next = mutate(row?.User ?? SandboxUser.Empty(accountId, userName))
                ?? throw new InvalidOperationException("The mutation of a sandbox user returned null.");
            if (next.AccountId != accountId || next.UserName != userName)
            {
                throw new InvalidOperationException($"The mutation of sandbox user {accountId}/{userName} changed its identity.");
            }

            next = next with { AttachedPolicies = Normalize(next.AttachedPolicies), Groups = Normalize(next.Groups) };
            var sql = row is null
                ? """
                  INSERT INTO sandbox_users (account_id, user_name, version, attached_policies, groups)
                  VALUES ($account, $user, 1, $policies, $groups)
                  ON CONFLICT DO NOTHING
                  """
                : """
                  UPDATE sandbox_users SET version = version + 1, attached_policies = $policies, groups = $groups
                  WHERE account_id = $account AND user_name = $user AND version = $version
                  """;
            await using var write = Command(connection, sql);
            write.Parameters.AddWithValue("$account", accountId);
            write.Parameters.AddWithValue("$user", userName);
            write.Parameters.AddWithValue("$version", row?.Version ?? 0);
            write.Parameters.AddWithValue("$policies", JsonSerializer.Serialize(next.AttachedPolicies, StoreJson.Options));
            write.Parameters.AddWithValue("$groups", JsonSerializer.Serialize(next.Groups, StoreJson.Options));
            if (await write.ExecuteNonQueryAsync(cancellationToken) == 1)
            {
                return next;
            }

            // Created or changed by another writer since the read: re-read and re-apply.
        }

        throw TooManyConflicts($"sandbox user {accountId}/{userName}");
    }

    private static async Task<(long Version, SandboxUser User)?> ReadUserAsync(SqliteConnection connection, string accountId, string userName, CancellationToken cancellationToken)
    {
        await using var select = Command(
            connection,
            "SELECT version, attached_policies, groups FROM sandbox_users WHERE account_id = $account AND user_name = $user");
        select.Parameters.AddWithValue("$account", accountId);
        select.Parameters.AddWithValue("$user", userName);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return (reader.GetInt64(0), new SandboxUser(accountId, userName, ReadList(reader.GetString(1)), ReadList(reader.GetString(2))));
    }

    private static string[] ReadList(string json) => JsonSerializer.Deserialize<string[]>(json, StoreJson.Options) ?? [];

    private static string[] Normalize(IReadOnlyList<string>? values) =>
        values is null ? [] : [.. values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
}
