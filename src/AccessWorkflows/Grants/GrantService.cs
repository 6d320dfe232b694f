using AccessWorkflows.Concurrency;
using AccessWorkflows.Requests;
using AccessWorkflows.Rules;
using AccessWorkflows.Storage;
using AccessWorkflows.Workflow;
using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Grants;

/// <summary>
/// Grants and releases access so that overlapping grants never cut each other short (SPEC 6) and standing access is
/// never taken away: the ledger counts the requests holding each permission of each IAM user, plus a
/// <see cref="GrantHolders.Standing"/> holder when the user already had the policy or group before any grant needed
/// it, and a permission comes off only when its last holder lets go — which standing access never does. Within this
/// process, operations on one permission are serialized; across processes the ledger's optimistic concurrency orders
/// them, and a release re-checks the ledger after removing the permission and puts it back if another grant arrived in
/// between.
/// </summary>
public sealed class GrantService
{
    /// <summary>How long after a grant's expiry its generated policy still allows (it is written at provisioning, a
    /// moment before the workflow fixes the expiry from the same duration; revocation normally comes first).</summary>
    public static readonly TimeSpan ExpiryConditionSlack = TimeSpan.FromMinutes(5);

    private readonly KeyedLock<GrantKey> _locks = new();

    private readonly AccessRules _rules;
    private readonly IProvisionerResolver _provisioners;
    private readonly IGrantLedger _ledger;
    private readonly IRequestStore _requests;
    private readonly IAuditLog _audit;
    private readonly TimeProvider _time;
    private readonly ILogger<GrantService> _logger;

    public GrantService(AccessRules rules, IProvisionerResolver provisioners, IGrantLedger ledger, IRequestStore requests, IAuditLog audit, TimeProvider time, ILogger<GrantService> logger)
    {
        _rules = rules;
        _provisioners = provisioners;
        _ledger = ledger;
        _requests = requests;
        _audit = audit;
        _time = time;
        _logger = logger;
    }

    /// <summary>Records standing access (what the user already held, when no grant of ours holds it), records the
    /// request as a holder, then applies the permission. Idempotent. Returns the IAM user name.</summary>
    public async Task<string> GrantAsync(GrantInput grant, CancellationToken cancellationToken = default)
    {
        var account = Account(grant.AccountId);
        var provisioner = _provisioners.For(account);
        var userName = grant.UserName ?? await provisioner.ResolvePrincipalAsync(account, grant.Email, grant.Access.Type, cancellationToken);
        var key = new GrantKey(account.Id, userName, grant.Access.PermissionKey(grant.RequestId));
        using (await _locks.AcquireAsync(key, cancellationToken))
        {
            var standing = await RecordStandingAccessAsync(provisioner, account, userName, grant.Access, key, cancellationToken);
            var holders = await _ledger.AddHolderAsync(key, grant.RequestId, cancellationToken);
            if (standing)
            {
                await AuditAsync(grant.RequestId, "grant.preexisting", $"{userName} already held {grant.Access.Describe()} in account {account.Id} before this grant; it is recorded as standing access and stays when the grant ends.", cancellationToken);
            }

            var notAfter = await NotAfterAsync(grant.RequestId, cancellationToken);
            var started = _time.GetTimestamp();
            await provisioner.ApplyAsync(account, userName, grant.Access, grant.RequestId, notAfter, cancellationToken);
            if (grant.Access.Type == AccessKind.PermissionSet)
            {
                // Identity Center assigns asynchronously; the apply returns once the assignment is in place, so this is
                // how long the requester waited on AWS (recorded once per request, on the attempt that succeeded).
                var latency = _time.GetElapsedTime(started);
                await AuditAsync(grant.RequestId, "grant.assigned", $"{grant.Access.Describe()} assigned to {userName} in account {account.Id}; in place after {latency.TotalSeconds.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture)} s.", cancellationToken);
            }
            if (standing)
            {
                GrantLog.StandingAccess(_logger, grant.RequestId, key.Permission, userName, account.Id);
            }

            Log.Granted(_logger, grant.RequestId, key.Permission, userName, account.Id, holders);
        }

        return userName;
    }

    /// <summary>Removes the request as a holder and, when it was the last, removes the permission. Standing access
    /// is a holder that never lets go, so it stays (and the audit says so). Idempotent; a person with no IAM user has
    /// nothing to release.</summary>
    public async Task ReleaseAsync(GrantInput grant, CancellationToken cancellationToken = default)
    {
        var account = Account(grant.AccountId);
        var provisioner = _provisioners.For(account);
        string userName;
        try
        {
            userName = grant.UserName ?? await provisioner.ResolvePrincipalAsync(account, grant.Email, grant.Access.Type, cancellationToken);
        }
        catch (PermanentProvisioningException)
        {
            return;
        }

        var key = new GrantKey(account.Id, userName, grant.Access.PermissionKey(grant.RequestId));
        using (await _locks.AcquireAsync(key, cancellationToken))
        {
            var others = await _ledger.RemoveHolderAsync(key, grant.RequestId, cancellationToken);
            var removed = false;
            if (others == 0)
            {
                await provisioner.RemoveAsync(account, userName, grant.Access, grant.RequestId, cancellationToken);
                removed = true;

                // Another process may have granted the same permission between our ledger update and the removal.
                if ((await _ledger.GetHoldersAsync(key, cancellationToken)).Count > 0)
                {
                    await provisioner.ApplyAsync(account, userName, grant.Access, grant.RequestId, cancellationToken: cancellationToken);
                    removed = false;
                }
            }
            else if ((await _ledger.GetHoldersAsync(key, cancellationToken)).SequenceEqual([GrantHolders.Standing]))
            {
                await AuditAsync(grant.RequestId, "grant.kept", $"{grant.Access.Describe()} stays on {userName} in account {account.Id}: it is standing access the user held before this grant.", cancellationToken);
            }

            Log.Released(_logger, grant.RequestId, key.Permission, userName, account.Id, others, removed);
        }
    }

    /// <summary>Moves the expiry written into the grant's generated policy after an extension. Idempotent.</summary>
    public async Task ExtendAsync(GrantInput grant, DateTimeOffset expiresAt, CancellationToken cancellationToken = default)
    {
        var account = Account(grant.AccountId);
        await _provisioners.For(account).ExtendAsync(account, grant.Access, grant.RequestId, expiresAt + ExpiryConditionSlack, cancellationToken);
    }

    /// <summary>When the request's grant ends, as far as the store knows now: its expiry once active, otherwise now
    /// plus the granted duration (provisioning runs just before the workflow fixes the expiry).</summary>
    public async Task<DateTimeOffset?> NotAfterAsync(string requestId, CancellationToken cancellationToken)
    {
        var request = await _requests.GetAsync(requestId, cancellationToken);
        if (request is null)
        {
            return null;
        }

        var end = request.ExpiresAt ?? _time.GetUtcNow() + (request.GrantedDuration ?? request.Duration);
        return end + ExpiryConditionSlack;
    }

    /// <summary>When no request of ours holds the permission, whatever the user holds now is standing access: record
    /// it (or forget a stale record, when a person has taken it away since). True when it is standing access.</summary>
    private async Task<bool> RecordStandingAccessAsync(IAccessProvisioner provisioner, AccountConfig account, string userName, AccessSpec access, GrantKey key, CancellationToken cancellationToken)
    {
        if (access.Type == AccessKind.Resource)
        {
            return false; // a generated policy is made for one request: nobody held it before
        }

        var holders = await _ledger.GetHoldersAsync(key, cancellationToken);
        if (holders.Any(GrantHolders.IsRequest))
        {
            // Ours is there already (a re-run, or an overlapping grant): what IAM shows may be our own attachment.
            return holders.Contains(GrantHolders.Standing);
        }

        if (await provisioner.HoldsAsync(account, userName, access, cancellationToken))
        {
            await _ledger.AddHolderAsync(key, GrantHolders.Standing, cancellationToken);
            return true;
        }

        if (holders.Contains(GrantHolders.Standing))
        {
            await _ledger.RemoveHolderAsync(key, GrantHolders.Standing, cancellationToken);
        }

        return false;
    }

    private Task AuditAsync(string requestId, string type, string detail, CancellationToken cancellationToken) =>

        // One event per request and kind: the activity may run again.
        _audit.AppendAsync(new AuditEvent($"{requestId}:{type}", requestId, _time.GetUtcNow(), type, Channels.System, Channels.System, detail), cancellationToken);

    private AccountConfig Account(string accountId) =>
        _rules.FindAccount(accountId) ?? throw new PermanentProvisioningException($"Account {accountId} is not in the rules file.");
}
