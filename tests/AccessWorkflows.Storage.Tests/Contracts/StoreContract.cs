namespace AccessWorkflows.Storage.Tests.Contracts;

/// <summary>
/// The base of every storage contract suite. A store implementation runs a suite by subclassing it and saying how to
/// make a store; the suite knows nothing else about it. xunit makes a new instance per test, so a subclass can keep
/// per-test state (a temp file, a table-name prefix) in fields and clean it up in Dispose / DisposeAsync.
/// </summary>
/// <typeparam name="TStore">The port under test.</typeparam>
public abstract class StoreContract<TStore>
    where TStore : class
{
    /// <summary>A new, empty store, isolated from every other test. Called at most once per test.</summary>
    protected abstract Task<TStore> CreateStoreAsync();

    /// <summary>Another instance over the same data as the store <see cref="CreateStoreAsync"/> returned, as a
    /// restarted process would open it (a new object, no shared in-memory state).</summary>
    protected abstract Task<TStore> ReopenStoreAsync();

    /// <summary>Starts <paramref name="count"/> workers on the thread pool behind one gate, so they really overlap.</summary>
    protected static async Task<T[]> RaceAsync<T>(int count, Func<int, Task<T>> worker)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = Enumerable.Range(0, count).Select(i => Task.Run(async () =>
        {
            await gate.Task;
            return await worker(i);
        })).ToArray();
        gate.SetResult();
        return await Task.WhenAll(tasks);
    }
}
