using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using AccessWorkflows.Durable;
using AccessWorkflows.Storage;

namespace AccessWorkflows.Server.Telemetry;

/// <summary>
/// The product's own instruments (meter <see cref="MeterName"/>): requests by status, decisions by channel,
/// provisioning latency, revoke lateness and the engine's backlog. Every state change and decision already lands in
/// the audit log (the workflow's one place that records them), so the counters are fed from there: nothing in the core
/// or the engine had to learn about metrics.
/// </summary>
internal sealed class AccessWorkflowsMetrics
{
    public const string MeterName = "AccessWorkflows";

    private readonly Counter<long> _requests;
    private readonly Counter<long> _decisions;
    private readonly Histogram<double> _provisioning;
    private readonly Histogram<double> _revokeLateness;

    // request id → when it was approved, until it is active (or ends): the provisioning latency's start.
    private readonly ConcurrentDictionary<string, DateTimeOffset> _approvedAt = new(StringComparer.Ordinal);
    private long _pendingInstances;
    private long _runningInstances;

    public AccessWorkflowsMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _requests = meter.CreateCounter<long>("accessworkflows.requests", "{request}", "Requests entering a status (created, pending, approved, active, and each end)");
        _decisions = meter.CreateCounter<long>("accessworkflows.decisions", "{decision}", "Approver decisions by outcome and channel (api, slack, teams, webhook, pagerduty)");
        _provisioning = meter.CreateHistogram<double>("accessworkflows.provisioning.duration", "s", "From approved to active: how long IAM provisioning took");
        _revokeLateness = meter.CreateHistogram<double>("accessworkflows.revoke.lateness", "s", "How long after its planned expiry a grant was recorded expired");
        meter.CreateObservableGauge("accessworkflows.engine.instances", () => new[]
        {
            new Measurement<long>(Interlocked.Read(ref _pendingInstances), new KeyValuePair<string, object?>("status", "pending")),
            new Measurement<long>(Interlocked.Read(ref _runningInstances), new KeyValuePair<string, object?>("status", "running")),
        }, "{instance}", "Orchestrations not finished: pending (not started yet: the backlog) and running (waiting or working)");
    }

    /// <summary>Counts what one audit event says happened. <paramref name="expiresAt"/> is the request's planned expiry,
    /// read only for <c>request.expired</c>.</summary>
    public void Record(AuditEvent e, DateTimeOffset? expiresAt)
    {
        if (e.Type.StartsWith("decision.", StringComparison.Ordinal))
        {
            _decisions.Add(1, new KeyValuePair<string, object?>("outcome", e.Type["decision.".Length..]), new KeyValuePair<string, object?>("channel", e.Channel));
            return;
        }

        if (!e.Type.StartsWith("request.", StringComparison.Ordinal))
        {
            return;
        }

        var status = e.Type["request.".Length..];
        _requests.Add(1, new KeyValuePair<string, object?>("status", status));
        switch (status)
        {
            case "approved":
                _approvedAt[e.RequestId] = e.At;
                break;
            case "active":
                if (_approvedAt.TryRemove(e.RequestId, out var approved))
                {
                    _provisioning.Record(Math.Max(0, (e.At - approved).TotalSeconds));
                }

                break;
            default:
                _approvedAt.TryRemove(e.RequestId, out _);
                if (status == "expired" && expiresAt is { } planned)
                {
                    _revokeLateness.Record(Math.Max(0, (e.At - planned).TotalSeconds));
                }

                break;
        }
    }

    public void SetEngineInstances(long pending, long running)
    {
        Interlocked.Exchange(ref _pendingInstances, pending);
        Interlocked.Exchange(ref _runningInstances, running);
    }
}

/// <summary>The audit log, counted: every append also feeds <see cref="AccessWorkflowsMetrics"/>.</summary>
internal sealed class MeteredAuditLog(IAuditLog inner, IRequestStore requests, AccessWorkflowsMetrics metrics) : IAuditLog
{
    public async Task AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default)
    {
        await inner.AppendAsync(auditEvent, cancellationToken);
        var expiresAt = auditEvent.Type == "request.expired" ? (await requests.GetAsync(auditEvent.RequestId, cancellationToken))?.ExpiresAt : null;
        metrics.Record(auditEvent, expiresAt);
    }

    public async Task AppendManyAsync(IReadOnlyList<AuditEvent> auditEvents, CancellationToken cancellationToken = default)
    {
        await inner.AppendManyAsync(auditEvents, cancellationToken);
        foreach (var auditEvent in auditEvents)
        {
            var expiresAt = auditEvent.Type == "request.expired" ? (await requests.GetAsync(auditEvent.RequestId, cancellationToken))?.ExpiresAt : null;
            metrics.Record(auditEvent, expiresAt);
        }
    }

    public Task<IReadOnlyList<AuditEvent>> ListAsync(string requestId, CancellationToken cancellationToken = default) =>
        inner.ListAsync(requestId, cancellationToken);

    public Task<AuditPage> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default) =>
        inner.QueryAsync(query, cancellationToken);
}

/// <summary>Samples the engine's unfinished orchestrations every few seconds for the backlog gauge (a scrape must
/// not wait on the database).</summary>
internal sealed class EngineBacklogSampler(IDurableClient durable, AccessWorkflowsMetrics metrics, ILogger<EngineBacklogSampler> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        do
        {
            try
            {
                long pending = 0, running = 0;
                var query = new OrchestrationQuery([OrchestrationRuntimeStatus.Pending, OrchestrationRuntimeStatus.Running], PageSize: 500);
                await foreach (var instance in durable.GetAllInstancesAsync(query, stoppingToken))
                {
                    if (instance.RuntimeStatus == OrchestrationRuntimeStatus.Pending)
                    {
                        pending++;
                    }
                    else
                    {
                        running++;
                    }
                }

                metrics.SetEngineInstances(pending, running);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                TelemetryLog.BacklogSampleFailed(logger, ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
