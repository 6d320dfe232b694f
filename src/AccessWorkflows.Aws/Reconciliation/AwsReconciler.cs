using AccessWorkflows.Aws.Iam;
using AccessWorkflows.Grants;
using AccessWorkflows.Requests;
using AccessWorkflows.Rules;
using AccessWorkflows.Storage;
using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Aws.Reconciliation;

/// <summary>
/// The sweep of SPEC 6: compares what AccessWorkflows put into an account — generated policies under
/// <c>/access-workflows/</c> tagged with a request id, and the attachments and memberships recorded in the grant
/// ledger — with the requests that are still approved or active, removes what none of them explains, and appends an
/// audit event (request id <c>account:&lt;id&gt;</c>) per removal. What AccessWorkflows did not make (untagged
/// policies, attachments no ledger entry records) is reported and never touched.
/// </summary>
public sealed partial class AwsReconciler
{
    private readonly AwsProvisioner _provisioner;
    private readonly IIamClientFactory _clients;
    private readonly IGrantLedger _ledger;
    private readonly IRequestStore _requests;
    private readonly IAuditLog _audit;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public AwsReconciler(AwsProvisioner provisioner, IIamClientFactory clients, IGrantLedger ledger, IRequestStore requests, IAuditLog audit, TimeProvider time, ILogger<AwsReconciler> logger)
    {
        _provisioner = provisioner;
        _clients = clients;
        _ledger = ledger;
        _requests = requests;
        _audit = audit;
        _time = time;
        _logger = logger;
    }

    public async Task<ReconciliationReport> ReconcileAsync(AccountConfig account, CancellationToken cancellationToken = default)
    {
        var startedAt = _time.GetUtcNow();
        var found = new List<ReconciledItem>();
        var removed = new List<ReconciledItem>();
        var errors = new List<string>();
        var liveness = new Dictionary<string, bool>(StringComparer.Ordinal);

        async Task<bool> IsLiveAsync(string requestId)
        {
            if (!liveness.TryGetValue(requestId, out var live))
            {
                var request = await _requests.GetAsync(requestId, cancellationToken);
                live = request is { Status: RequestStatus.Approved or RequestStatus.Active };
                liveness[requestId] = live;
            }

            return live;
        }

        // 1. Ledger: attachments and memberships AccessWorkflows recorded.
        foreach (var holding in await _ledger.ListAsync(account.Id, cancellationToken))
        {
            var item = new ReconciledItem(KindOf(holding.Key.Permission), holding.Key.UserName, TargetOf(holding.Key.Permission), holding.RequestIds);
            found.Add(item);
            var dead = new List<string>();
            foreach (var requestId in holding.RequestIds)
            {
                if (!await IsLiveAsync(requestId))
                {
                    dead.Add(requestId);
                }
            }

            if (dead.Count == 0)
            {
                continue;
            }

            try
            {
                foreach (var requestId in dead)
                {
                    await _ledger.RemoveHolderAsync(holding.Key, requestId, cancellationToken);
                }

                var access = AccessOf(holding.Key.Permission);
                if (access is not null && (await _ledger.GetHoldersAsync(holding.Key, cancellationToken)).Count == 0)
                {
                    // No live grant explains it: remove it from IAM, then make sure no grant arrived meanwhile.
                    await _provisioner.RemoveAsync(account, holding.Key.UserName, access, dead[0], cancellationToken);
                    var arrived = await _ledger.GetHoldersAsync(holding.Key, cancellationToken);
                    if (arrived.Count > 0)
                    {
                        await _provisioner.ApplyAsync(account, holding.Key.UserName, access, arrived[0], cancellationToken);
                        continue;
                    }

                    removed.Add(item with { RequestIds = dead });
                    await AuditAsync(account, "reconcile.removed", $"Removed {item.Kind} {item.Target} from IAM user {item.UserName}: no approved or active request holds it (held by {string.Join(", ", dead)}).", cancellationToken);
                }
            }
            catch (Exception ex) when (ex is IamException or PermanentProvisioningException)
            {
                errors.Add($"{item.Kind} {item.Target} of {item.UserName}: {ex.Message}");
                LogFailed(_logger, account.Id, item.Target, ex);
            }
        }

        // 2. Generated policies under our path, tagged with their request.
        var client = _clients.For(account);
        var policies = await IamClientExtensions.ListAllAsync(marker => client.ListPoliciesAsync("Local", AwsProvisioner.GeneratedPolicyPath, marker, cancellationToken));
        foreach (var listed in policies)
        {
            try
            {
                var policy = await client.GetPolicyAsync(listed.Arn, cancellationToken);
                var requestId = policy.Tags.FirstOrDefault(t => t.Key == AwsProvisioner.RequestIdTag)?.Value;
                var item = new ReconciledItem(ReconciledKinds.GeneratedPolicy, null, policy.Arn, requestId is null ? [] : [requestId]);
                found.Add(item);
                if (requestId is null || await IsLiveAsync(requestId))
                {
                    continue; // not ours to judge, or still explained
                }

                await _provisioner.RemoveGeneratedPolicyAsync(account, policy.Arn, cancellationToken);
                removed.Add(item);
                await AuditAsync(account, "reconcile.removed", $"Deleted generated policy {policy.Arn}: request {requestId} is no longer approved or active.", cancellationToken);
            }
            catch (IamException ex) when (ex.IsNoSuchEntity)
            {
                // Deleted between the listing and now: nothing left to reconcile.
            }
            catch (Exception ex) when (ex is IamException or PermanentProvisioningException)
            {
                errors.Add($"{listed.Arn}: {ex.Message}");
                LogFailed(_logger, account.Id, listed.Arn, ex);
            }
        }

        LogReconciled(_logger, account.Id, found.Count, removed.Count, errors.Count);
        return new ReconciliationReport(account.Id, startedAt, found, removed, errors);
    }

    private Task AuditAsync(AccountConfig account, string type, string detail, CancellationToken cancellationToken)
    {
        var at = _time.GetUtcNow();
        return _audit.AppendAsync(new AuditEvent(Guid.NewGuid().ToString("N"), $"account:{account.Id}", at, type, "system", "system", detail), cancellationToken);
    }

    private static string KindOf(string permission) => permission[..Math.Max(0, permission.IndexOf(':', StringComparison.Ordinal))];

    private static string TargetOf(string permission) => permission[(permission.IndexOf(':', StringComparison.Ordinal) + 1)..];

    /// <summary>The access a ledger key stands for; null for generated policies, which step 2 reconciles.</summary>
    private static AccessSpec? AccessOf(string permission) => KindOf(permission) switch
    {
        "policy" => AccessSpec.Policy(TargetOf(permission)),
        "group" => AccessSpec.Group(TargetOf(permission)),
        _ => null,
    };

    [LoggerMessage(EventId = 4131, Level = LogLevel.Information, Message = "Reconciled account {AccountId}: {Found} found, {Removed} removed, {Errors} errors")]
    private static partial void LogReconciled(ILogger logger, string accountId, int found, int removed, int errors);

    [LoggerMessage(EventId = 4132, Level = LogLevel.Error, Message = "Reconciling {Target} in account {AccountId} failed")]
    private static partial void LogFailed(ILogger logger, string accountId, string target, Exception exception);
}

public static class ReconciledKinds
{
    public const string GeneratedPolicy = "generated-policy";
}

/// <param name="Kind"><c>policy</c>, <c>group</c>, <c>resource-policy</c> (ledger) or <c>generated-policy</c> (IAM).</param>
/// <param name="UserName">The IAM user, where the finding is about one.</param>
/// <param name="Target">Policy ARN, group name or request id.</param>
/// <param name="RequestIds">The requests that hold or created it.</param>
public sealed record ReconciledItem(string Kind, string? UserName, string Target, IReadOnlyList<string> RequestIds);

/// <summary>What one sweep of an account found and removed.</summary>
public sealed record ReconciliationReport(string AccountId, DateTimeOffset At, IReadOnlyList<ReconciledItem> Found, IReadOnlyList<ReconciledItem> Removed, IReadOnlyList<string> Errors);
