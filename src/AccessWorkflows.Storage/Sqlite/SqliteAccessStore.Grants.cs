using Microsoft.Data.Sqlite;

namespace AccessWorkflows.Storage.Sqlite;

public sealed partial class SqliteAccessStore
{
    // Add/remove and the count they return run in one IMMEDIATE transaction: SQLite's single writer makes the pair
    // atomic per key without a version column, and the count is exactly the holders after this change.
    public Task<int> AddHolderAsync(GrantKey key, string requestId, CancellationToken cancellationToken = default) =>
        ChangeHolderAsync(
            key,
            requestId,
            "INSERT INTO grant_holders (account_id, user_name, permission, request_id) VALUES ($account, $user, $permission, $request) ON CONFLICT DO NOTHING",
            cancellationToken);

    public Task<int> RemoveHolderAsync(GrantKey key, string requestId, CancellationToken cancellationToken = default) =>
        ChangeHolderAsync(
            key,
            requestId,
            "DELETE FROM grant_holders WHERE account_id = $account AND user_name = $user AND permission = $permission AND request_id = $request",
            cancellationToken);

    /// <summary>Holders in ordinal order of request id.</summary>
    public async Task<IReadOnlyList<string>> GetHoldersAsync(GrantKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var select = Command(
            connection,
            "SELECT request_id FROM grant_holders WHERE account_id = $account AND user_name = $user AND permission = $permission ORDER BY request_id");
        AddKey(select, key);
        var holders = new List<string>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            holders.Add(reader.GetString(0));
        }

        return holders;
    }

    /// <summary>Ordered by user name, then permission; holders in ordinal order of request id.</summary>
    async Task<IReadOnlyList<GrantHolding>> IGrantLedger.ListAsync(string accountId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(accountId);
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var select = Command(
            connection,
            "SELECT user_name, permission, request_id FROM grant_holders WHERE account_id = $account ORDER BY user_name, permission, request_id");
        select.Parameters.AddWithValue("$account", accountId);
        var holdings = new List<GrantHolding>();
        List<string>? holders = null;
        GrantKey? current = null;
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var key = new GrantKey(accountId, reader.GetString(0), reader.GetString(1));
            if (key != current)
            {
                holders = [];
                holdings.Add(new GrantHolding(key, holders));
                current = key;
            }

            holders!.Add(reader.GetString(2));
        }

        return holdings;
    }

    private async Task<int> ChangeHolderAsync(GrantKey key, string requestId, string sql, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: false);
        await using (var change = Command(connection, sql, transaction))
        {
            AddKey(change, key);
            change.Parameters.AddWithValue("$request", requestId);
            await change.ExecuteNonQueryAsync(cancellationToken);
        }

        int count;
        await using (var countCommand = Command(
            connection,
            "SELECT count(*) FROM grant_holders WHERE account_id = $account AND user_name = $user AND permission = $permission",
            transaction))
        {
            AddKey(countCommand, key);
            count = Convert.ToInt32(await countCommand.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        }

        await transaction.CommitAsync(cancellationToken);
        return count;
    }

    private static void AddKey(SqliteCommand command, GrantKey key)
    {
        command.Parameters.AddWithValue("$account", key.AccountId);
        command.Parameters.AddWithValue("$user", key.UserName);
        command.Parameters.AddWithValue("$permission", key.Permission);
    }
}
