using System.Data;
using AccessWorkflows.Storage;
using Microsoft.Data.Sqlite;

namespace AccessWorkflows.Storage.Sqlite;

/// <summary>
/// Every storage port on one SQLite file (SPEC 11, the embedded default): requests, audit log, grant ledger, sandbox
/// IAM users, chat message refs and delivery keys, Teams conversation references.
/// </summary>
/// <remarks>
/// Thread-safe; meant to be a singleton per file. Each operation opens a connection of its own, so concurrent callers
/// (and several instances on the same file) serialize on SQLite's own locking: WAL journal, a busy timeout, and
/// <c>BEGIN IMMEDIATE</c> for every read-modify-write so that two writers never deadlock upgrading a read lock.
/// Read-modify-write operations whose mutation is caller code (<see cref="UpdateAsync"/>, <see cref="UpdateUserAsync"/>)
/// run that code outside any transaction and write with a version check, retrying on conflict, so a slow or
/// re-entrant mutation never holds the write lock.
/// </remarks>
public sealed partial class SqliteAccessStore
    : IRequestStore, IAuditLog, IGrantLedger, ISandboxIamStore, IMessageRefStore, IConversationStore, IDisposable
{
    /// <summary>How many times a version-checked write is retried before giving up. Every conflict means another
    /// writer succeeded, so reaching this means pathological contention, not a livelock.</summary>
    private const int MaxConflictRetries = 1000;

    private readonly string connectionString;
    private int disposed;

    /// <summary>Opens (creating when missing: the directory, the file, the schema) the store at <paramref name="databasePath"/>.</summary>
    /// <exception cref="NotSupportedException">The file was written by a newer version of the schema.</exception>
    public SqliteAccessStore(string databasePath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        DatabasePath = Path.GetFullPath(databasePath);
        var directory = Path.GetDirectoryName(DatabasePath);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,

            // No pooling: Microsoft.Data.Sqlite's pool can lend one native connection to two concurrent openers
            // (dotnet/efcore#39008, reproduced upstream on 10.0.11, the version used here), and the second BEGIN then
            // fails with "cannot start a transaction within a transaction" — seen here as a 500 on POST /api/requests
            // under the Teams benchmark. Worse, the two owners would share one transaction. Opening a connection per
            // operation costs a file open and four pragmas, nothing at this store's write rate.
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString();

        using var connection = OpenConnection();
        SqliteSchema.Apply(connection);
    }

    /// <summary>The full path of the database file.</summary>
    public string DatabasePath { get; }

    /// <summary>Same as the constructor; reads better at composition roots.</summary>
    public static SqliteAccessStore Open(string databasePath) => new(databasePath);

    /// <summary>Marks the store disposed and clears any pool of this file's connection string (the store pools none;
    /// other code opening the same file may). Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            using var connection = new SqliteConnection(connectionString);
            SqliteConnection.ClearPool(connection);
        }
    }

    private const string ConnectionPragmas =
        "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;";

    // Per-connection settings go on every open (connections are not pooled, see the constructor).
    // journal_mode is persistent in the file, but asking each time also covers a file another tool created.
    // synchronous = FULL, not WAL's usual NORMAL: a committed audit event or grant-ledger entry must survive a power
    // loss too (a lost ledger entry would leave an AWS permission nobody revokes), and the write rate is low.
    private SqliteConnection OpenConnection()
    {
        ObjectDisposedException.ThrowIf(disposed != 0, this);
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            using var pragma = Command(connection, ConnectionPragmas);
            pragma.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private async Task<SqliteConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(disposed != 0, this);
        var connection = new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var pragma = Command(connection, ConnectionPragmas);
            await pragma.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    private static DBConcurrencyException TooManyConflicts(string what) =>
        new($"Gave up writing {what} after {MaxConflictRetries} concurrency conflicts.");
}
