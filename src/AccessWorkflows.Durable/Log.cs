using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Durable.Embedded;

/// <summary>The engine's log lines. Event ids are stable: dashboards and alerts may key on them.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 4100, Level = LogLevel.Information, Message = "Durable engine started on {DatabasePath} ({MaxOrchestrations} orchestration / {MaxActivities} activity workers)")]
    public static partial void EngineStarted(ILogger logger, string databasePath, int maxOrchestrations, int maxActivities);

    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "Durable engine stopped")]
    public static partial void EngineStopped(ILogger logger);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "Durable engine killed: in-flight work is abandoned and will run again on the next start")]
    public static partial void EngineKilled(ILogger logger);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Warning, Message = "Graceful stop timed out; cancelling in-flight activities")]
    public static partial void StopTimedOut(ILogger logger);

    [LoggerMessage(EventId = 4110, Level = LogLevel.Error, Message = "Orchestration step of instance {InstanceId} failed; it will be retried")]
    public static partial void StepFailed(ILogger logger, string instanceId, Exception exception);

    [LoggerMessage(EventId = 4111, Level = LogLevel.Information, Message = "Instance {InstanceId} ({Name}) finished as {Status}")]
    public static partial void InstanceFinished(ILogger logger, string instanceId, string name, OrchestrationRuntimeStatus status);

    [LoggerMessage(EventId = 4112, Level = LogLevel.Error, Message = "Instance {InstanceId} failed: {Message}")]
    public static partial void NonDeterminism(ILogger logger, string instanceId, string message);

    [LoggerMessage(EventId = 4113, Level = LogLevel.Debug, Message = "Step of instance {InstanceId} discarded: the instance was re-created or purged meanwhile")]
    public static partial void StepConflict(ILogger logger, string instanceId);

    [LoggerMessage(EventId = 4114, Level = LogLevel.Debug, Message = "Dropped {Count} message(s) of finished or missing instance {InstanceId}")]
    public static partial void MessagesDropped(ILogger logger, string instanceId, int count);

    [LoggerMessage(EventId = 4120, Level = LogLevel.Warning, Message = "Activity {Name} of instance {InstanceId} (attempt {Attempt}) failed")]
    public static partial void ActivityFailed(ILogger logger, string name, string instanceId, int attempt, Exception exception);

    [LoggerMessage(EventId = 4121, Level = LogLevel.Error, Message = "Activity {Name} of instance {InstanceId} is not registered")]
    public static partial void ActivityNotRegistered(ILogger logger, string name, string instanceId);

    [LoggerMessage(EventId = 4122, Level = LogLevel.Error, Message = "Recording the result of activity {Name} of instance {InstanceId} failed; it will run again")]
    public static partial void ActivityCompletionFailed(ILogger logger, string name, string instanceId, Exception exception);

    [LoggerMessage(EventId = 4130, Level = LogLevel.Error, Message = "The {Dispatcher} dispatcher failed to look for work")]
    public static partial void DispatcherFailed(ILogger logger, string dispatcher, Exception exception);

    [LoggerMessage(EventId = 4140, Level = LogLevel.Debug, Message = "Event {EventName} raised to instance {InstanceId} was dropped: no such pending or running instance")]
    public static partial void EventDropped(ILogger logger, string eventName, string instanceId);
}
