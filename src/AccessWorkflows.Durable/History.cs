namespace AccessWorkflows.Durable.Embedded;

/// <summary>
/// Kinds of history events and of inbox messages. The numbers are persisted: never renumber them.
/// An inbox message becomes the history event of the same kind when a step consumes it.
/// </summary>
internal enum HistoryEventType
{
    /// <summary>First event of an execution. Name = orchestrator name, Data = input JSON.</summary>
    ExecutionStarted = 0,

    /// <summary>First event of every step; its timestamp is the replay-safe <c>CurrentUtcDateTime</c>.</summary>
    OrchestratorStarted = 1,

    /// <summary>TaskId = sequence number, Name = activity name, Data = input JSON.</summary>
    TaskScheduled = 2,

    /// <summary>TaskId = the scheduled task, Data = result JSON.</summary>
    TaskCompleted = 3,

    /// <summary>TaskId = the scheduled task, Data = <see cref="TaskFailureDetails"/> JSON.</summary>
    TaskFailed = 4,

    /// <summary>TaskId = sequence number, Data = fire-at ticks (UTC).</summary>
    TimerCreated = 5,

    /// <summary>TaskId = the timer.</summary>
    TimerFired = 6,

    /// <summary>Name = event name, Data = payload JSON.</summary>
    EventRaised = 7,

    /// <summary>Data = output JSON.</summary>
    ExecutionCompleted = 8,

    /// <summary>Data = <see cref="TaskFailureDetails"/> JSON.</summary>
    ExecutionFailed = 9,

    /// <summary>Data = output JSON given to terminate.</summary>
    ExecutionTerminated = 10,
}

/// <summary>One event of an instance's history (or, with an id, one inbox message).</summary>
internal sealed record HistoryEvent(HistoryEventType Type, DateTime Timestamp, int TaskId = -1, string? Name = null, string? Data = null);

/// <summary>An unconsumed inbox message (row id <see cref="Id"/>): a history event waiting to be applied by a step of
/// execution <see cref="Generation"/> of its instance, once the clock reaches <see cref="FireAt"/> (MinValue: at once).
/// Messages of another generation are stale: their rows went with the execution they were meant for.</summary>
internal sealed record InboxMessage(long Id, string InstanceId, long Generation, DateTime FireAt, HistoryEvent Event)
{
    public bool IsTimer => FireAt > DateTime.MinValue;
}

/// <summary>An activity work item (the outbox of a step), for execution <see cref="Generation"/> of its instance.</summary>
internal sealed record ActivityWorkItem(long Id, string InstanceId, long Generation, int TaskId, string Name, string? Input, int Attempt);

/// <summary>The persisted row of an instance.</summary>
internal sealed record InstanceRow(
    string InstanceId,
    string Name,
    OrchestrationRuntimeStatus Status,
    long Generation,
    string? Input,
    string? Output,
    string? CustomStatus,
    string? Failure,
    DateTime CreatedAt,
    DateTime UpdatedAt)
{
    public bool IsTerminal => Status is OrchestrationRuntimeStatus.Completed or OrchestrationRuntimeStatus.Failed or OrchestrationRuntimeStatus.Terminated;
}
