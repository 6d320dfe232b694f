using System.Collections.Concurrent;
using System.Data;
using System.Diagnostics.CodeAnalysis;
using AccessWorkflows.Storage;
using Microsoft.Data.Sqlite;

namespace AccessWorkflows.Storage.Sqlite;

/// <summary>
/// Every storage port on one SQLite file (SPEC 11, the embedded default): requests, audit log, grant ledger, sandbox
/// IAM users, chat message refs and delivery keys, Teams conversation references.
/// </summary>
/// <remarks>
/// Thread-safe; meant to be a singleton per file. Each operation has a connection of its own (lent from the store's
/// idle connections, see <see cref="LentConnection"/>), so concurrent callers (and several instances on the same file)
/// serialize on SQLite's own locking: WAL journal, a busy timeout, and
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

    /// <summary>Idle connections kept open beyond this are closed: a burst's connections do not stay forever. Above the
    /// busiest moment's need (32 Teams clicks in flight, the work queues' workers, the refusal writer, the engine): with
    /// 16, a burst of 32 closed and opened connections all the time, and opening one (300-400 µs) was a quarter of a
    /// request read. Each open connection holds at most SQLite's page cache (2 MiB) of what it read.</summary>
    internal const int MaxIdleConnections = 64;

    private readonly string connectionString;
    private readonly ConcurrentStack<LentConnection> idle = new();
    private int idleCount;
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

            // Not Microsoft.Data.Sqlite's pool: it can lend one native connection to two concurrent openers
            // (dotnet/efcore#39008, reproduced upstream on 10.0.11, the version used here), and the second BEGIN then
            // fails with "cannot start a transaction within a transaction" — seen here as a 500 on POST /api/requests
            // under the Teams benchmark; worse, the two owners would share one transaction. The store keeps its own
            // idle connections instead (LentConnection).
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString();

        using var connection = OpenConnection();
        SqliteSchema.Apply(connection);
    }

    /// <summary>The full path of the database file.</summary>
    public string DatabasePath { get; }

    /// <summary>How many open connections wait to be lent again (at most <see cref="MaxIdleConnections"/>).</summary>
    internal int IdleConnectionCount => Volatile.Read(ref idleCount);

    /// <summary>Same as the constructor; reads better at composition roots.</summary>
    public static SqliteAccessStore Open(string databasePath) => new(databasePath);

    /// <summary>Marks the store disposed and closes its idle connections; connections lent out close when their
    /// operation ends. Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            while (idle.TryPop(out var connection))
            {
                Interlocked.Decrement(ref idleCount);
                connection.Discard();
            }
        }
    }

    private const string ConnectionPragmas =
        "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;";

    // Per-connection settings go on every new connection (an idle one lent again keeps them).
    // journal_mode is persistent in the file, but asking each time also covers a file another tool created.
    // synchronous = FULL, not WAL's usual NORMAL: a committed audit event or grant-ledger entry must survive a power
    // loss too (a lost ledger entry would leave an AWS permission nobody revokes), and the write rate is low.
    private LentConnection OpenConnection()
    {
        ObjectDisposedException.ThrowIf(disposed != 0, this);
        if (TryLendIdle(out var lent))
        {
            return lent;
        }

        var connection = new LentConnection(connectionString, this);
        try
        {
            connection.Open();
            using var pragma = Command(connection, ConnectionPragmas);
            pragma.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Discard();
            throw;
        }
    }

    /// <summary>Lends a connection for one operation; dispose it (<c>await using</c>) to give it back.</summary>
    internal async Task<SqliteConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(disposed != 0, this);
        if (TryLendIdle(out var lent))
        {
            return lent;
        }

        var connection = new LentConnection(connectionString, this);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var pragma = Command(connection, ConnectionPragmas);
            await pragma.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch
        {
            connection.Discard();
            throw;
        }
    }

    private bool TryLendIdle([NotNullWhen(true)] out LentConnection? connection)
    {
        if (!idle.TryPop(out connection))
        {
            return false;
        }

        Interlocked.Decrement(ref idleCount);
        return true;
    }

    /// <summary>Takes a connection back as idle when it is clean: open, outside any transaction, room left.</summary>
    private bool TryTakeBack(LentConnection connection)
    {
        if (disposed != 0 || connection.State != ConnectionState.Open || !connection.IsOutsideTransaction)
        {
            return false;
        }

        if (Interlocked.Increment(ref idleCount) > MaxIdleConnections)
        {
            Interlocked.Decrement(ref idleCount);
            return false;
        }

        idle.Push(connection);
        if (disposed != 0 && idle.TryPop(out var late))
        {
            Interlocked.Decrement(ref idleCount);
            late.Discard(); // the store was disposed while this was being pushed
        }

        return true;
    }

    /// <summary>
    /// A connection the store lends to one operation at a time. Opening a SQLite connection costs 300-400 µs of CPU
    /// (file open, the schema parsed again, the pragmas) against about 11 µs for a read on an open one, and the Teams
    /// and Slack answers read the store in the request path. Disposing it, as every operation does with
    /// <c>await using</c>, gives it back to the store instead of closing it, unless it is closed, still inside a
    /// transaction (an operation that failed half-way), or the store has enough idle connections or is disposed.
    /// </summary>
    private sealed class LentConnection(string connectionString, SqliteAccessStore store) : SqliteConnection(connectionString)
    {
        private readonly Dictionary<string, SqliteCommand> prepared = new(StringComparer.Ordinal);

        /// <summary>Whether SQLite is in autocommit mode, that is no transaction is open on the connection.</summary>
        public bool IsOutsideTransaction => Handle is { } handle && SQLitePCL.raw.sqlite3_get_autocommit(handle) != 0;

        /// <summary>
        /// The command for <paramref name="sql"/> that this connection keeps prepared: SQLite's prepare (parse, plan) was a
        /// quarter of a request read, and a kept command runs its prepared statement again. Owned by the connection:
        /// callers set its parameters and run it, outside any transaction, and never dispose it. One operation uses a
        /// connection at a time, so one command per statement is enough.
        /// </summary>
        public SqliteCommand Prepared(string sql)
        {
            if (!prepared.TryGetValue(sql, out var command))
            {
                command = Command(this, sql);
                prepared[sql] = command;
            }

            return command;
        }

        /// <summary>Closes the connection for good, whatever the store would take back.</summary>
        public void Discard()
        {
            DisposePrepared();
            base.Dispose(disposing: true);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && store.TryTakeBack(this))
            {
                return;
            }

            if (disposing)
            {
                DisposePrepared();
            }

            base.Dispose(disposing);
        }

        private void DisposePrepared()
        {
            foreach (var command in prepared.Values)
            {
                command.Dispose();
            }

            prepared.Clear();
        }
    }

    /// <summary>A command for <paramref name="sql"/> outside any transaction: the one the lent connection keeps prepared
    /// (<c>Owned</c> null), or a new one the caller owns and disposes.</summary>
    private static (SqliteCommand Command, SqliteCommand? Owned) Reusable(SqliteConnection connection, string sql)
    {
        if (connection is LentConnection lent)
        {
            return (lent.Prepared(sql), null);
        }

        var command = Command(connection, sql);
        return (command, command);
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
