namespace AccessWorkflows.Concurrency;

/// <summary>
/// One async lock per key, within this process: callers with equal keys run one at a time, others do not wait on
/// them. A key's lock exists only while someone holds or waits for it, so a lock per request, grant or permission set
/// does not grow with every key ever seen. Not a lock across processes or hosts.
/// </summary>
public sealed class KeyedLock<TKey>
    where TKey : notnull
{
    private readonly Dictionary<TKey, (SemaphoreSlim Gate, int Users)> _gates;

    public KeyedLock(IEqualityComparer<TKey>? comparer = null) => _gates = new(comparer);

    /// <summary>Waits for the key's lock; disposing the result releases it (once, however often it is disposed).</summary>
    public async Task<IDisposable> AcquireAsync(TKey key, CancellationToken cancellationToken)
    {
        SemaphoreSlim gate;
        lock (_gates)
        {
            var entry = _gates.TryGetValue(key, out var e) ? e : (Gate: new SemaphoreSlim(1, 1), Users: 0);
            _gates[key] = (entry.Gate, entry.Users + 1);
            gate = entry.Gate;
        }

        try
        {
            await gate.WaitAsync(cancellationToken);
        }
        catch
        {
            Release(key, gate, held: false);
            throw;
        }

        return new Releaser(() => Release(key, gate, held: true));
    }

    private void Release(TKey key, SemaphoreSlim gate, bool held)
    {
        if (held)
        {
            gate.Release();
        }

        lock (_gates)
        {
            var entry = _gates[key];
            if (entry.Users == 1)
            {
                _gates.Remove(key);
            }
            else
            {
                _gates[key] = (entry.Gate, entry.Users - 1);
            }
        }
    }

    private sealed class Releaser(Action release) : IDisposable
    {
        private Action? _release = release;

        public void Dispose() => Interlocked.Exchange(ref _release, null)?.Invoke();
    }
}
