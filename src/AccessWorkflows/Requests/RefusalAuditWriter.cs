using System.Threading.Channels;
using AccessWorkflows.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Requests;

/// <summary>
/// Writes the <c>decision.refused</c> audit entries of refusals whose person was answered already (a Teams click is
/// refused on the card before its command runs) in batches: every refusal waiting goes into one transaction
/// (<see cref="IAuditLog.AppendManyAsync"/>), drained behind the answers, instead of one commit each.
/// </summary>
/// <remarks>
/// <para><b>What may be lost.</b> Only refusals come here: decisions that did not count and changed nothing. A crash
/// (the process killed, the machine lost) loses the refusals queued and not yet written — at most <see cref="Capacity"/>,
/// in practice the few milliseconds' worth behind the last batch. A clean stop (<see cref="StopAsync"/>) writes every
/// queued refusal before it returns, retrying a failing store until the host's shutdown timeout; only what is still
/// unwritten then is lost, and each of those is logged by id (event 1142). A decision that counts never comes here:
/// it is recorded before its caller is told so.</para>
/// <para><b>Never dropped for lack of room.</b> Before start, while stopping and after the stop, or with the queue
/// full, <see cref="WriteAsync"/> writes the refusal itself before it returns.</para>
/// <para><b>Order.</b> Refusals are written in the order they were queued, one batch after another, so refusals of the
/// same instant keep that order in the log.</para>
/// </remarks>
public sealed partial class RefusalAuditWriter : IHostedService, IDisposable
{
    /// <summary>The type of the only audit entries this writer takes.</summary>
    public const string RefusedType = "decision.refused";

    /// <summary>Refusals that may wait at once; beyond it callers write their own.</summary>
    public const int Capacity = 10_000;

    /// <summary>At most this many refusals in one transaction, so one batch never holds the write lock for long.</summary>
    public const int MaxBatch = 500;

    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);

    private readonly IAuditLog _audit;
    private readonly ILogger<RefusalAuditWriter> _logger;
    private readonly Channel<AuditEvent> _queue = Channel.CreateBounded<AuditEvent>(new BoundedChannelOptions(Capacity)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = true,
        SingleWriter = false,
    });

    private readonly CancellationTokenSource _abort = new();
    private Task _loop = Task.CompletedTask;
    private int _accepting;

    public RefusalAuditWriter(IAuditLog audit, ILogger<RefusalAuditWriter> logger)
    {
        _audit = audit;
        _logger = logger;
    }

    /// <summary>
    /// Queues <paramref name="refusal"/> for the next batch, or, when the writer is not running or its queue is full,
    /// appends it before returning. Either way it reaches the audit log unless the process dies first (see remarks).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="refusal"/> is not a <c>decision.refused</c> entry: nothing
    /// that changed something may wait here.</exception>
    public async Task WriteAsync(AuditEvent refusal, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(refusal);
        if (refusal.Type != RefusedType)
        {
            throw new ArgumentException($"Only {RefusedType} entries may be batched, not {refusal.Type}.", nameof(refusal));
        }

        if (Volatile.Read(ref _accepting) == 1 && _queue.Writer.TryWrite(refusal))
        {
            return;
        }

        await _audit.AppendAsync(refusal, cancellationToken);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(RunAsync, CancellationToken.None);
        Volatile.Write(ref _accepting, 1);
        return Task.CompletedTask;
    }

    /// <summary>Stops taking refusals (later ones are written by their callers) and writes every queued one. When
    /// <paramref name="cancellationToken"/> (the host's shutdown timeout) fires first, what is still unwritten is
    /// logged by id and lost.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Volatile.Write(ref _accepting, 0);
        _queue.Writer.TryComplete();
        using var registration = cancellationToken.Register(() => _abort.Cancel());
        await _loop;
    }

    public void Dispose() => _abort.Dispose();

    private async Task RunAsync()
    {
        var batch = new List<AuditEvent>(MaxBatch);
        var reader = _queue.Reader;

        // No token: this ends only once the queue is completed (StopAsync) and empty.
        while (await reader.WaitToReadAsync(CancellationToken.None))
        {
            while (batch.Count < MaxBatch && reader.TryRead(out var refusal))
            {
                batch.Add(refusal);
            }

            await WriteBatchAsync(batch);
            batch.Clear();
        }
    }

    private async Task WriteBatchAsync(List<AuditEvent> batch)
    {
        for (var attempt = 1; ; attempt++)
        {
            if (_abort.IsCancellationRequested)
            {
                foreach (var refusal in batch)
                {
                    LogRefusalLost(_logger, refusal.Id);
                }

                return;
            }

            try
            {
                await _audit.AppendManyAsync(batch, CancellationToken.None);
                return;
            }
            catch (Exception e)
            {
                // A store that fails (busy beyond its timeout, a full disk) is tried again, the same batch, until it
                // takes it or the host's shutdown timeout gives up; meanwhile new refusals wait, and beyond Capacity
                // their callers write (or fail) themselves.
                var delay = TimeSpan.FromMilliseconds(Math.Min(MaxRetryDelay.TotalMilliseconds, 100 * Math.Pow(2, Math.Min(attempt, 16))));
                LogBatchFailed(_logger, batch.Count, attempt, delay, e);
                try
                {
                    await Task.Delay(delay, _abort.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }
    }

    [LoggerMessage(EventId = 1141, Level = LogLevel.Error, Message = "Writing {Count} queued decision.refused audit entries failed (attempt {Attempt}); trying again in {Delay}")]
    private static partial void LogBatchFailed(ILogger logger, int count, int attempt, TimeSpan delay, Exception exception);

    [LoggerMessage(EventId = 1142, Level = LogLevel.Critical, Message = "The shutdown timeout passed before the queued audit entry {AuditId} (decision.refused) could be written: it is lost")]
    private static partial void LogRefusalLost(ILogger logger, string auditId);
}
