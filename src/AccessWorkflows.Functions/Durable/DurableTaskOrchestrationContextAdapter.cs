using AccessWorkflows.Durable;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using TaskName = AccessWorkflows.Durable.TaskName;
using TaskOptions = AccessWorkflows.Durable.TaskOptions;

namespace AccessWorkflows.Functions.Durable;

/// <summary>
/// The shared orchestrator's context port over Durable Functions' <see cref="TaskOrchestrationContext"/>, one for one
/// (SPEC 2). Two translations happen here: our task options become theirs (retry policy, including the
/// HandleFailure predicate), and their <see cref="Microsoft.DurableTask.TaskFailedException"/> becomes ours, because
/// the orchestrator catches <see cref="AccessWorkflows.Durable.TaskFailedException"/> (permanent provisioning
/// failures, deprovisioning rounds). Everything else passes straight through, so replay semantics are theirs.
/// </summary>
/// <remarks>Orchestrator code: every await here stays on the captured context, so each continuation runs on the orchestration's
/// own scheduler.</remarks>
public sealed class DurableTaskOrchestrationContextAdapter : IOrchestrationContext
{
    private readonly TaskOrchestrationContext _inner;

    public DurableTaskOrchestrationContextAdapter(TaskOrchestrationContext inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
    }

    public TaskName Name => _inner.Name.Name;

    public string InstanceId => _inner.InstanceId;

    public DateTime CurrentUtcDateTime => _inner.CurrentUtcDateTime;

    public bool IsReplaying => _inner.IsReplaying;

    public T? GetInput<T>() => _inner.GetInput<T>();

    public async Task<TResult> CallActivityAsync<TResult>(TaskName name, object? input = null, TaskOptions? options = null)
    {
        try
        {
            return await _inner.CallActivityAsync<TResult>(name.Name, input, DurableConvert.ToTheirs(options));
        }
        catch (Microsoft.DurableTask.TaskFailedException failure)
        {
            throw DurableConvert.ToOurs(failure);
        }
    }

    public async Task CallActivityAsync(TaskName name, object? input = null, TaskOptions? options = null)
    {
        try
        {
            await _inner.CallActivityAsync(name.Name, input, DurableConvert.ToTheirs(options));
        }
        catch (Microsoft.DurableTask.TaskFailedException failure)
        {
            throw DurableConvert.ToOurs(failure);
        }
    }

    public Task CreateTimer(DateTime fireAt, CancellationToken cancellationToken) => _inner.CreateTimer(fireAt, cancellationToken);

    public Task<T> WaitForExternalEvent<T>(string eventName, CancellationToken cancellationToken = default) =>
        _inner.WaitForExternalEvent<T>(eventName, cancellationToken);

    public void SetCustomStatus(object? customStatus) => _inner.SetCustomStatus(customStatus);

    public Guid NewGuid() => _inner.NewGuid();

    public void ContinueAsNew(object? newInput = null, bool preserveUnprocessedEvents = true) => _inner.ContinueAsNew(newInput, preserveUnprocessedEvents);

    public ILogger CreateReplaySafeLogger(string categoryName) => _inner.CreateReplaySafeLogger(categoryName);
}
