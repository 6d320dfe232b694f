using AccessWorkflows.Durable;

namespace AccessWorkflows.Functions.Durable;

/// <summary>The <see cref="IDurableClient"/> registered in DI: the current invocation's client.</summary>
public sealed class AmbientDurableClient : IDurableClient
{
    private static IDurableClient Client => DurableClientScope.Current
        ?? throw new InvalidOperationException("No durable client in this invocation: the function must take [DurableClient] DurableTaskClient and call the shared code inside DurableClientScope.Enter.");

    public Task<string> ScheduleNewOrchestrationInstanceAsync(TaskName orchestratorName, object? input = null, StartOrchestrationOptions? options = null, CancellationToken cancellation = default) =>
        Client.ScheduleNewOrchestrationInstanceAsync(orchestratorName, input, options, cancellation);

    public Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default) =>
        Client.RaiseEventAsync(instanceId, eventName, eventPayload, cancellation);

    public Task<OrchestrationMetadata?> GetInstanceAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
        Client.GetInstanceAsync(instanceId, getInputsAndOutputs, cancellation);

    public IAsyncEnumerable<OrchestrationMetadata> GetAllInstancesAsync(OrchestrationQuery? filter = null, CancellationToken cancellation = default) =>
        Client.GetAllInstancesAsync(filter, cancellation);

    public Task TerminateInstanceAsync(string instanceId, TerminateInstanceOptions? options = null, CancellationToken cancellation = default) =>
        Client.TerminateInstanceAsync(instanceId, options, cancellation);

    public Task<PurgeResult> PurgeInstanceAsync(string instanceId, CancellationToken cancellation = default) =>
        Client.PurgeInstanceAsync(instanceId, cancellation);

    public Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
        Client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs, cancellation);
}
