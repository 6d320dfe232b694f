using System.Collections.Concurrent;
using AccessWorkflows.Requests;
using AccessWorkflows.Storage;
using AccessWorkflows.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Server.Tests;

/// <summary>
/// Holds one step of the real workflow where a race would happen, so a test can act inside the window
/// deterministically: <see cref="Entered"/> completes when the step is reached, and the step waits until
/// <see cref="Release"/>. No sleeps: both sides wait on each other.
/// </summary>
public sealed class Gate
{
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Entered => _entered.Task;

    public void Release() => _released.TrySetResult();

    internal async Task PassAsync(CancellationToken cancellationToken)
    {
        _entered.TrySetResult();
        await _released.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Waits until the step is reached, failing after a deadline that only a broken system reaches.</summary>
    public Task WaitEnteredAsync() => Entered.WaitAsync(TimeSpan.FromSeconds(30));
}

/// <summary>The server's SQLite request store, passed through; tests override what they need to observe or break.</summary>
public abstract class ForwardingRequestStore(SqliteAccessStore inner) : IRequestStore
{
    protected SqliteAccessStore Inner => inner;

    public virtual Task<bool> TryCreateAsync(AccessRequest request, CancellationToken cancellationToken = default) => inner.TryCreateAsync(request, cancellationToken);

    public virtual Task<AccessRequest?> GetAsync(string id, CancellationToken cancellationToken = default) => inner.GetAsync(id, cancellationToken);

    public virtual Task<AccessRequest> UpdateAsync(string id, Func<AccessRequest, bool> mutate, CancellationToken cancellationToken = default) => inner.UpdateAsync(id, mutate, cancellationToken);

    public Task<RequestPage> QueryAsync(RequestQuery query, CancellationToken cancellationToken = default) => inner.QueryAsync(query, cancellationToken);
}

/// <summary>
/// The server's SQLite request store with gates: an update of a request whose stored state matches a gate's
/// condition waits at that gate before it is written.
/// </summary>
public sealed class GatedRequestStore(SqliteAccessStore inner) : ForwardingRequestStore(inner)
{
    private readonly ConcurrentDictionary<Func<AccessRequest, bool>, Gate> _gates = new();

    /// <summary>The next update of a request stored in a state matching <paramref name="when"/> waits at the gate.</summary>
    public Gate HoldUpdate(Func<AccessRequest, bool> when)
    {
        var gate = new Gate();
        _gates[when] = gate;
        return gate;
    }

    /// <summary>Registers the gated store in place of the server's, sharing its SQLite file.</summary>
    public static void Install(IServiceCollection services) =>
        services.Replace(ServiceDescriptor.Singleton<IRequestStore>(sp => new GatedRequestStore(sp.GetRequiredService<SqliteAccessStore>())));

    public override async Task<AccessRequest> UpdateAsync(string id, Func<AccessRequest, bool> mutate, CancellationToken cancellationToken = default)
    {
        if (!_gates.IsEmpty && await Inner.GetAsync(id, cancellationToken) is { } stored)
        {
            foreach (var (when, gate) in _gates)
            {
                if (when(stored) && _gates.TryRemove(when, out _))
                {
                    await gate.PassAsync(cancellationToken);
                }
            }
        }

        return await Inner.UpdateAsync(id, mutate, cancellationToken);
    }
}

/// <summary>Keeps what the server logs, to check what an operator would find.</summary>
public sealed class RecordingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(RecordingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            provider.Entries.Enqueue((category, logLevel, eventId, formatter(state, exception), exception));
    }
}
