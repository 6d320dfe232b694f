using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;

namespace AccessWorkflows.Durable.Embedded;

/// <summary>What one orchestration step writes, atomically.</summary>
internal sealed record StepCommit(
    string InstanceId,
    long Generation,
    int HistoryStartSeq,
    IReadOnlyList<HistoryEvent> NewHistory,
    IReadOnlyList<ActivityWorkItem> NewActivities,
    IReadOnlyList<(int TimerId, DateTime FireAt)> NewTimers,
    IReadOnlyList<long> ConsumedMessageIds,
    OrchestrationRuntimeStatus Status,
    string? Output,
    string? Failure,
    string? CustomStatus,
    DateTime Now)
{
    /// <summary>Set when the orchestrator continued as new: the old execution's history, work items, timers and
    /// results go before <see cref="StepCommit.NewHistory"/> (the new execution's, from seq 0) is written.</summary>
    public ExecutionRestart? Restart { get; init; }
}

/// <summary>The input of the execution that replaces the instance's current one.</summary>
internal sealed record ExecutionRestart(string? Input);

/// <summary>
/// All SQL of the engine. Writes go through one connection under one lock: SQLite has a single writer anyway,
/// and the lock is also the fence of <see cref="Fence"/>. Reads use pooled connections; WAL lets them run
/// beside the writer. Timestamps are stored as UTC ticks.
/// </summary>
internal sealed class SqliteStore : IDisposable
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS instances(
            instance_id TEXT NOT NULL PRIMARY KEY,
            name TEXT NOT NULL,
            status INTEGER NOT NULL,
            generation INTEGER NOT NULL,
            input TEXT NULL,
            output TEXT NULL,
            custom_status TEXT NULL,
            failure TEXT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            start_at INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS ix_instances_created ON instances(created_at, instance_id);
        CREATE INDEX IF NOT EXISTS ix_instances_status ON instances(status, created_at);
        CREATE TABLE IF NOT EXISTS history(
            instance_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            type INTEGER NOT NULL,
            timestamp INTEGER NOT NULL,
            task_id INTEGER NOT NULL,
            name TEXT NULL,
            data TEXT NULL,
            PRIMARY KEY(instance_id, seq)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS messages(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            instance_id TEXT NOT NULL,
            type INTEGER NOT NULL,
            task_id INTEGER NOT NULL,
            name TEXT NULL,
            data TEXT NULL,
            fire_at INTEGER NOT NULL,
            created_at INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS ix_messages_instance ON messages(instance_id, id);
        CREATE INDEX IF NOT EXISTS ix_messages_fire ON messages(fire_at);
        CREATE TABLE IF NOT EXISTS activities(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            instance_id TEXT NOT NULL,
            task_id INTEGER NOT NULL,
            name TEXT NOT NULL,
            input TEXT NULL,
            attempt INTEGER NOT NULL,
            created_at INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS ix_activities_instance ON activities(instance_id);
        """;

    private readonly Lock _writeLock = new();
    private readonly SqliteConnection _writer;
    private readonly string _connectionString;

    // Open reader connections not in use (at most MaxIdleReaders), and every open connection's prepared statements.
    // A connection and its statements are used by one thread at a time: the one that took it from the bag.
    private readonly ConcurrentBag<SqliteConnection> _idleReaders = [];
    private readonly ConcurrentDictionary<SqliteConnection, Dictionary<string, ReusedCommand>> _commands = new();
    private const int MaxIdleReaders = 8;
    private bool _fenced;
    private bool _disposed;

    public SqliteStore(string databasePath)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(databasePath));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        // Not pooled by the provider: the store keeps its own connections open, with their prepared statements.
        var builder = new SqliteConnectionStringBuilder { DataSource = databasePath, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false };
        _connectionString = builder.ToString();
        _writer = new SqliteConnection(_connectionString);
        _writer.Open();
        _commands[_writer] = new Dictionary<string, ReusedCommand>(StringComparer.Ordinal);

        // WAL: readers never block the writer. synchronous=NORMAL in WAL mode loses nothing when the *process*
        // dies (the WAL is in the OS page cache); only a power loss may drop the last commits.
        Execute(_writer, null, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;");
        Execute(_writer, null, Schema);
    }

    /// <summary>After this returns, no write of this store reaches the database again (a simulated process kill).
    /// A commit in progress finishes first, as it would have on the disk of a dying process.</summary>
    public void Fence()
    {
        lock (_writeLock)
        {
            _fenced = true;
        }
    }

    public bool IsFenced => Volatile.Read(ref _fenced);

    public void Dispose()
    {
        lock (_writeLock)
        {
            _fenced = true;
            Close(_writer);
        }

        // Readers in use are closed by their threads when they give them back.
        Volatile.Write(ref _disposed, true);
        while (_idleReaders.TryTake(out var reader))
        {
            Close(reader);
        }
    }

    private void Close(SqliteConnection connection)
    {
        if (_commands.TryRemove(connection, out var commands))
        {
            foreach (var command in commands.Values)
            {
                command.Release();
            }
        }

        connection.Dispose();
    }

    // ---------------------------------------------------------------- client operations

    /// <summary>Creates (or re-creates, when the previous execution is finished) an instance and its
    /// ExecutionStarted message, which becomes visible at <paramref name="startAt"/>.</summary>
    public void CreateInstance(string instanceId, string name, string? input, DateTime startAt, DateTime now)
    {
        Write((c, t) =>
        {
            long generation = 0;
            using (var cmd = Command(c, t, "SELECT status, generation FROM instances WHERE instance_id=$id", ("$id", instanceId)))
            using (var r = cmd.ExecuteReader())
            {
                if (r.Read())
                {
                    var status = (OrchestrationRuntimeStatus)r.GetInt32(0);
                    if (status is OrchestrationRuntimeStatus.Pending or OrchestrationRuntimeStatus.Running or OrchestrationRuntimeStatus.Suspended)
                    {
                        throw new InstanceAlreadyExistsException(instanceId);
                    }

                    generation = r.GetInt64(1) + 1;
                }
            }

            DeleteInstanceRows(c, t, instanceId, includeInstance: true);
            NonQuery(
                c,
                t,
                """
                INSERT INTO instances(instance_id, name, status, generation, input, created_at, updated_at, start_at)
                VALUES($id, $name, $status, $gen, $input, $now, $now, $start)
                """,
                ("$id", instanceId),
                ("$name", name),
                ("$status", (int)OrchestrationRuntimeStatus.Pending),
                ("$gen", generation),
                ("$input", input),
                ("$now", now.Ticks),
                ("$start", startAt.Ticks));
            InsertMessage(c, t, instanceId, new HistoryEvent(HistoryEventType.ExecutionStarted, now, -1, name, input), startAt, now);
        });
    }

    /// <summary>Adds an inbox message to a pending or running instance; false (and nothing written) when there
    /// is no such instance. A pending instance's messages become visible when it starts.</summary>
    public bool EnqueueToLiveInstance(string instanceId, HistoryEvent message, bool visibleAtStart, DateTime now)
    {
        return Write((c, t) => NonQuery(
            c,
            t,
            $"""
            INSERT INTO messages(instance_id, type, task_id, name, data, fire_at, created_at)
            SELECT instance_id, $type, $task, $name, $data, {(visibleAtStart ? "start_at" : "0")}, $now
            FROM instances WHERE instance_id=$id AND status IN ({(int)OrchestrationRuntimeStatus.Pending}, {(int)OrchestrationRuntimeStatus.Running})
            """,
            ("$id", instanceId),
            ("$type", (int)message.Type),
            ("$task", message.TaskId),
            ("$name", message.Name),
            ("$data", message.Data),
            ("$now", now.Ticks)) == 1);
    }

    public InstanceRow? GetInstance(string instanceId)
        => Read(c =>
        {
            using var cmd = Command(c, null, $"SELECT {InstanceColumns} FROM instances WHERE instance_id=$id", ("$id", instanceId));
            using var r = cmd.ExecuteReader();
            return r.Read() ? ReadInstance(r) : null;
        });

    /// <summary>One page of instances ordered by (created_at, instance_id), after the given key.</summary>
    public List<InstanceRow> QueryInstances(OrchestrationQuery query, (DateTime CreatedAt, string InstanceId)? after, int limit)
        => Read(c =>
        {
            var sql = new StringBuilder($"SELECT {InstanceColumns} FROM instances WHERE 1=1");
            var parameters = new List<(string, object?)>();
            if (query.Statuses is { Count: > 0 } statuses)
            {
                sql.Append(" AND status IN (")
                    .AppendJoin(',', statuses.Select(s => ((int)s).ToString(CultureInfo.InvariantCulture)))
                    .Append(')');
            }

            if (query.CreatedFrom is { } from)
            {
                sql.Append(" AND created_at >= $from");
                parameters.Add(("$from", from.UtcTicks));
            }

            if (query.CreatedTo is { } to)
            {
                sql.Append(" AND created_at <= $to");
                parameters.Add(("$to", to.UtcTicks));
            }

            if (!string.IsNullOrEmpty(query.InstanceIdPrefix))
            {
                sql.Append(" AND substr(instance_id, 1, length($prefix)) = $prefix");
                parameters.Add(("$prefix", query.InstanceIdPrefix));
            }

            if (after is { } key)
            {
                sql.Append(" AND (created_at > $afterAt OR (created_at = $afterAt AND instance_id > $afterId))");
                parameters.Add(("$afterAt", key.CreatedAt.Ticks));
                parameters.Add(("$afterId", key.InstanceId));
            }

            sql.Append(" ORDER BY created_at, instance_id LIMIT $limit");
            parameters.Add(("$limit", limit));
            using var cmd = Command(c, null, sql.ToString(), [.. parameters]);
            using var r = cmd.ExecuteReader();
            var rows = new List<InstanceRow>();
            while (r.Read())
            {
                rows.Add(ReadInstance(r));
            }

            return rows;
        });

    /// <summary>Deletes a finished instance and everything it left; running instances are not purged.</summary>
    public int Purge(string instanceId)
        => Write((c, t) =>
        {
            var deleted = NonQuery(
                c,
                t,
                $"DELETE FROM instances WHERE instance_id=$id AND status IN ({(int)OrchestrationRuntimeStatus.Completed}, {(int)OrchestrationRuntimeStatus.Failed}, {(int)OrchestrationRuntimeStatus.Terminated})",
                ("$id", instanceId));
            if (deleted == 1)
            {
                DeleteInstanceRows(c, t, instanceId, includeInstance: false);
            }

            return deleted;
        });

    // ---------------------------------------------------------------- engine operations

    /// <summary>Instances with at least one visible message (due timers first, then immediate messages, each oldest
    /// first), and the earliest future message time. Both reads walk the fire_at index and stop at the limit, so
    /// their cost does not grow with the number of waiting instances.</summary>
    public (List<string> Ready, DateTime? NextDue) FindReadyInstances(DateTime now, int limit)
        => Read(c =>
        {
            var ready = new List<string>(limit);
            var seen = new HashSet<string>(StringComparer.Ordinal);

            // Several messages may belong to one instance: read a few more rows than instances wanted.
            void Collect(string sql)
            {
                using var cmd = Command(c, null, sql, ("$now", now.Ticks), ("$rows", limit * 4));
                using var r = cmd.ExecuteReader();
                while (ready.Count < limit && r.Read())
                {
                    var id = r.GetString(0);
                    if (seen.Add(id))
                    {
                        ready.Add(id);
                    }
                }
            }

            // Due timers first: they are late already, and a stream of new work must not starve them.
            Collect("SELECT instance_id FROM messages WHERE fire_at > 0 AND fire_at <= $now ORDER BY fire_at LIMIT $rows");
            if (ready.Count < limit)
            {
                Collect("SELECT instance_id FROM messages WHERE fire_at = 0 ORDER BY id LIMIT $rows");
            }

            using var next = Command(c, null, "SELECT MIN(fire_at) FROM messages WHERE fire_at > $now", ("$now", now.Ticks));
            var value = next.ExecuteScalar();
            return (ready, value is long ticks ? new DateTime(ticks, DateTimeKind.Utc) : (DateTime?)null);
        });

    /// <summary>Everything a step needs, from one consistent snapshot.</summary>
    public (InstanceRow? Instance, List<InboxMessage> Messages, List<HistoryEvent> History) LoadStep(string instanceId, DateTime now, int maxMessages)
        => Read(c =>
        {
            using var tx = c.BeginTransaction(deferred: true);
            InstanceRow? instance;
            using (var cmd = Command(c, tx, $"SELECT {InstanceColumns} FROM instances WHERE instance_id=$id", ("$id", instanceId)))
            using (var r = cmd.ExecuteReader())
            {
                instance = r.Read() ? ReadInstance(r) : null;
            }

            var messages = new List<InboxMessage>();
            using (var cmd = Command(
                c,
                tx,
                "SELECT id, type, task_id, name, data FROM messages WHERE instance_id=$id AND fire_at <= $now ORDER BY id LIMIT $limit",
                ("$id", instanceId),
                ("$now", now.Ticks),
                ("$limit", maxMessages)))
            using (var r = cmd.ExecuteReader())
            {
                while (r.Read())
                {
                    messages.Add(new InboxMessage(
                        r.GetInt64(0),
                        new HistoryEvent((HistoryEventType)r.GetInt32(1), now, r.GetInt32(2), r.IsDBNull(3) ? null : r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4))));
                }
            }

            var history = new List<HistoryEvent>();
            if (instance is { IsTerminal: false } && messages.Count > 0)
            {
                using var cmd = Command(c, tx, "SELECT type, timestamp, task_id, name, data FROM history WHERE instance_id=$id ORDER BY seq", ("$id", instanceId));
                using var r = cmd.ExecuteReader();
                while (r.Read())
                {
                    history.Add(new HistoryEvent(
                        (HistoryEventType)r.GetInt32(0),
                        new DateTime(r.GetInt64(1), DateTimeKind.Utc),
                        r.GetInt32(2),
                        r.IsDBNull(3) ? null : r.GetString(3),
                        r.IsDBNull(4) ? null : r.GetString(4)));
                }
            }

            tx.Commit();
            return (instance, messages, history);
        });

    /// <summary>Drops messages nobody will consume (their instance is gone or finished).</summary>
    public void DeleteMessages(IReadOnlyList<long> ids)
        => Write((c, t) => DeleteMessagesById(c, t, ids));

    /// <summary>Appends a step's history with its new work items and instance state in one transaction (the
    /// transactional outbox). False when the instance was re-created or purged meanwhile: nothing is written.</summary>
    public bool CommitStep(StepCommit step)
        => Write((c, t) =>
        {
            var updated = NonQuery(
                c,
                t,
                """
                UPDATE instances SET status=$status, output=$output, failure=$failure, custom_status=$custom, updated_at=$now
                WHERE instance_id=$id AND generation=$gen
                """,
                ("$status", (int)step.Status),
                ("$output", step.Output),
                ("$failure", step.Failure),
                ("$custom", step.CustomStatus),
                ("$now", step.Now.Ticks),
                ("$id", step.InstanceId),
                ("$gen", step.Generation));
            if (updated != 1)
            {
                // Nothing was written: committing the empty transaction is the same as rolling it back.
                return false;
            }

            if (step.Restart is { } restart)
            {
                // Events not yet consumed (and a pending terminate) belong to the instance, not to the execution.
                NonQuery(c, t, "UPDATE instances SET input=$input WHERE instance_id=$id", ("$input", restart.Input), ("$id", step.InstanceId));
                NonQuery(c, t, "DELETE FROM history WHERE instance_id=$id", ("$id", step.InstanceId));
                NonQuery(c, t, "DELETE FROM activities WHERE instance_id=$id", ("$id", step.InstanceId));
                NonQuery(
                    c,
                    t,
                    $"DELETE FROM messages WHERE instance_id=$id AND type NOT IN ({(int)HistoryEventType.EventRaised}, {(int)HistoryEventType.ExecutionTerminated})",
                    ("$id", step.InstanceId));
            }

            using (var cmd = Command(
                c,
                t,
                "INSERT INTO history(instance_id, seq, type, timestamp, task_id, name, data) VALUES($id, $seq, $type, $ts, $task, $name, $data)"))
            {
                var seq = cmd.Parameters.Add("$seq", SqliteType.Integer);
                var type = cmd.Parameters.Add("$type", SqliteType.Integer);
                var ts = cmd.Parameters.Add("$ts", SqliteType.Integer);
                var task = cmd.Parameters.Add("$task", SqliteType.Integer);
                var name = cmd.Parameters.Add("$name", SqliteType.Text);
                var data = cmd.Parameters.Add("$data", SqliteType.Text);
                cmd.Parameters.AddWithValue("$id", step.InstanceId);
                for (var i = 0; i < step.NewHistory.Count; i++)
                {
                    var e = step.NewHistory[i];
                    seq.Value = step.HistoryStartSeq + i;
                    type.Value = (int)e.Type;
                    ts.Value = e.Timestamp.Ticks;
                    task.Value = e.TaskId;
                    name.Value = (object?)e.Name ?? DBNull.Value;
                    data.Value = (object?)e.Data ?? DBNull.Value;
                    cmd.ExecuteNonQuery();
                }
            }

            DeleteMessagesById(c, t, step.ConsumedMessageIds);
            if (step.Status is OrchestrationRuntimeStatus.Completed or OrchestrationRuntimeStatus.Failed or OrchestrationRuntimeStatus.Terminated)
            {
                // A finished instance consumes nothing more: pending timers, late events and in-flight activities go.
                DeleteInstanceRows(c, t, step.InstanceId, includeInstance: false, keepHistory: true);
                return true;
            }

            foreach (var a in step.NewActivities)
            {
                NonQuery(
                    c,
                    t,
                    "INSERT INTO activities(instance_id, task_id, name, input, attempt, created_at) VALUES($id, $task, $name, $input, $attempt, $now)",
                    ("$id", step.InstanceId),
                    ("$task", a.TaskId),
                    ("$name", a.Name),
                    ("$input", a.Input),
                    ("$attempt", a.Attempt),
                    ("$now", step.Now.Ticks));
            }

            foreach (var (timerId, fireAt) in step.NewTimers)
            {
                InsertMessage(c, t, step.InstanceId, new HistoryEvent(HistoryEventType.TimerFired, step.Now, timerId, null, fireAt.Ticks.ToString(CultureInfo.InvariantCulture)), fireAt, step.Now);
            }

            return true;
        });

    /// <summary>Activity work items, oldest first.</summary>
    public List<ActivityWorkItem> FindActivities(int limit)
        => Read(c =>
        {
            using var cmd = Command(c, null, "SELECT id, instance_id, task_id, name, input, attempt FROM activities ORDER BY id LIMIT $limit", ("$limit", limit));
            using var r = cmd.ExecuteReader();
            var items = new List<ActivityWorkItem>();
            while (r.Read())
            {
                items.Add(new ActivityWorkItem(r.GetInt64(0), r.GetString(1), r.GetInt32(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4), r.GetInt32(5)));
            }

            return items;
        });

    public bool ActivityExists(long id)
        => Read(c =>
        {
            using var cmd = Command(c, null, "SELECT 1 FROM activities WHERE id=$id", ("$id", id));
            return cmd.ExecuteScalar() is not null;
        });

    /// <summary>Replaces an activity work item by its result message. False when the work item is gone (its
    /// instance finished or was re-created meanwhile): then the result is dropped.</summary>
    public bool CompleteActivity(ActivityWorkItem item, HistoryEvent result, DateTime now)
        => Write((c, t) =>
        {
            if (NonQuery(c, t, "DELETE FROM activities WHERE id=$id", ("$id", item.Id)) != 1)
            {
                return false;
            }

            InsertMessage(c, t, item.InstanceId, result, DateTime.MinValue, now);
            return true;
        });

    // ---------------------------------------------------------------- plumbing

    private const string InstanceColumns = "instance_id, name, status, generation, input, output, custom_status, failure, created_at, updated_at";

    private static InstanceRow ReadInstance(SqliteDataReader r) => new(
        r.GetString(0),
        r.GetString(1),
        (OrchestrationRuntimeStatus)r.GetInt32(2),
        r.GetInt64(3),
        r.IsDBNull(4) ? null : r.GetString(4),
        r.IsDBNull(5) ? null : r.GetString(5),
        r.IsDBNull(6) ? null : r.GetString(6),
        r.IsDBNull(7) ? null : r.GetString(7),
        new DateTime(r.GetInt64(8), DateTimeKind.Utc),
        new DateTime(r.GetInt64(9), DateTimeKind.Utc));

    private void InsertMessage(SqliteConnection c, SqliteTransaction t, string instanceId, HistoryEvent e, DateTime fireAt, DateTime now)
        => NonQuery(
            c,
            t,
            "INSERT INTO messages(instance_id, type, task_id, name, data, fire_at, created_at) VALUES($id, $type, $task, $name, $data, $fire, $now)",
            ("$id", instanceId),
            ("$type", (int)e.Type),
            ("$task", e.TaskId),
            ("$name", e.Name),
            ("$data", e.Data),
            ("$fire", fireAt.Ticks),
            ("$now", now.Ticks));

    private void DeleteInstanceRows(SqliteConnection c, SqliteTransaction t, string instanceId, bool includeInstance, bool keepHistory = false)
    {
        NonQuery(c, t, "DELETE FROM messages WHERE instance_id=$id", ("$id", instanceId));
        NonQuery(c, t, "DELETE FROM activities WHERE instance_id=$id", ("$id", instanceId));
        if (!keepHistory)
        {
            NonQuery(c, t, "DELETE FROM history WHERE instance_id=$id", ("$id", instanceId));
        }

        if (includeInstance)
        {
            NonQuery(c, t, "DELETE FROM instances WHERE instance_id=$id", ("$id", instanceId));
        }
    }

    private void DeleteMessagesById(SqliteConnection c, SqliteTransaction t, IReadOnlyList<long> ids)
    {
        if (ids.Count == 0)
        {
            return;
        }

        using var cmd = Command(c, t, "DELETE FROM messages WHERE id=$id");
        var p = cmd.Parameters.Add("$id", SqliteType.Integer);
        foreach (var id in ids)
        {
            p.Value = id;
            cmd.ExecuteNonQuery();
        }
    }

    private T Read<T>(Func<SqliteConnection, T> read)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);
        if (!_idleReaders.TryTake(out var connection))
        {
            connection = new SqliteConnection(_connectionString);
            connection.Open();
            _commands[connection] = new Dictionary<string, ReusedCommand>(StringComparer.Ordinal);
        }

        var healthy = false;
        try
        {
            var result = read(connection);
            healthy = true;
            return result;
        }
        finally
        {
            if (healthy && !Volatile.Read(ref _disposed) && _idleReaders.Count < MaxIdleReaders)
            {
                _idleReaders.Add(connection);
            }
            else
            {
                Close(connection);
            }
        }
    }

    private void Write(Action<SqliteConnection, SqliteTransaction> write)
        => Write<bool>((c, t) =>
        {
            write(c, t);
            return true;
        });

    private T Write<T>(Func<SqliteConnection, SqliteTransaction, T> write)
    {
        lock (_writeLock)
        {
            // Checked under the lock that Fence takes: once Fence returned, no transaction can start.
            ObjectDisposedException.ThrowIf(_fenced, this);
            using var tx = _writer.BeginTransaction();
            var result = write(_writer, tx);
            tx.Commit();
            return result;
        }
    }

    private ReusedCommand Command(SqliteConnection c, SqliteTransaction? t, string sql, params (string Name, object? Value)[] parameters)
    {
        // Statements are prepared once per connection and reused; the using of call sites does not dispose them.
        var commands = _commands[c];
        if (!commands.TryGetValue(sql, out var cmd))
        {
            commands[sql] = cmd = new ReusedCommand(sql, c);
        }

        cmd.Parameters.Clear();

        cmd.Transaction = t;
        foreach (var (name, value) in parameters)
        {
            cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return cmd;
    }

    private int NonQuery(SqliteConnection c, SqliteTransaction? t, string sql, params (string Name, object? Value)[] parameters)
    {
        using var cmd = Command(c, t, sql, parameters);
        return cmd.ExecuteNonQuery();
    }

    private void Execute(SqliteConnection c, SqliteTransaction? t, string sql) => NonQuery(c, t, sql);

    /// <summary>A writer command kept for reuse: the <c>using</c> of a call site does not dispose it.</summary>
    private sealed class ReusedCommand : SqliteCommand
    {
        public ReusedCommand(string sql, SqliteConnection connection)
            : base(sql, connection)
        {
        }

        public void Release() => base.Dispose(disposing: true);

#pragma warning disable CA2215 // Deliberately not disposed by call sites' using; Release disposes it with the store.
        protected override void Dispose(bool disposing)
        {
        }
#pragma warning restore CA2215
    }
}
