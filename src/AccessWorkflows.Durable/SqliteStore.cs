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
    /// results go before <see cref="StepCommit.NewHistory"/> (the new execution's, from seq 0) is written, and the
    /// instance's generation moves on.</summary>
    public ExecutionRestart? Restart { get; init; }

    public bool IsTerminal => Status is OrchestrationRuntimeStatus.Completed or OrchestrationRuntimeStatus.Failed or OrchestrationRuntimeStatus.Terminated;
}

/// <summary>The input of the execution that replaces the instance's current one.</summary>
internal sealed record ExecutionRestart(string? Input);

/// <summary>What a committed step created, with the row ids the dispatchers need.</summary>
internal sealed record StepCommitted(long Generation, List<ActivityWorkItem> Activities, List<InboxMessage> Timers);

/// <summary>Where the timers an engine holds in memory end: every timer row at or before this key is held.</summary>
internal readonly record struct TimerKey(DateTime FireAt, long Id) : IComparable<TimerKey>
{
    public static readonly TimerKey Max = new(DateTime.MaxValue, long.MaxValue);

    public int CompareTo(TimerKey other) => FireAt != other.FireAt ? FireAt.CompareTo(other.FireAt) : Id.CompareTo(other.Id);

    public static bool operator <(TimerKey left, TimerKey right) => left.CompareTo(right) < 0;

    public static bool operator >(TimerKey left, TimerKey right) => left.CompareTo(right) > 0;

    public static bool operator <=(TimerKey left, TimerKey right) => left.CompareTo(right) <= 0;

    public static bool operator >=(TimerKey left, TimerKey right) => left.CompareTo(right) >= 0;
}

/// <summary>A page of timer rows in (fire_at, id) order; <see cref="Until"/> is <see cref="TimerKey.Max"/> when no
/// timer row lies beyond it.</summary>
internal sealed record TimerPage(List<InboxMessage> Timers, TimerKey Until);

/// <summary>Everything a starting engine holds in memory: messages visible at once, activity work items, and the first
/// page of timers.</summary>
internal sealed record Recovered(List<InboxMessage> Messages, List<ActivityWorkItem> Activities, TimerPage Timers);

/// <summary>
/// All SQL of the engine. Writes are group-committed: callers submit them to one writer thread, which runs everything
/// submitted meanwhile in one transaction, commits once, then runs each write's <c>committed</c> callback in
/// submission order (on the writer thread: keep them short) and completes its task. A write is acknowledged only once
/// its transaction is committed. The write lock is also the fence of <see cref="Fence"/>. Reads use pooled
/// connections; WAL lets them run beside the writer. Timestamps are stored as UTC ticks.
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
        -- Timer rows only: events and activity results come and go without touching it (earlier versions indexed
        -- every message, as ix_messages_fire).
        DROP INDEX IF EXISTS ix_messages_fire;
        CREATE INDEX IF NOT EXISTS ix_messages_timers ON messages(fire_at) WHERE fire_at > 0;
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

    /// <summary>Writes one transaction takes at most, so that one commit's latency stays bounded.</summary>
    private const int MaxBatch = 2048;

    /// <summary>History rows one INSERT writes at most (see <see cref="InsertHistory"/>).</summary>
    private const int HistoryRowsPerInsert = 8;

    /// <summary>The history columns after instance_id, in the order of the statements' VALUES.</summary>
    private static readonly string[] HistoryColumns = ["seq", "type", "timestamp", "task_id", "name", "data"];

    /// <summary>Per row of a multi-row history INSERT: its parameter names ($seq0, $type0, ... for the first row).</summary>
    private static readonly string[][] HistoryParameterNames = [.. Enumerable.Range(0, HistoryRowsPerInsert)
        .Select(row => HistoryColumns.Select(column => $"${column}{row}").ToArray())];

    /// <summary>The INSERT of 1 to <see cref="HistoryRowsPerInsert"/> history rows, by row count - 1.</summary>
    private static readonly string[] HistoryInserts = [.. Enumerable.Range(1, HistoryRowsPerInsert)
        .Select(rows => $"INSERT INTO history(instance_id, {string.Join(", ", HistoryColumns)}) VALUES "
            + string.Join(", ", HistoryParameterNames.Take(rows).Select(names => $"($id, {string.Join(", ", names)})")))];

    /// <summary>WAL pages (4 KiB) past which the checkpointer stops being polite and makes writers wait for it.</summary>
    private const int LargeWalPages = 16_384;

    private static readonly TimeSpan CheckpointInterval = TimeSpan.FromMilliseconds(100);

    private readonly Lock _writeLock = new();
    private readonly SqliteConnection _writer;
    private readonly string _connectionString;
    private readonly ConcurrentQueue<IPendingWrite> _queue = new();
    private readonly ManualResetEventSlim _submitted = new(false, spinCount: 1);
    private readonly Thread _writerThread;
    private readonly Thread _checkpointThread;
    private readonly CancellationTokenSource _closing = new();

    // Open reader connections not in use (at most MaxIdleReaders), and every open connection's prepared statements.
    // A connection and its statements are used by one thread at a time: the one that took it from the bag.
    private readonly ConcurrentBag<SqliteConnection> _idleReaders = [];
    private readonly ConcurrentDictionary<SqliteConnection, Dictionary<string, ReusedCommand>> _commands = new();
    private const int MaxIdleReaders = 8;
    private bool _fenced;
    private bool _disposed;
    private int _writerAsleep;

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

        // WAL: readers never block the writer. synchronous=NORMAL is the safe setting for WAL against what this store
        // promises: a commit has written its frames to the WAL file (the OS holds them) before it returns, so a killed
        // process loses no acknowledged write, and the database is never corrupted. Only a power loss or kernel crash
        // may drop the last commits, never half of one; FULL would fsync on every commit for that case as well.
        // Checkpoints (copying the WAL back into the database, with the fsyncs) run on the checkpointer thread, not
        // inside whichever commit crossed the automatic threshold.
        Execute(_writer, null, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit=67108864; PRAGMA busy_timeout=30000;");
        Execute(_writer, null, Schema);

        _writerThread = new Thread(WriterLoop) { IsBackground = true, Name = "durable-writer" };
        _writerThread.Start();
        _checkpointThread = new Thread(CheckpointLoop) { IsBackground = true, Name = "durable-checkpointer" };
        _checkpointThread.Start();
    }

    /// <summary>Test hook: runs on the writer thread with the batch's size after its statements ran and before COMMIT.
    /// A test that kills the engine here proves a batch is all or nothing.</summary>
    internal Action<int>? BeforeCommit { get; set; }

    /// <summary>After this returns, no write of this store reaches the database again (a simulated process kill).
    /// A commit in progress finishes first, as it would have on the disk of a dying process, unless this is called
    /// from <see cref="BeforeCommit"/>: then that batch is rolled back, as a kill before COMMIT would leave it.</summary>
    public void Fence()
    {
        lock (_writeLock)
        {
            _fenced = true;
        }

        _submitted.Set();
    }

    public bool IsFenced => Volatile.Read(ref _fenced);

    /// <summary>Writes what was submitted before, then closes. Writes submitted later fail.</summary>
    public void Dispose()
    {
        if (Volatile.Read(ref _disposed))
        {
            return;
        }

        _closing.Cancel();
        _submitted.Set();
        _writerThread.Join();
        _checkpointThread.Join();
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

        FailQueued();
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

    // ---------------------------------------------------------------- writes (group-committed)

    /// <summary>Creates (or re-creates, when the previous execution is finished) an instance and its ExecutionStarted
    /// message, which becomes visible at <paramref name="startAt"/>. Throws <see cref="InstanceAlreadyExistsException"/>
    /// when the instance is pending or running.</summary>
    public Task<InboxMessage> CreateInstanceAsync(string instanceId, string name, string? input, DateTime startAt, DateTime now, Action<InboxMessage>? committed)
        => SubmitAsync(
            (c, t) =>
            {
                long generation = 0;
                using (var cmd = Command(c, t, "SELECT status, generation FROM instances WHERE instance_id=$id", ("$id", instanceId)))
                using (var r = cmd.ExecuteReader())
                {
                    if (r.Read())
                    {
                        if (IsLive((OrchestrationRuntimeStatus)r.GetInt32(0)))
                        {
                            throw new InstanceAlreadyExistsException(instanceId);
                        }

                        generation = r.GetInt64(1) + 1;
                    }
                }

                if (generation > 0)
                {
                    DeleteInstanceRows(c, t, instanceId, includeInstance: true);
                }

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
                return InsertMessage(c, t, instanceId, generation, new HistoryEvent(HistoryEventType.ExecutionStarted, now, -1, name, input), startAt, now);
            },
            committed);

    /// <summary>Adds an inbox message to a pending or running instance; null (and nothing written) when there is no
    /// such instance. A pending instance's messages become visible when it starts, with <paramref name="visibleAtStart"/>.</summary>
    public Task<InboxMessage?> EnqueueToLiveInstanceAsync(string instanceId, HistoryEvent message, bool visibleAtStart, DateTime now, Action<InboxMessage?>? committed)
        => SubmitAsync(
            (c, t) =>
            {
                long generation;
                DateTime startAt;
                using (var cmd = Command(c, t, "SELECT status, generation, start_at FROM instances WHERE instance_id=$id", ("$id", instanceId)))
                using (var r = cmd.ExecuteReader())
                {
                    if (!r.Read() || (OrchestrationRuntimeStatus)r.GetInt32(0) is not (OrchestrationRuntimeStatus.Pending or OrchestrationRuntimeStatus.Running))
                    {
                        return null;
                    }

                    generation = r.GetInt64(1);
                    startAt = new DateTime(r.GetInt64(2), DateTimeKind.Utc);
                }

                return InsertMessage(c, t, instanceId, generation, message, visibleAtStart ? startAt : DateTime.MinValue, now);
            },
            committed);

    /// <summary>Deletes a finished instance and everything it left; running instances are not purged.</summary>
    public Task<int> PurgeAsync(string instanceId)
        => SubmitAsync(
            (c, t) =>
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
            },
            null);

    /// <summary>Drops messages nobody will consume (their instance is gone, finished, or moved to another execution).</summary>
    public void DeleteMessages(IReadOnlyList<long> ids, Action<bool> committed, Action<Exception> failed)
        => Submit(
            (c, t) =>
            {
                DeleteMessagesById(c, t, ids);
                return true;
            },
            committed,
            failed);

    /// <summary>Appends a step's history with its new work items and instance state in one transaction (the
    /// transactional outbox). Null when the instance was re-created or purged meanwhile: nothing is written.</summary>
    public void CommitStep(StepCommit step, Action<StepCommitted?> committed, Action<Exception> failed)
        => Submit((c, t) => CommitStep(c, t, step), committed, failed);

    private StepCommitted? CommitStep(SqliteConnection c, SqliteTransaction t, StepCommit step)
    {
        var generation = step.Restart is null ? step.Generation : step.Generation + 1;
        var updated = NonQuery(
            c,
            t,
            """
            UPDATE instances SET status=$status, output=$output, failure=$failure, custom_status=$custom, updated_at=$now,
                generation=$newGen, input=CASE WHEN $restart THEN $input ELSE input END
            WHERE instance_id=$id AND generation=$gen
            """,
            ("$status", (int)step.Status),
            ("$output", step.Output),
            ("$failure", step.Failure),
            ("$custom", step.CustomStatus),
            ("$now", step.Now.Ticks),
            ("$newGen", generation),
            ("$restart", step.Restart is not null),
            ("$input", step.Restart?.Input),
            ("$id", step.InstanceId),
            ("$gen", step.Generation));
        if (updated != 1)
        {
            return null;
        }

        if (step.Restart is not null)
        {
            // Events not yet consumed (and a pending terminate) belong to the instance, not to the execution.
            NonQuery(c, t, "DELETE FROM history WHERE instance_id=$id", ("$id", step.InstanceId));
            NonQuery(c, t, "DELETE FROM activities WHERE instance_id=$id", ("$id", step.InstanceId));
            NonQuery(
                c,
                t,
                $"DELETE FROM messages WHERE instance_id=$id AND type NOT IN ({(int)HistoryEventType.EventRaised}, {(int)HistoryEventType.ExecutionTerminated})",
                ("$id", step.InstanceId));
        }

        InsertHistory(c, t, step.InstanceId, step.HistoryStartSeq, step.NewHistory);
        DeleteMessagesById(c, t, step.ConsumedMessageIds);
        var committed = new StepCommitted(generation, [], []);
        if (step.IsTerminal)
        {
            // A finished instance consumes nothing more: pending timers, late events and in-flight activities go.
            DeleteInstanceRows(c, t, step.InstanceId, includeInstance: false, keepHistory: true);
            return committed;
        }

        foreach (var a in step.NewActivities)
        {
            var id = Insert(
                c,
                t,
                "INSERT INTO activities(instance_id, task_id, name, input, attempt, created_at) VALUES($id, $task, $name, $input, $attempt, $now)",
                ("$id", step.InstanceId),
                ("$task", a.TaskId),
                ("$name", a.Name),
                ("$input", a.Input),
                ("$attempt", a.Attempt),
                ("$now", step.Now.Ticks));
            committed.Activities.Add(a with { Id = id, Generation = generation });
        }

        foreach (var (timerId, fireAt) in step.NewTimers)
        {
            var fired = new HistoryEvent(HistoryEventType.TimerFired, step.Now, timerId, null, fireAt.Ticks.ToString(CultureInfo.InvariantCulture));
            committed.Timers.Add(InsertMessage(c, t, step.InstanceId, generation, fired, fireAt, step.Now));
        }

        return committed;
    }

    /// <summary>Appends history rows from <paramref name="startSeq"/> on, <see cref="HistoryRowsPerInsert"/> rows to a
    /// statement: a usual step (OrchestratorStarted and one to three events) is one statement, not one per event.</summary>
    private void InsertHistory(SqliteConnection c, SqliteTransaction t, string instanceId, int startSeq, IReadOnlyList<HistoryEvent> events)
    {
        for (var first = 0; first < events.Count; first += HistoryRowsPerInsert)
        {
            var rows = Math.Min(HistoryRowsPerInsert, events.Count - first);
            var parameters = new (string Name, object? Value)[1 + (HistoryColumns.Length * rows)];
            parameters[0] = ("$id", instanceId);
            for (var row = 0; row < rows; row++)
            {
                var e = events[first + row];
                var names = HistoryParameterNames[row];
                var at = 1 + (HistoryColumns.Length * row);
                parameters[at] = (names[0], startSeq + first + row);
                parameters[at + 1] = (names[1], (int)e.Type);
                parameters[at + 2] = (names[2], e.Timestamp.Ticks);
                parameters[at + 3] = (names[3], e.TaskId);
                parameters[at + 4] = (names[4], e.Name);
                parameters[at + 5] = (names[5], e.Data);
            }

            NonQuery(c, t, HistoryInserts[rows - 1], parameters);
        }
    }

    /// <summary>Replaces an activity work item by its result message. Null when the work item is gone (its instance
    /// finished or moved to another execution meanwhile): then the result is dropped.</summary>
    public void CompleteActivity(ActivityWorkItem item, HistoryEvent result, DateTime now, Action<InboxMessage?> committed, Action<Exception> failed)
        => Submit(
            (c, t) => NonQuery(c, t, "DELETE FROM activities WHERE id=$id", ("$id", item.Id)) == 1
                ? InsertMessage(c, t, item.InstanceId, item.Generation, result, DateTime.MinValue, now)
                : null,
            committed,
            failed);

    /// <summary>What a starting engine needs in memory, read in the writer's order, so that no write committed before
    /// it is missed and none after it is read twice.</summary>
    public Task<Recovered> RecoverAsync(int timerPageSize, Action<Recovered> committed)
        => SubmitAsync(
            (c, t) =>
            {
                var messages = new List<InboxMessage>();
                using (var cmd = Command(
                    c,
                    t,
                    """
                    SELECT m.id, m.instance_id, i.generation, m.fire_at, m.type, m.task_id, m.name, m.data, m.created_at
                    FROM messages m JOIN instances i ON i.instance_id = m.instance_id WHERE m.fire_at = 0 ORDER BY m.id
                    """))
                using (var r = cmd.ExecuteReader())
                {
                    while (r.Read())
                    {
                        messages.Add(ReadMessage(r));
                    }
                }

                var activities = new List<ActivityWorkItem>();
                using (var cmd = Command(
                    c,
                    t,
                    """
                    SELECT a.id, a.instance_id, i.generation, a.task_id, a.name, a.input, a.attempt
                    FROM activities a JOIN instances i ON i.instance_id = a.instance_id ORDER BY a.id
                    """))
                using (var r = cmd.ExecuteReader())
                {
                    while (r.Read())
                    {
                        activities.Add(new ActivityWorkItem(r.GetInt64(0), r.GetString(1), r.GetInt64(2), r.GetInt32(3), r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5), r.GetInt32(6)));
                    }
                }

                return new Recovered(messages, activities, LoadTimers(c, t, null, timerPageSize));
            },
            committed);

    /// <summary>The next page of timer rows after <paramref name="after"/>, in the writer's order (see <see cref="RecoverAsync"/>).</summary>
    public void LoadTimers(TimerKey after, int pageSize, Action<TimerPage> committed, Action<Exception> failed)
        => Submit((c, t) => LoadTimers(c, t, after, pageSize), committed, failed);

    private TimerPage LoadTimers(SqliteConnection c, SqliteTransaction t, TimerKey? after, int pageSize)
    {
        var timers = new List<InboxMessage>();
        var from = after ?? new TimerKey(DateTime.MinValue, long.MaxValue);
        using (var cmd = Command(
            c,
            t,
            """
            SELECT m.id, m.instance_id, i.generation, m.fire_at, m.type, m.task_id, m.name, m.data, m.created_at
            FROM messages m JOIN instances i ON i.instance_id = m.instance_id
            WHERE m.fire_at > 0 AND (m.fire_at, m.id) > ($at, $id) ORDER BY m.fire_at, m.id LIMIT $limit
            """,
            ("$at", from.FireAt.Ticks),
            ("$id", from.Id),
            ("$limit", pageSize)))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                timers.Add(ReadMessage(r));
            }
        }

        return new TimerPage(timers, timers.Count < pageSize ? TimerKey.Max : new TimerKey(timers[^1].FireAt, timers[^1].Id));
    }

    /// <summary>Completes once everything submitted before it is committed (or failed).</summary>
    public Task FlushAsync() => SubmitAsync((_, _) => true, null);

    // ---------------------------------------------------------------- reads

    public InstanceRow? GetInstance(string instanceId)
        => Read(c =>
        {
            using var cmd = Command(c, null, $"SELECT {InstanceColumns} FROM instances WHERE instance_id=$id", ("$id", instanceId));
            using var r = cmd.ExecuteReader();
            return r.Read() ? ReadInstance(r) : null;
        });

    /// <summary>An instance's row and its history, from one consistent snapshot.</summary>
    public (InstanceRow? Instance, List<HistoryEvent> History) LoadInstance(string instanceId)
        => Read(c =>
        {
            using var tx = c.BeginTransaction(deferred: true);
            InstanceRow? instance;
            using (var cmd = Command(c, tx, $"SELECT {InstanceColumns} FROM instances WHERE instance_id=$id", ("$id", instanceId)))
            using (var r = cmd.ExecuteReader())
            {
                instance = r.Read() ? ReadInstance(r) : null;
            }

            var history = new List<HistoryEvent>();
            if (instance is { IsTerminal: false })
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
            return (instance, history);
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

    // ---------------------------------------------------------------- the writer thread

    /// <summary>For callers that await the commit (the client): the task completes after <paramref name="committed"/> ran,
    /// on the thread pool.</summary>
    private Task<T> SubmitAsync<T>(Func<SqliteConnection, SqliteTransaction, T> write, Action<T>? committed)
    {
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Submit(
            write,
            result =>
            {
                committed?.Invoke(result);
                completion.TrySetResult(result);
            },
            error => completion.TrySetException(error));
        return completion.Task;
    }

    /// <summary>For the engine's own writes: no task, only callbacks on the writer thread (<paramref name="failed"/> also
    /// when the write was refused or the store is fenced).</summary>
    private void Submit<T>(Func<SqliteConnection, SqliteTransaction, T> write, Action<T> committed, Action<Exception> failed)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _fenced) || _closing.IsCancellationRequested, this);
        _queue.Enqueue(new PendingWrite<T>(write, committed, failed));

        // Wake the writer only when it sleeps: a busy writer finds the write on its next round.
        if (Volatile.Read(ref _writerAsleep) == 1 && Interlocked.Exchange(ref _writerAsleep, 0) == 1)
        {
            _submitted.Set();
        }
    }

    private void WriterLoop()
    {
        var batch = new List<IPendingWrite>(MaxBatch);
        while (true)
        {
            // Asleep, then one more look: a write queued before the flag was visible is found here, one after it wakes us.
            Interlocked.Exchange(ref _writerAsleep, 1);
            if (_queue.IsEmpty && !_closing.IsCancellationRequested)
            {
                _submitted.Wait();
            }

            _submitted.Reset();
            Interlocked.Exchange(ref _writerAsleep, 0);
            while (true)
            {
                batch.Clear();
                while (batch.Count < MaxBatch && _queue.TryDequeue(out var next))
                {
                    batch.Add(next);
                }

                if (batch.Count == 0)
                {
                    break;
                }

                if (!CommitBatch(batch))
                {
                    // A write failed in the database itself: every write gets a transaction of its own, so one bad
                    // write does not take the others with it.
                    foreach (var write in batch)
                    {
                        CommitBatch([write]);
                    }
                }
            }

            if (_closing.IsCancellationRequested || Volatile.Read(ref _fenced))
            {
                FailQueued();
                if (_closing.IsCancellationRequested)
                {
                    return;
                }
            }
        }
    }

    /// <summary>One transaction for the batch; false when the database refused a statement (nothing committed then,
    /// and the writes are still to do).</summary>
    private bool CommitBatch(List<IPendingWrite> batch)
    {
        lock (_writeLock)
        {
            if (_fenced)
            {
                Fail(batch, new ObjectDisposedException(nameof(SqliteStore)));
                return true;
            }

            try
            {
                using var tx = _writer.BeginTransaction();
                foreach (var write in batch)
                {
                    write.Execute(_writer, tx);
                }

                BeforeCommit?.Invoke(batch.Count);
                if (_fenced)
                {
                    // Killed before COMMIT: the transaction rolls back as the dispose of tx, as on a real crash.
                    Fail(batch, new ObjectDisposedException(nameof(SqliteStore)));
                    return true;
                }

                tx.Commit();
            }
            catch (Exception ex)
            {
                if (batch.Count > 1)
                {
                    return false;
                }

                Fail(batch, ex);
                return true;
            }
        }

        // Outside the lock: callbacks may fence the store (tests kill the engine on a committed step).
        foreach (var write in batch)
        {
            write.Committed();
        }

        return true;
    }

    private static void Fail(List<IPendingWrite> batch, Exception error)
    {
        foreach (var write in batch)
        {
            write.Fail(error);
        }
    }

    private void FailQueued()
    {
        while (_queue.TryDequeue(out var write))
        {
            write.Fail(new ObjectDisposedException(nameof(SqliteStore)));
        }
    }

    /// <summary>Copies the WAL back into the database off the commit path: politely (PASSIVE, never waiting for the
    /// writer) while the WAL is small, and making the writer wait only once it has grown large.</summary>
    private void CheckpointLoop()
    {
        using var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using (var busy = connection.CreateCommand())
        {
            busy.CommandText = "PRAGMA busy_timeout=30000;";
            busy.ExecuteNonQuery();
        }

        using var passive = connection.CreateCommand();
        passive.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
        using var restart = connection.CreateCommand();
        restart.CommandText = "PRAGMA wal_checkpoint(RESTART);";
        while (!_closing.Token.WaitHandle.WaitOne(CheckpointInterval))
        {
            if (Volatile.Read(ref _fenced))
            {
                return;
            }

            try
            {
                using var r = passive.ExecuteReader();
                var walPages = r.Read() ? r.GetInt32(1) : 0;
                r.Close();
                if (walPages > LargeWalPages)
                {
                    restart.ExecuteNonQuery();
                }
            }
            catch (SqliteException)
            {
                // Busy or locked: the next round tries again; nothing depends on one checkpoint.
            }
        }
    }

    private interface IPendingWrite
    {
        void Execute(SqliteConnection connection, SqliteTransaction transaction);

        void Committed();

        void Fail(Exception error);
    }

    private sealed class PendingWrite<T>(Func<SqliteConnection, SqliteTransaction, T> write, Action<T> committed, Action<Exception> failed) : IPendingWrite
    {
        private T _result = default!;
        private Exception? _refused;

        public void Execute(SqliteConnection connection, SqliteTransaction transaction)
        {
            try
            {
                _result = write(connection, transaction);
                _refused = null;
            }
            catch (Exception ex) when (ex is not SqliteException)
            {
                // A write that refuses (the instance exists already) does so before writing anything.
                _refused = ex;
            }
        }

        public void Committed()
        {
            if (_refused is not null)
            {
                Fail(_refused);
                return;
            }

            try
            {
                committed(_result);
            }
            catch (Exception ex)
            {
                Fail(ex);
            }
        }

        public void Fail(Exception error)
        {
            try
            {
                failed(error);
            }
            catch (Exception)
            {
                // A failure callback has nobody left to tell.
            }
        }
    }

    // ---------------------------------------------------------------- plumbing

    private const string InstanceColumns = "instance_id, name, status, generation, input, output, custom_status, failure, created_at, updated_at";

    internal static bool IsLive(OrchestrationRuntimeStatus status)
        => status is OrchestrationRuntimeStatus.Pending or OrchestrationRuntimeStatus.Running or OrchestrationRuntimeStatus.Suspended;

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

    /// <summary>Columns: id, instance_id, generation, fire_at, type, task_id, name, data, created_at.</summary>
    private static InboxMessage ReadMessage(SqliteDataReader r) => new(
        r.GetInt64(0),
        r.GetString(1),
        r.GetInt64(2),
        new DateTime(r.GetInt64(3), DateTimeKind.Utc),
        new HistoryEvent(
            (HistoryEventType)r.GetInt32(4),
            new DateTime(r.GetInt64(8), DateTimeKind.Utc),
            r.GetInt32(5),
            r.IsDBNull(6) ? null : r.GetString(6),
            r.IsDBNull(7) ? null : r.GetString(7)));

    private InboxMessage InsertMessage(SqliteConnection c, SqliteTransaction t, string instanceId, long generation, HistoryEvent e, DateTime fireAt, DateTime now)
    {
        var id = Insert(
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
        return new InboxMessage(id, instanceId, generation, DateTime.SpecifyKind(fireAt, DateTimeKind.Utc), e);
    }

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

    private ReusedCommand Command(SqliteConnection c, SqliteTransaction? t, string sql, params (string Name, object? Value)[] parameters)
    {
        // Statements are prepared once per connection and reused; the using of call sites does not dispose them.
        var commands = _commands[c];
        if (!commands.TryGetValue(sql, out var cmd))
        {
            commands[sql] = cmd = new ReusedCommand(sql, c);
        }

        cmd.Transaction = t;
        if (cmd.Parameters.Count == parameters.Length)
        {
            // The same statement is called with the same names in the same order: only the values change.
            for (var i = 0; i < parameters.Length; i++)
            {
                cmd.Parameters[i].Value = parameters[i].Value ?? DBNull.Value;
            }

            return cmd;
        }

        cmd.Parameters.Clear();
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

    /// <summary>Runs one INSERT and returns the new row's id. Not <c>RETURNING id</c>: SQLite collects RETURNING rows in
    /// an ephemeral table with a page cache of its own, created and destroyed by every statement; glibc handed that
    /// memory back to the OS each time, so every raise and activity result page-faulted 60-70 KiB in anew (measured: 16
    /// minor faults and about half the writer thread's CPU per event).</summary>
    private long Insert(SqliteConnection c, SqliteTransaction t, string sql, params (string Name, object? Value)[] parameters)
    {
        using var cmd = Command(c, t, sql, parameters);
        cmd.ExecuteNonQuery();
        return SQLitePCL.raw.sqlite3_last_insert_rowid(c.Handle);
    }

    private void Execute(SqliteConnection c, SqliteTransaction? t, string sql) => NonQuery(c, t, sql);

    /// <summary>A command kept for reuse: the <c>using</c> of a call site does not dispose it.</summary>
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
