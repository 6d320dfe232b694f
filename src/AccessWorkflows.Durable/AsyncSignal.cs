namespace AccessWorkflows.Durable.Embedded;

/// <summary>A wake-up call for a dispatcher loop: <see cref="WaitAsync"/> completes on the next <see cref="Set"/>.
/// Take the task before looking for work, so a Set during the look is not lost.</summary>
internal sealed class AsyncSignal
{
    private TaskCompletionSource _current = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task WaitAsync() => Volatile.Read(ref _current).Task;

    public void Set() => Interlocked.Exchange(ref _current, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}
