using System.Collections.Concurrent;
using AccessWorkflows.Rules;
using AccessWorkflows.Storage;
using AccessWorkflows.Workflow;
using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Grants;

/// <summary>
/// Grants and releases access so that overlapping grants never cut each other short (SPEC 6): the ledger counts
/// the requests holding each permission of each IAM user, and a permission comes off only when its last holder
/// lets go. Within this process, operations on one permission are serialized; across processes the ledger's
/// optimistic concurrency orders them, and a release re-checks the ledger after removing the permission and
/// puts it back if another grant arrived in between.
/// </summary>
public sealed class GrantService
{
    private readonly ConcurrentDictionary<GrantKey, SemaphoreSlim> _locks = new();

    private readonly AccessRules _rules;
    private readonly IProvisionerResolver _provisioners;
    private readonly IGrantLedger _ledger;
    private readonly ILogger<GrantService> _logger;

    public GrantService(AccessRules rules, IProvisionerResolver provisioners, IGrantLedger ledger, ILogger<GrantService> logger)
    {
        _rules = rules;
        _provisioners = provisioners;
        _ledger = ledger;
        _logger = logger;
    }

    /// <summary>Records the request as a holder, then applies the permission. Idempotent. Returns the IAM user name.</summary>
    public async Task<string> GrantAsync(GrantInput grant, CancellationToken cancellationToken = default)
    {
        var account = Account(grant.AccountId);
        var provisioner = _provisioners.For(account);
        var userName = grant.UserName ?? await provisioner.ResolveUserNameAsync(account, grant.Email, cancellationToken);
        var key = new GrantKey(account.Id, userName, grant.Access.PermissionKey(grant.RequestId));
        using (await LockAsync(key, cancellationToken))
        {
            var holders = await _ledger.AddHolderAsync(key, grant.RequestId, cancellationToken);
            await provisioner.ApplyAsync(account, userName, grant.Access, grant.RequestId, cancellationToken);
            Log.Granted(_logger, grant.RequestId, key.Permission, userName, account.Id, holders);
        }

        return userName;
    }

    /// <summary>Removes the request as a holder and, when it was the last, removes the permission. Idempotent; a
    /// person with no IAM user has nothing to release.</summary>
    public async Task ReleaseAsync(GrantInput grant, CancellationToken cancellationToken = default)
    {
        var account = Account(grant.AccountId);
        var provisioner = _provisioners.For(account);
        string userName;
        try
        {
            userName = grant.UserName ?? await provisioner.ResolveUserNameAsync(account, grant.Email, cancellationToken);
        }
        catch (PermanentProvisioningException)
        {
            return;
        }

        var key = new GrantKey(account.Id, userName, grant.Access.PermissionKey(grant.RequestId));
        using (await LockAsync(key, cancellationToken))
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
                    await provisioner.ApplyAsync(account, userName, grant.Access, grant.RequestId, cancellationToken);
                    removed = false;
                }
            }

            Log.Released(_logger, grant.RequestId, key.Permission, userName, account.Id, others, removed);
        }
    }

    private AccountConfig Account(string accountId) =>
        _rules.FindAccount(accountId) ?? throw new PermanentProvisioningException($"Account {accountId} is not in the rules file.");

    private async Task<IDisposable> LockAsync(GrantKey key, CancellationToken cancellationToken)
    {
        var gate = _locks.GetOrAdd(key, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        return new Releaser(gate);
    }

    private sealed class Releaser(SemaphoreSlim gate) : IDisposable
    {
        public void Dispose() => gate.Release();
    }
}
