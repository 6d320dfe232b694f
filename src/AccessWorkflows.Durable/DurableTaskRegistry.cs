using System.Text.Json;

namespace AccessWorkflows.Durable.Embedded;

/// <summary>
/// The orchestrators and activities an engine can run, by name (case-insensitive). Inputs and outputs cross the
/// durable boundary as JSON (<see cref="DurableJson.Options"/>). Register everything before the engine starts: the
/// registry is read by the engine's threads without locks.
/// </summary>
public sealed class DurableTaskRegistry
{
    private readonly Dictionary<TaskName, Func<IOrchestrationContext, Task<string?>>> _orchestrators = [];
    private readonly Dictionary<TaskName, Func<ActivityContext, string?, CancellationToken, Task<string?>>> _activities = [];

    /// <summary>Registers an orchestrator. Its code re-runs from history on every step, so it must be deterministic
    /// (see <see cref="IOrchestrationContext"/>); changing it while instances are in flight fails them as
    /// non-deterministic when their history no longer matches.</summary>
    public DurableTaskRegistry AddOrchestrator<TInput, TOutput>(TaskName name, Func<IOrchestrationContext, TInput, Task<TOutput>> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        _orchestrators[name] = async context =>
        {
            // No ConfigureAwait(false): the continuation must stay on the orchestration's synchronization context.
            var output = await run(context, context.GetInput<TInput>()!);
            return Serialize(output);
        };
        return this;
    }

    /// <summary>Registers an orchestrator without typed input or output.</summary>
    public DurableTaskRegistry AddOrchestrator(TaskName name, Func<IOrchestrationContext, Task> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        _orchestrators[name] = async context =>
        {
            await run(context);
            return null;
        };
        return this;
    }

    /// <summary>Registers an activity. Activities run at least once (again after a crash): make them idempotent.
    /// The token is cancelled only when the engine is killed or its graceful stop times out.</summary>
    public DurableTaskRegistry AddActivity<TInput, TOutput>(TaskName name, Func<ActivityContext, TInput, CancellationToken, Task<TOutput>> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        _activities[name] = async (context, input, cancellation) =>
        {
            var output = await run(context, Deserialize<TInput>(input)!, cancellation).ConfigureAwait(false);
            return Serialize(output);
        };
        return this;
    }

    /// <summary>Registers an activity without a result. Runs at least once, as the other overload.</summary>
    public DurableTaskRegistry AddActivity<TInput>(TaskName name, Func<ActivityContext, TInput, CancellationToken, Task> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        _activities[name] = async (context, input, cancellation) =>
        {
            await run(context, Deserialize<TInput>(input)!, cancellation).ConfigureAwait(false);
            return null;
        };
        return this;
    }

    internal Func<IOrchestrationContext, Task<string?>>? FindOrchestrator(TaskName name) => _orchestrators.GetValueOrDefault(name);

    internal Func<ActivityContext, string?, CancellationToken, Task<string?>>? FindActivity(TaskName name) => _activities.GetValueOrDefault(name);

    internal static string? Serialize(object? value) => value is null ? null : JsonSerializer.Serialize(value, value.GetType(), DurableJson.Options);

    internal static T? Deserialize<T>(string? json) => json is null ? default : JsonSerializer.Deserialize<T>(json, DurableJson.Options);
}
