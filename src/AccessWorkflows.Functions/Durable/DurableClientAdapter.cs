using System.Runtime.CompilerServices;
using AccessWorkflows.Durable;
using DurableTask.Core.Exceptions;
using Microsoft.DurableTask.Client;
using OrchestrationMetadata = AccessWorkflows.Durable.OrchestrationMetadata;
using OrchestrationQuery = AccessWorkflows.Durable.OrchestrationQuery;
using PurgeResult = AccessWorkflows.Durable.PurgeResult;
using StartOrchestrationOptions = AccessWorkflows.Durable.StartOrchestrationOptions;
using TaskName = AccessWorkflows.Durable.TaskName;
using TerminateInstanceOptions = AccessWorkflows.Durable.TerminateInstanceOptions;

namespace AccessWorkflows.Functions.Durable;

/// <summary>The hosts' client port over Durable Functions' <see cref="DurableTaskClient"/>, one for one (SPEC 2).</summary>
public sealed class DurableClientAdapter : IDurableClient
{
    private readonly DurableTaskClient _inner;

    public DurableClientAdapter(DurableTaskClient inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
    }

    /// <summary>Like the embedded engine, refuses to start an instance whose id is still in flight (Pending, Running or
    /// Suspended) with <see cref="InstanceAlreadyExistsException"/>; the request commands rely on it to make a second
    /// start (an <c>Idempotency-Key</c> replay, the recovery of recorded requests) a no-op. The look-up before the call
    /// covers the common case; a start that races another one is refused by the backend with
    /// <see cref="OrchestrationAlreadyExistsException"/>, mapped the same way.</summary>
    public async Task<string> ScheduleNewOrchestrationInstanceAsync(
        TaskName orchestratorName,
        object? input = null,
        StartOrchestrationOptions? options = null,
        CancellationToken cancellation = default)
    {
        if (options?.InstanceId is { } id && await IsInFlightAsync(id, cancellation))
        {
            throw new InstanceAlreadyExistsException(id);
        }

        try
        {
            return await _inner.ScheduleNewOrchestrationInstanceAsync(orchestratorName.Name, input, DurableConvert.ToTheirs(options), cancellation);
        }
        catch (OrchestrationAlreadyExistsException) when (options?.InstanceId is not null)
        {
            throw new InstanceAlreadyExistsException(options.InstanceId);
        }
    }

    public Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default) =>
        _inner.RaiseEventAsync(instanceId, eventName, eventPayload, cancellation);

    public async Task<OrchestrationMetadata?> GetInstanceAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
        await _inner.GetInstanceAsync(instanceId, getInputsAndOutputs, cancellation) is { } metadata ? DurableConvert.ToOurs(metadata) : null;

    public async IAsyncEnumerable<OrchestrationMetadata> GetAllInstancesAsync(OrchestrationQuery? filter = null, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        // Their AsyncPageable follows the backend's continuation tokens page by page.
        await foreach (var metadata in _inner.GetAllInstancesAsync(filter is null ? null : DurableConvert.ToTheirs(filter)).WithCancellation(cancellation))
        {
            yield return DurableConvert.ToOurs(metadata);
        }
    }

    public Task TerminateInstanceAsync(string instanceId, TerminateInstanceOptions? options = null, CancellationToken cancellation = default) =>
        _inner.TerminateInstanceAsync(instanceId, options is null ? null : new Microsoft.DurableTask.Client.TerminateInstanceOptions { Output = options.Output }, cancellation);

    public async Task<PurgeResult> PurgeInstanceAsync(string instanceId, CancellationToken cancellation = default) =>
        new((await _inner.PurgeInstanceAsync(instanceId, options: null, cancellation)).PurgedInstanceCount);

    public async Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
        DurableConvert.ToOurs(await _inner.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs, cancellation));

    /// <summary>Their <c>IsRunning</c> is true for Running only; a just-started instance is Pending and counts too.</summary>
    private async Task<bool> IsInFlightAsync(string instanceId, CancellationToken cancellation) =>
        await _inner.GetInstanceAsync(instanceId, getInputsAndOutputs: false, cancellation) is { } metadata
        && DurableConvert.InFlight.Contains(metadata.RuntimeStatus);
}
