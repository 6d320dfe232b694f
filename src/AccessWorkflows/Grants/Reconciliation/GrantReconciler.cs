using System.Globalization;
using AccessWorkflows.Requests;
using AccessWorkflows.Rules;
using AccessWorkflows.Storage;
using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Grants.Reconciliation;

/// <summary>
/// The sweep of SPEC 6, the same for real AWS accounts and sandboxes: it compares what the account holds (the
/// provisioner's <see cref="AccountInventory"/>) with the grant ledger and the requests, and
/// <list type="bullet">
/// <item>removes what only dead requests (anything but approved or active) explain — ledger holders, attachments,
/// memberships, and this deployment's generated policies — with an <c>account.removed</c> event;</item>
/// <item>re-applies what an active grant should hold and does not (an attachment removed by hand), with an
/// <c>account.repair</c> event on the account and <c>grant.repaired</c> on the request, and keeps an active resource
/// grant's expiry condition at the recorded expiry;</item>
/// <item>reports as drift, and never touches, every attachment or membership of a policy or group the rules can
/// grant in the account that no live grant explains (attached by hand, by another tool, or standing access recorded
/// at a grant), with one <c>account.drift</c> event per finding per day.</item>
/// </list>
/// Standing access (<see cref="GrantHolders.Standing"/>) is never removed; its record is dropped once a person has
/// taken the access away, so a later grant does not mistake its own attachment for standing access.
/// </summary>
public sealed class GrantReconciler
{
    private readonly AccessRules _rules;
    private readonly IProvisionerResolver _provisioners;
    private readonly IGrantLedger _ledger;
    private readonly IRequestStore _requests;
    private readonly IAuditLog _audit;
    private readonly TimeProvider _time;
    private readonly ILogger<GrantReconciler> _logger;

    public GrantReconciler(AccessRules rules, IProvisionerResolver provisioners, IGrantLedger ledger, IRequestStore requests, IAuditLog audit, TimeProvider time, ILogger<GrantReconciler> logger)
    {
        _rules = rules;
        _provisioners = provisioners;
        _ledger = ledger;
        _requests = requests;
        _audit = audit;
        _time = time;
        _logger = logger;
    }

    /// <summary>A scheduled sweep of one account (the actor is <c>system</c>).</summary>
    public Task<ReconciliationReport> ReconcileAsync(AccountConfig account, CancellationToken cancellationToken = default) =>
        ReconcileAsync(account, Channels.System, Channels.System, cancellationToken);

    /// <summary>
    /// Sweeps one account now and records the run itself as <c>account.reconciled</c> (who asked, through which
    /// channel, and the counts), so that the account's audit tells when it was last reconciled even when the sweep
    /// found nothing. Findings are recorded as they are acted on, before that event.
    /// </summary>
    public async Task<ReconciliationReport> ReconcileAsync(AccountConfig account, string actor, string channel, CancellationToken cancellationToken = default)
    {
        var sweep = new Sweep(this, account, _provisioners.For(account), _time.GetUtcNow(), cancellationToken);
        await sweep.RunAsync();
        GrantLog.Reconciled(_logger, account.Id, sweep.Found.Count, sweep.Removed.Count, sweep.Repaired.Count, sweep.Drift.Count, sweep.Errors.Count);
        var summary = $"found {sweep.Found.Count}, removed {sweep.Removed.Count}, repaired {sweep.Repaired.Count}, drift {sweep.Drift.Count}, errors {sweep.Errors.Count}";
        await _audit.AppendAsync(new AuditEvent(Guid.NewGuid().ToString("N"), AccountAudit.Key(account.Id), _time.GetUtcNow(), AccountAudit.Reconciled, actor, channel, summary), cancellationToken);
        return new ReconciliationReport(account.Id, sweep.StartedAt, sweep.Found, sweep.Removed, sweep.Repaired, sweep.Drift, sweep.Errors);
    }

    private static bool IsLive(AccessRequest? request) => request is { Status: RequestStatus.Approved or RequestStatus.Active };

    /// <summary>Whether some rule for the account can grant this ledger permission (<c>policy:ARN</c>, <c>group:Name</c>).</summary>
    private bool RulesCanGrant(string accountId, string permission)
    {
        var target = ReconciledItem.TargetOf(permission);
        return ReconciledItem.KindOf(permission) switch
        {
            ReconciledKinds.Policy => _rules.Rules.Any(r => r.Accounts.Contains(accountId) && Glob.AnyMatch(r.Policies, target)),
            ReconciledKinds.Group => _rules.Rules.Any(r => r.Accounts.Contains(accountId) && Glob.AnyMatch(r.Groups, target)),
            ReconciledKinds.PermissionSet => _rules.Rules.Any(r => r.Accounts.Contains(accountId) && Glob.AnyMatch(r.PermissionSets, target)),
            _ => false,
        };
    }

    /// <summary>One sweep of one account; its findings accumulate here.</summary>
    private sealed class Sweep(GrantReconciler owner, AccountConfig account, IAccessProvisioner provisioner, DateTimeOffset startedAt, CancellationToken cancellationToken)
    {
        private readonly Dictionary<string, AccessRequest?> _requests = new(StringComparer.Ordinal);

        public DateTimeOffset StartedAt { get; } = startedAt;

        public List<ReconciledItem> Found { get; } = [];

        public List<ReconciledItem> Removed { get; } = [];

        public List<ReconciledItem> Repaired { get; } = [];

        public List<ReconciledItem> Drift { get; } = [];

        public List<string> Errors { get; } = [];

        public async Task RunAsync()
        {
            var inventory = await provisioner.InventoryAsync(account, cancellationToken);
            var users = inventory.Users.ToDictionary(u => u.UserName, StringComparer.OrdinalIgnoreCase);
            var explained = new HashSet<(string User, string Permission)>();

            foreach (var holding in await owner._ledger.ListAsync(account.Id, cancellationToken))
            {
                await ReconcileHoldingAsync(holding, users, explained);
            }

            foreach (var policy in inventory.GeneratedPolicies)
            {
                await ReconcileGeneratedPolicyAsync(policy);
            }

            foreach (var user in inventory.Users)
            {
                var held = user.AttachedPolicies.Where(p => !inventory.GeneratedPolicies.Any(g => g.Arn == p)).Select(p => $"{ReconciledKinds.Policy}:{p}")
                    .Concat(user.Groups.Select(g => $"{ReconciledKinds.Group}:{g}"))
                    .Concat(user.PermissionSets.Select(p => $"{ReconciledKinds.PermissionSet}:{p}"));
                foreach (var permission in held)
                {
                    if (!explained.Contains((user.UserName.ToLowerInvariant(), permission)) && owner.RulesCanGrant(account.Id, permission))
                    {
                        await ReportDriftAsync(user.UserName, permission);
                    }
                }
            }
        }

        private async Task ReconcileHoldingAsync(GrantHolding holding, Dictionary<string, UserHoldings> users, HashSet<(string, string)> explained)
        {
            var key = holding.Key;
            var requestIds = holding.RequestIds.Where(GrantHolders.IsRequest).ToList();
            var item = new ReconciledItem(ReconciledItem.KindOf(key.Permission), key.UserName, ReconciledItem.TargetOf(key.Permission), holding.RequestIds);
            Found.Add(item);
            try
            {
                var live = new List<AccessRequest>();
                var dead = new List<string>();
                foreach (var requestId in requestIds)
                {
                    var request = await RequestAsync(requestId);
                    if (IsLive(request))
                    {
                        live.Add(request!);
                    }
                    else
                    {
                        dead.Add(requestId);
                    }
                }

                var standing = holding.RequestIds.Contains(GrantHolders.Standing);

                // A user the inventory does not show (deleted, or outside the configured scope) says nothing about
                // what they hold: neither forget their standing access nor repair on that account.
                var known = users.ContainsKey(key.UserName);
                var held = Holds(users, key);
                foreach (var requestId in dead)
                {
                    await owner._ledger.RemoveHolderAsync(key, requestId, cancellationToken);
                }

                if (standing && known && !held)
                {
                    // A person took the standing access away: forget it, so what a live grant re-applies below, or a
                    // later grant applies, is revoked normally when that grant ends.
                    await owner._ledger.RemoveHolderAsync(key, GrantHolders.Standing, cancellationToken);
                    standing = false;
                }

                if (live.Count > 0)
                {
                    explained.Add((key.UserName.ToLowerInvariant(), key.Permission));
                    var active = live.FirstOrDefault(r => r.Status == RequestStatus.Active);
                    if (known && !held && active is not null)
                    {
                        await RepairAsync(key, active, item);
                    }
                    else if (active is { ExpiresAt: { } expires } && ReconciledItem.KindOf(key.Permission) == ReconciledKinds.ResourcePolicy)
                    {
                        // Keep the generated policy's own end in step with the recorded expiry (an extension, or a
                        // provisioning that took longer than the slack). No change when it already is.
                        await provisioner.ExtendAsync(account, active.Access, active.Id, expires + GrantService.ExpiryConditionSlack, cancellationToken);
                    }

                    return;
                }

                if (dead.Count == 0 || standing || ReconciledItem.AccessOf(key.Permission) is not { } access)
                {
                    return; // nothing to remove: standing access stays, and generated policies are judged below
                }

                if ((await owner._ledger.GetHoldersAsync(key, cancellationToken)).Count > 0)
                {
                    return; // a grant arrived meanwhile
                }

                await provisioner.RemoveAsync(account, key.UserName, access, dead[0], cancellationToken);
                if ((await owner._ledger.GetHoldersAsync(key, cancellationToken)) is { Count: > 0 } arrived)
                {
                    // A grant arrived during the removal: put it back for that holder.
                    await provisioner.ApplyAsync(account, key.UserName, access, arrived[0], cancellationToken: cancellationToken);
                    return;
                }

                Removed.Add(item with { RequestIds = dead });
                explained.Add((key.UserName.ToLowerInvariant(), key.Permission)); // gone now: not drift
                await AuditAsync(
                    Guid.NewGuid().ToString("N"),
                    AccountAudit.Removed,
                    $"Removed {item.Kind} {item.Target} from {item.UserName}: no approved or active request holds it (held by {string.Join(", ", dead)}).");
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Fail($"{item.Kind} {item.Target} of {item.UserName}", ex);
            }
        }

        private async Task RepairAsync(GrantKey key, AccessRequest active, ReconciledItem item)
        {
            var notAfter = active.ExpiresAt is { } expires ? expires + GrantService.ExpiryConditionSlack : (DateTimeOffset?)null;
            await provisioner.ApplyAsync(account, key.UserName, active.Access, active.Id, notAfter, cancellationToken);
            Repaired.Add(item with { RequestIds = [active.Id] });
            var detail = $"Re-applied {active.Access.Describe()} to {key.UserName}: request {active.Id} is active until {active.ExpiresAt:O}, and the account no longer held it (removed outside AccessWorkflows).";
            await AuditAsync(Guid.NewGuid().ToString("N"), AccountAudit.Repair, detail);
            await owner._audit.AppendAsync(new AuditEvent(Guid.NewGuid().ToString("N"), active.Id, owner._time.GetUtcNow(), "grant.repaired", Channels.System, Channels.System, detail), cancellationToken);
        }

        private async Task ReconcileGeneratedPolicyAsync(GeneratedPolicyInfo policy)
        {
            var item = new ReconciledItem(ReconciledKinds.GeneratedPolicy, null, policy.Arn, policy.RequestId is null ? [] : [policy.RequestId]);
            Found.Add(item);
            try
            {
                if (policy.RequestId is null || IsLive(await RequestAsync(policy.RequestId)))
                {
                    return; // not ours to judge, or still explained
                }

                await provisioner.RemoveGeneratedPolicyAsync(account, policy, cancellationToken);
                Removed.Add(item);
                await AuditAsync(Guid.NewGuid().ToString("N"), AccountAudit.Removed, $"Deleted generated policy {policy.Arn}: request {policy.RequestId} is no longer approved or active.");
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Fail(policy.Arn, ex);
            }
        }

        private async Task ReportDriftAsync(string userName, string permission)
        {
            var holders = await owner._ledger.GetHoldersAsync(new GrantKey(account.Id, userName, permission), cancellationToken);
            var item = new ReconciledItem(ReconciledItem.KindOf(permission), userName, ReconciledItem.TargetOf(permission), holders);
            Drift.Add(item);
            GrantLog.Drift(owner._logger, account.Id, userName, permission);
            var why = holders.Contains(GrantHolders.Standing)
                ? "it was recorded as standing access when a grant found it already there"
                : "it was attached outside AccessWorkflows";
            var day = StartedAt.UtcDateTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture);

            // One event per finding per day: a sweep every hour must not bury the log in repeats.
            await AuditAsync(
                $"account:{account.Id}:drift:{day}:{userName}:{permission}",
                AccountAudit.Drift,
                $"{userName} holds {item.Kind} {item.Target}, which the rules grant just in time, and no approved or active request explains it ({why}). Left in place.");
        }

        private bool Holds(Dictionary<string, UserHoldings> users, GrantKey key)
        {
            if (!users.TryGetValue(key.UserName, out var user))
            {
                return false;
            }

            var target = ReconciledItem.TargetOf(key.Permission);
            return ReconciledItem.KindOf(key.Permission) switch
            {
                ReconciledKinds.Policy => user.AttachedPolicies.Contains(target, StringComparer.Ordinal),
                ReconciledKinds.Group => user.Groups.Contains(target, StringComparer.Ordinal),
                ReconciledKinds.PermissionSet => user.PermissionSets.Contains(target, StringComparer.Ordinal),

                // resource-policy:<request id>: the generated policy of that request is attached.
                _ => user.AttachedPolicies.Any(p => p.EndsWith("/access-workflows-" + target, StringComparison.Ordinal)),
            };
        }

        private async Task<AccessRequest?> RequestAsync(string requestId)
        {
            if (!_requests.TryGetValue(requestId, out var request))
            {
                request = await owner._requests.GetAsync(requestId, cancellationToken);
                _requests[requestId] = request;
            }

            return request;
        }

        private Task AuditAsync(string id, string type, string detail) =>
            owner._audit.AppendAsync(new AuditEvent(id, AccountAudit.Key(account.Id), owner._time.GetUtcNow(), type, Channels.System, Channels.System, detail), cancellationToken);

        private void Fail(string target, Exception ex)
        {
            Errors.Add($"{target}: {ex.Message}");
            GrantLog.ReconcileFailed(owner._logger, account.Id, target, ex);
        }
    }
}

/// <summary>The audit of an account (reconciliation): its events are stored under <see cref="Key"/> and served by
/// <c>GET /api/accounts/{accountId}/audit</c>.</summary>
public static class AccountAudit
{
    /// <summary>Something only dead requests explained was removed.</summary>
    public const string Removed = "account.removed";

    /// <summary>An active grant's attachment was missing and was re-applied.</summary>
    public const string Repair = "account.repair";

    /// <summary>Something the rules grant just in time is held without a live grant; reported, not touched.</summary>
    public const string Drift = "account.drift";

    /// <summary>A sweep ran: <c>found N, removed N, repaired N, drift N, errors N</c>, by <c>system</c> or the admin who asked.</summary>
    public const string Reconciled = "account.reconciled";

    public static string Key(string accountId) => $"account:{accountId}";
}

public static class ReconciledKinds
{
    public const string Policy = "policy";
    public const string Group = "group";
    public const string ResourcePolicy = "resource-policy";
    public const string GeneratedPolicy = "generated-policy";

    /// <summary>An IAM Identity Center account assignment (ledger key <c>permission-set:ARN</c>, user = Identity Center
    /// user id in real accounts).</summary>
    public const string PermissionSet = "permission-set";
}

/// <param name="Kind"><c>policy</c>, <c>group</c>, <c>resource-policy</c>, <c>permission-set</c> (ledger) or
/// <c>generated-policy</c> (IAM).</param>
/// <param name="UserName">The IAM user, where the finding is about one.</param>
/// <param name="Target">Policy ARN, group name or request id.</param>
/// <param name="RequestIds">The holders (request ids, or <c>~standing</c>) or the request that created it.</param>
public sealed record ReconciledItem(string Kind, string? UserName, string Target, IReadOnlyList<string> RequestIds)
{
    internal static string KindOf(string permission) => permission[..Math.Max(0, permission.IndexOf(':', StringComparison.Ordinal))];

    internal static string TargetOf(string permission) => permission[(permission.IndexOf(':', StringComparison.Ordinal) + 1)..];

    /// <summary>The access a ledger key stands for; null for generated policies, which are judged by their tag.</summary>
    internal static AccessSpec? AccessOf(string permission) => KindOf(permission) switch
    {
        ReconciledKinds.Policy => AccessSpec.Policy(TargetOf(permission)),
        ReconciledKinds.Group => AccessSpec.Group(TargetOf(permission)),
        ReconciledKinds.PermissionSet => AccessSpec.PermissionSet(TargetOf(permission)),
        _ => null,
    };
}

/// <summary>What one sweep of an account found, removed, repaired and reported as drift.</summary>
public sealed record ReconciliationReport(
    string AccountId,
    DateTimeOffset At,
    IReadOnlyList<ReconciledItem> Found,
    IReadOnlyList<ReconciledItem> Removed,
    IReadOnlyList<ReconciledItem> Repaired,
    IReadOnlyList<ReconciledItem> Drift,
    IReadOnlyList<string> Errors);
