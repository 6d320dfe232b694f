using System.Text.Json;
using System.Text.Json.Serialization;
using AccessWorkflows.Durable.Embedded;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace AccessWorkflows.Durable;

/// <summary>One event of a recorded history, as it is kept in a replay-compatibility file.</summary>
public sealed record RecordedHistoryEvent(string Type, DateTime Timestamp, int TaskId, string? Name, string? Data);

/// <summary>What replaying a recorded history on the current code found.</summary>
/// <param name="Problem">The non-determinism, naming what the history recorded and what the code asked for; null when none.</param>
/// <param name="Status">Running when the code waits where the history stopped; Completed or Failed when it ends.</param>
public sealed record ReplayResult(string? Problem, OrchestrationRuntimeStatus Status)
{
    public bool IsDeterministic => Problem is null;
}

/// <summary>
/// Checks that code still replays the histories of instances started by an earlier version of it (an instance may
/// sleep for days across a deployment). <see cref="Export"/> reads an instance's history from an engine database;
/// <see cref="Replay"/> re-runs the registered orchestrator over such a history exactly as the engine does at the
/// next step of that instance, without running an activity or touching a database.
/// </summary>
public static class HistoryReplay
{
    private static readonly JsonSerializerOptions FileOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The history of <paramref name="instanceId"/> in the engine database at <paramref name="databasePath"/>, as
    /// JSON (an array of <see cref="RecordedHistoryEvent"/>). Read-only; safe while the engine runs.</summary>
    public static string Export(string databasePath, string instanceId)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Mode = SqliteOpenMode.ReadOnly }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT type, timestamp, task_id, name, data FROM history WHERE instance_id=$id ORDER BY seq";
        command.Parameters.AddWithValue("$id", instanceId);
        using var reader = command.ExecuteReader();
        var events = new List<RecordedHistoryEvent>();
        while (reader.Read())
        {
            events.Add(new RecordedHistoryEvent(
                ((HistoryEventType)reader.GetInt32(0)).ToString(),
                new DateTime(reader.GetInt64(1), DateTimeKind.Utc),
                reader.GetInt32(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4)));
        }

        return JsonSerializer.Serialize(events, FileOptions);
    }

    /// <summary>Replays <paramref name="historyJson"/> (as written by <see cref="Export"/>) on the orchestrator registered
    /// under the name of its ExecutionStarted event, then runs the step that would come next with no new message.</summary>
    public static ReplayResult Replay(DurableTaskRegistry registry, string instanceId, string historyJson)
    {
        var recorded = JsonSerializer.Deserialize<List<RecordedHistoryEvent>>(historyJson, FileOptions)
            ?? throw new ArgumentException("The history is empty.", nameof(historyJson));
        var history = recorded.Select(e => new HistoryEvent(Enum.Parse<HistoryEventType>(e.Type), e.Timestamp, e.TaskId, e.Name, e.Data)).ToList();
        var started = history.FirstOrDefault(e => e.Type == HistoryEventType.ExecutionStarted)
            ?? throw new ArgumentException("The history has no ExecutionStarted event.", nameof(historyJson));
        var name = new TaskName(started.Name!);
        var body = registry.FindOrchestrator(name) ?? throw new ArgumentException($"No orchestrator named {name} is registered.", nameof(registry));

        // The next step of the instance: everything recorded is replayed, then a step starts with nothing new, which is
        // where the engine checks that every recorded call was made again.
        var next = new HistoryEvent(HistoryEventType.OrchestratorStarted, history[^1].Timestamp);
        var result = new OrchestrationRunner(name, instanceId, body, history, [next], customStatus: null, NullLoggerFactory.Instance).Run();
        return new ReplayResult(result.NonDeterminism?.Message, result.Status);
    }
}
