namespace AccessWorkflows.Durable.Embedded;

/// <summary>
/// The single thread an orchestrator runs on during a step. Every continuation of orchestrator code is queued
/// here and run by <see cref="Drain"/> in FIFO order on the step's thread, so the code sees the same interleaving
/// on every replay. Code that leaves this context (awaits configured not to capture it, work queued to the thread
/// pool, real delays) breaks determinism: what it posts between steps is dropped.
/// </summary>
internal sealed class OrchestrationSynchronizationContext : SynchronizationContext
{
    private readonly Queue<(SendOrPostCallback Callback, object? State)> _queue = new();
    private readonly Lock _gate = new();
    private bool _closed;

    public override void Post(SendOrPostCallback d, object? state)
    {
        lock (_gate)
        {
            if (!_closed)
            {
                _queue.Enqueue((d, state));
            }
        }
    }

    public override void Send(SendOrPostCallback d, object? state) => throw new NotSupportedException("Orchestrations do not support synchronous dispatch.");

    public override SynchronizationContext CreateCopy() => this;

    /// <summary>Runs queued continuations until none is left.</summary>
    public void Drain()
    {
        while (true)
        {
            (SendOrPostCallback Callback, object? State) next;
            lock (_gate)
            {
                if (!_queue.TryDequeue(out next))
                {
                    return;
                }
            }

            next.Callback(next.State);
        }
    }

    /// <summary>Takes posts again: the runner's next step begins.</summary>
    public void Open()
    {
        lock (_gate)
        {
            _closed = false;
        }
    }

    /// <summary>Drops what is queued and whatever is posted until <see cref="Open"/>: between steps nothing runs.</summary>
    public void Close()
    {
        lock (_gate)
        {
            _closed = true;
            _queue.Clear();
        }
    }
}
