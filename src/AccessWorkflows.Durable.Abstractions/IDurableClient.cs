namespace AccessWorkflows.Durable;

/// <summary>How the hosts drive orchestrations, one for one with Durable Functions' <c>DurableTaskClient</c>.</summary>
public interface IDurableClient
{
    /// <summary>Starts an instance. With an explicit instance id, throws
    /// <see cref="InstanceAlreadyExistsException"/> when an instance with that id is still running.</summary>
    Task<string> ScheduleNewOrchestrationInstanceAsync(
        TaskName orchestratorName,
        object? input = null,
        StartOrchestrationOptions? options = null,
        CancellationToken cancellation = default);

    /// <summary>Delivers an event; at least once, so payloads carry their own de-duplication id.
    /// An event raised to an instance that does not exist is dropped.</summary>
    Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default);

    Task<OrchestrationMetadata?> GetInstanceAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default);

    IAsyncEnumerable<OrchestrationMetadata> GetAllInstancesAsync(OrchestrationQuery? filter = null, CancellationToken cancellation = default);

    Task TerminateInstanceAsync(string instanceId, TerminateInstanceOptions? options = null, CancellationToken cancellation = default);

    Task<PurgeResult> PurgeInstanceAsync(string instanceId, CancellationToken cancellation = default);

    Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default);
}

public sealed record StartOrchestrationOptions(string? InstanceId = null, DateTimeOffset? StartAt = null);

public sealed record TerminateInstanceOptions(object? Output = null);

public sealed record PurgeResult(int PurgedInstanceCount);

/// <summary>A filter over instances; null members do not filter.</summary>
public sealed record OrchestrationQuery(
    IReadOnlyCollection<OrchestrationRuntimeStatus>? Statuses = null,
    DateTimeOffset? CreatedFrom = null,
    DateTimeOffset? CreatedTo = null,
    string? InstanceIdPrefix = null,
    int PageSize = 100,
    bool FetchInputsAndOutputs = false);

public enum OrchestrationRuntimeStatus
{
    Pending,
    Running,
    Completed,
    Failed,
    Terminated,
    Suspended,
}

public sealed class InstanceAlreadyExistsException : InvalidOperationException
{
    public InstanceAlreadyExistsException(string instanceId)
        : base($"An orchestration with instance id '{instanceId}' is already running.")
        => InstanceId = instanceId;

    public string InstanceId { get; }
}
