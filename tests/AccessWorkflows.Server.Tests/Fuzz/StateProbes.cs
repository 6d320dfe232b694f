using AccessWorkflows.Durable;
using AccessWorkflows.Requests;
using AccessWorkflows.Storage;
using AccessWorkflows.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AccessWorkflows.Server.Tests.Fuzz;

/// <summary>
/// Counts every write that changes what the service holds: a request created or changed, an audit event other than
/// the record of a refusal, an orchestration started or an event raised into one. A refused input must leave the
/// count where it was.
/// </summary>
public sealed class StateProbe
{
    private long _writes;

    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>What the last writes were, to say what a refused input changed.</summary>
    public List<string> Recent { get; } = [];

    public void Record(string what)
    {
        Interlocked.Increment(ref _writes);
        lock (Recent)
        {
            Recent.Add(what);
            if (Recent.Count > 20)
            {
                Recent.RemoveAt(0);
            }
        }
    }

    /// <summary>Puts the probes in place of the server's store and engine client. Orchestrations never run, so
    /// nothing changes in the background and every write is the answer of the input that caused it.</summary>
    public void Install(IServiceCollection services)
    {
        services.Replace(ServiceDescriptor.Singleton<IRequestStore>(sp => new CountingRequestStore(sp.GetRequiredService<SqliteAccessStore>(), this)));
        services.Replace(ServiceDescriptor.Singleton<IAuditLog>(sp => new CountingAuditLog(sp.GetRequiredService<SqliteAccessStore>(), this)));
        services.Replace(ServiceDescriptor.Singleton<IDurableClient>(new RecordingDurableClient(this)));
    }

    private sealed class CountingRequestStore(SqliteAccessStore inner, StateProbe probe) : ForwardingRequestStore(inner)
    {
        public override async Task<bool> TryCreateAsync(AccessRequest request, CancellationToken cancellationToken = default)
        {
            var created = await base.TryCreateAsync(request, cancellationToken);
            if (created)
            {
                probe.Record($"request {request.Id} created");
            }

            return created;
        }

        public override Task<AccessRequest> UpdateAsync(string id, Func<AccessRequest, bool> mutate, CancellationToken cancellationToken = default) =>
            base.UpdateAsync(
                id,
                request =>
                {
                    var changed = mutate(request);
                    if (changed)
                    {
                        probe.Record($"request {id} updated");
                    }

                    return changed;
                },
                cancellationToken);
    }

    private sealed class CountingAuditLog(SqliteAccessStore inner, StateProbe probe) : IAuditLog
    {
        public Task AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default)
        {
            // Refusals and late decisions are recorded on purpose (SPEC 6.5, 12): the refusal is the input's answer.
            if (auditEvent.Type is not ("decision.refused" or "decision.late"))
            {
                probe.Record($"audit {auditEvent.Type} on {auditEvent.RequestId}");
            }

            return ((IAuditLog)inner).AppendAsync(auditEvent, cancellationToken);
        }

        public Task<IReadOnlyList<AuditEvent>> ListAsync(string requestId, CancellationToken cancellationToken = default) => ((IAuditLog)inner).ListAsync(requestId, cancellationToken);

        public Task<AuditPage> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default) => ((IAuditLog)inner).QueryAsync(query, cancellationToken);
    }

    private sealed class RecordingDurableClient(StateProbe probe) : IDurableClient
    {
        public Task<string> ScheduleNewOrchestrationInstanceAsync(TaskName orchestratorName, object? input = null, StartOrchestrationOptions? options = null, CancellationToken cancellation = default)
        {
            probe.Record($"orchestration {options?.InstanceId} started");
            return Task.FromResult(options?.InstanceId ?? Guid.NewGuid().ToString("N"));
        }

        public Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default)
        {
            probe.Record($"event {eventName} raised to {instanceId}");
            return Task.CompletedTask;
        }

        public Task<OrchestrationMetadata?> GetInstanceAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
            Task.FromResult<OrchestrationMetadata?>(null);

        public async IAsyncEnumerable<OrchestrationMetadata> GetAllInstancesAsync(OrchestrationQuery? filter = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellation = default)
        {
            await Task.CompletedTask;
            yield break;
        }

        public Task TerminateInstanceAsync(string instanceId, TerminateInstanceOptions? options = null, CancellationToken cancellation = default) => throw new NotSupportedException();

        public Task<PurgeResult> PurgeInstanceAsync(string instanceId, CancellationToken cancellation = default) => throw new NotSupportedException();

        public Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) => throw new NotSupportedException();
    }
}
