using System.Diagnostics;
using System.Net;
using AccessWorkflows.Aws.Credentials;
using AccessWorkflows.Aws.Iam;
using AccessWorkflows.Aws.Json;
using AccessWorkflows.Concurrency;
using AccessWorkflows.Grants;
using AccessWorkflows.Rules;
using Amazon;
using Microsoft.Extensions.Logging;
using Polly;

namespace AccessWorkflows.Aws.IdentityCenter;

/// <summary>
/// Permission-set grants (SPEC 13): an account assignment of the permission set to the requester's Identity Center
/// user (found by <c>emails.value</c>) in the member account. Creation and deletion are asynchronous in AWS; this
/// class polls their status inside the activity, with growing pauses, until <c>SUCCEEDED</c> or <c>FAILED</c>, so the
/// workflow reports <c>active</c> only once the assignment is in place and <c>expired</c> only once it is gone.
/// A status still <c>IN_PROGRESS</c> after <see cref="AwsOptions.AssignmentTimeout"/> fails the attempt as transient;
/// the activity's durable retry runs it again, and both directions are idempotent (creating an assignment that exists
/// is a no-op in AWS, and removal first checks that the assignment is still there). Overlaps and standing access are
/// the grant ledger's business, as for IAM: this class never decides whether to remove, only how.
/// </summary>
public sealed partial class PermissionSetAssignments
{
    public const string SsoAdminHttpClient = "AccessWorkflows.Aws.SsoAdmin";

    /// <summary>How long a session deny outlives the longest session it targets (clock skew, IAM's propagation).</summary>
    public static readonly TimeSpan SessionDenySlack = TimeSpan.FromMinutes(5);

    private readonly AccessRules _rules;
    private readonly AwsOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lazy<IdentityCenterClient?> _client;

    /// <summary>The inline policy is one document per permission set, written whole: writes to it are serialized here
    /// (across processes, <see cref="EndSessionsAsync"/> reads it back after provisioning).</summary>
    private readonly KeyedLock<string> _policyLocks = new(StringComparer.Ordinal);

    public PermissionSetAssignments(AccessRules rules, IHttpClientFactory httpClients, IAwsCredentialProvider credentials, AwsEndpoints endpoints, AwsOptions options, TimeProvider time, ILogger<PermissionSetAssignments> logger)
    {
        _rules = rules;
        _options = options;
        _time = time;
        _logger = logger;
        _client = new Lazy<IdentityCenterClient?>(() =>
        {
            if (rules.IdentityCenter is not { } center)
            {
                return null;
            }

            var region = RegionEndpoint.GetBySystemName(center.Region);
            var suffix = AwsPartition.ForRegion(center.Region) == AwsPartition.China ? "amazonaws.com.cn" : "amazonaws.com";
            var retry = IamClientFactory.BuildRetryPipeline(options.Retry, logger);
            var account = center.AsAccount();
            var http = httpClients.CreateClient(SsoAdminHttpClient);
            return new IdentityCenterClient(
                new AwsJsonClient(http, endpoints.Configured("SSO_ADMIN") ?? new Uri($"https://sso.{center.Region}.{suffix}/"), region, "sso", IdentityCenterClient.SsoAdminTargetPrefix, ct => credentials.GetCredentialsAsync(account, ct), retry),
                new AwsJsonClient(http, endpoints.Configured("IDENTITYSTORE") ?? new Uri($"https://identitystore.{center.Region}.{suffix}/"), region, "identitystore", IdentityCenterClient.IdentityStoreTargetPrefix, ct => credentials.GetCredentialsAsync(account, ct), retry),
                center.InstanceArn,
                center.IdentityStoreId);
        });
    }

    private IdentityCenterClient Client => _client.Value
        ?? throw new PermanentProvisioningException("Permission-set access needs the IAM Identity Center named under 'identityCenter' in the rules file.");

    /// <summary>The Identity Center user id of the person with this email.</summary>
    public async Task<string> ResolveUserIdAsync(string email, CancellationToken cancellationToken)
    {
        return await Client.GetUserIdByEmailAsync(email, cancellationToken)
            ?? throw new PermanentProvisioningException($"No IAM Identity Center user has the email {email}.");
    }

    /// <summary>The Identity Center user name of a user id (CloudTrail names permission-set sessions by it).</summary>
    public Task<string> UserNameAsync(string userId, CancellationToken cancellationToken) => Client.DescribeUserNameAsync(userId, cancellationToken);

    /// <summary>Creates the assignment and waits until AWS reports it in place. Returns how long that took.</summary>
    public async Task<TimeSpan> AssignAsync(AccountConfig account, string userId, string permissionSetArn, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var operation = await Client.CreateAccountAssignmentAsync(account.Id, permissionSetArn, userId, cancellationToken);
        operation = await WaitAsync(operation, Client.DescribeAccountAssignmentCreationStatusAsync, cancellationToken);
        if (operation.Status == AssignmentOperation.Failed)
        {
            throw new PermanentProvisioningException($"IAM Identity Center could not assign {permissionSetArn} in account {account.Id}: {operation.FailureReason ?? "no reason given"}");
        }

        var latency = Stopwatch.GetElapsedTime(started);
        LogAssigned(_logger, permissionSetArn, account.Id, userId, latency.TotalMilliseconds);
        return latency;
    }

    /// <summary>Deletes the assignment when it exists and waits until AWS reports it gone. Idempotent.</summary>
    public async Task UnassignAsync(AccountConfig account, string userId, string permissionSetArn, CancellationToken cancellationToken)
    {
        if (!await HoldsAsync(account, userId, permissionSetArn, cancellationToken))
        {
            return;
        }

        var operation = await Client.DeleteAccountAssignmentAsync(account.Id, permissionSetArn, userId, cancellationToken);
        operation = await WaitAsync(operation, Client.DescribeAccountAssignmentDeletionStatusAsync, cancellationToken);
        if (operation.Status == AssignmentOperation.Failed)
        {
            // Revocation must not give up: a failed deletion is retried by the workflow, alerting admins each round.
            throw new IamException("AssignmentDeletionFailed", $"IAM Identity Center could not delete the assignment of {permissionSetArn} in account {account.Id}: {operation.FailureReason ?? "no reason given"}", HttpStatusCode.ServiceUnavailable);
        }

        LogUnassigned(_logger, permissionSetArn, account.Id, userId);
    }

    /// <summary>
    /// Ends the role sessions of the permission set that the user obtained in the account before now: writes
    /// <see cref="SessionDenyPolicy"/>'s deny into the permission set's inline policy (keeping every statement it did
    /// not write), provisions the permission set to the account and waits until AWS reports that done, then reads the
    /// policy again to make sure no concurrent writer dropped the deny. Call it only after the assignment is gone:
    /// sessions issued after the cutoff are not denied. Idempotent; a repeat moves the cutoff later, which denies
    /// nothing the user still holds.
    /// </summary>
    /// <returns>Whether the deny is in force, and when it lapses; not ended (with AWS's reason) when the policy would
    /// exceed IAM's size limit or the provisioning ends <c>FAILED</c>. AWS's refusals surface as
    /// <see cref="IamException"/> (transient ones are retried by the activity, permanent ones mean not ended).</returns>
    public async Task<SessionRevocation> EndSessionsAsync(AccountConfig account, string userId, string permissionSetArn, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var now = _time.GetUtcNow();
        var cutoff = SessionDenyPolicy.CutoffAfter(now);
        if (!(await Client.ListPermissionSetsProvisionedToAccountAsync(account.Id, cancellationToken)).Contains(permissionSetArn, StringComparer.Ordinal))
        {
            // No role of the permission set in the account (never provisioned there, as after an assignment that failed,
            // or removed with its last assignment): no session of it can be left, and provisioning would create the role.
            return new SessionRevocation(true, cutoff, cutoff, Stopwatch.GetElapsedTime(started), null) { NoRole = true };
        }

        var info = await Client.DescribePermissionSetAsync(permissionSetArn, cancellationToken);
        var lapsesAt = cutoff + SessionDuration(info.SessionDuration) + SessionDenySlack;
        using (await _policyLocks.AcquireAsync(permissionSetArn, cancellationToken))
        {
            string updated;
            try
            {
                updated = SessionDenyPolicy.WithDeny(await Client.GetInlinePolicyAsync(permissionSetArn, cancellationToken), account.Id, userId, cutoff, lapsesAt, now);
            }
            catch (FormatException ex)
            {
                return SessionRevocation.NotEnded(cutoff, ex.Message);
            }

            if (updated.Length > SessionDenyPolicy.MaxLength)
            {
                return SessionRevocation.NotEnded(cutoff, $"the inline policy of {info.Name} would exceed IAM's {SessionDenyPolicy.MaxLength} characters for a role with the deny added");
            }

            await Client.PutInlinePolicyAsync(permissionSetArn, updated, cancellationToken);
            var operation = await WaitAsync(await Client.ProvisionToAccountAsync(permissionSetArn, account.Id, cancellationToken), Client.DescribeProvisioningStatusAsync, cancellationToken);
            if (operation.Status == AssignmentOperation.Failed)
            {
                return SessionRevocation.NotEnded(cutoff, $"IAM Identity Center could not provision {info.Name} to account {account.Id}: {operation.FailureReason ?? "no reason given"}");
            }

            if (!SessionDenyPolicy.Denies(await Client.GetInlinePolicyAsync(permissionSetArn, cancellationToken), account.Id, userId, cutoff))
            {
                // Another writer replaced the document between our write and now: the activity runs again.
                throw new IamException(IamErrorCodes.ConcurrentModification, $"The inline policy of {permissionSetArn} changed while the session deny was being provisioned.", HttpStatusCode.Conflict);
            }
        }

        var inForceAfter = Stopwatch.GetElapsedTime(started);
        LogSessionsEnded(_logger, permissionSetArn, account.Id, userId, cutoff, lapsesAt);
        return new SessionRevocation(true, cutoff, lapsesAt, inForceAfter, null);
    }

    /// <summary>Removes the account's session denies of ours that have lapsed from the inline policy of each of
    /// <paramref name="grantable"/> (<see cref="GrantableInAsync"/>: the permission sets the rules grant there), deleting
    /// the inline policy when nothing else was in it, and provisions the permission set to the account again where it
    /// has a role there (never creating one). Housekeeping: a lapsed deny already has no effect. Returns how many
    /// permission sets were changed.</summary>
    public async Task<int> RemoveLapsedSessionDeniesAsync(AccountConfig account, IReadOnlyList<string> grantable, CancellationToken cancellationToken)
    {
        if (_client.Value is not { } client || grantable.Count == 0)
        {
            return 0;
        }

        var removed = 0;
        var provisioned = await client.ListPermissionSetsProvisionedToAccountAsync(account.Id, cancellationToken);
        foreach (var permissionSet in grantable)
        {
            using (await _policyLocks.AcquireAsync(permissionSet, cancellationToken))
            {
                var current = await client.GetInlinePolicyAsync(permissionSet, cancellationToken);
                string? kept;
                try
                {
                    kept = SessionDenyPolicy.WithoutLapsed(current, account.Id, _time.GetUtcNow());
                }
                catch (FormatException)
                {
                    continue;
                }

                if (kept is null)
                {
                    continue;
                }

                await (kept.Length == 0 ? client.DeleteInlinePolicyAsync(permissionSet, cancellationToken) : client.PutInlinePolicyAsync(permissionSet, kept, cancellationToken));
                if (provisioned.Contains(permissionSet, StringComparer.Ordinal))
                {
                    await WaitAsync(await client.ProvisionToAccountAsync(permissionSet, account.Id, cancellationToken), client.DescribeProvisioningStatusAsync, cancellationToken);
                }

                removed++;
            }
        }

        return removed;
    }

    /// <summary>The permission sets of the instance that some rule can grant in the account (the rest is not ours to
    /// judge); empty when no rule grants any there or no Identity Center is configured. One listing serves a sweep's
    /// inventory and its housekeeping.</summary>
    public async Task<IReadOnlyList<string>> GrantableInAsync(AccountConfig account, CancellationToken cancellationToken)
    {
        var globs = _rules.Rules.Where(r => r.Accounts.Contains(account.Id)).SelectMany(r => r.PermissionSets).ToList();
        return globs.Count == 0 || _client.Value is not { } client ? [] : [.. (await client.ListPermissionSetsAsync(cancellationToken)).Where(p => Glob.AnyMatch(globs, p))];
    }

    /// <summary>How long a role session of a permission set lasts: its <c>SessionDuration</c> (ISO 8601, PT1H when
    /// absent), never taken as less than an hour or more than AWS's maximum of twelve.</summary>
    private static TimeSpan SessionDuration(string? iso)
    {
        TimeSpan duration;
        try
        {
            duration = iso is null ? TimeSpan.FromHours(1) : System.Xml.XmlConvert.ToTimeSpan(iso);
        }
        catch (FormatException)
        {
            duration = TimeSpan.FromHours(12);
        }

        return TimeSpan.FromTicks(Math.Clamp(duration.Ticks, TimeSpan.TicksPerHour, 12 * TimeSpan.TicksPerHour));
    }

    public async Task<bool> HoldsAsync(AccountConfig account, string userId, string permissionSetArn, CancellationToken cancellationToken)
    {
        var assignments = await Client.ListAccountAssignmentsAsync(account.Id, permissionSetArn, cancellationToken);
        return assignments.Any(a => a.PrincipalType == "USER" && a.PrincipalId == userId);
    }

    /// <summary>The user assignments, in the account, of each of <paramref name="grantable"/> (<see cref="GrantableInAsync"/>:
    /// the permission sets some rule can grant there; the rest is not ours to judge).</summary>
    public async Task<IReadOnlyList<UserHoldings>> InventoryAsync(AccountConfig account, IReadOnlyList<string> grantable, CancellationToken cancellationToken)
    {
        var byUser = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var permissionSet in grantable)
        {
            foreach (var assignment in await Client.ListAccountAssignmentsAsync(account.Id, permissionSet, cancellationToken))
            {
                if (assignment.PrincipalType == "USER")
                {
                    (byUser.TryGetValue(assignment.PrincipalId, out var list) ? list : byUser[assignment.PrincipalId] = []).Add(permissionSet);
                }
            }
        }

        return [.. byUser.Select(u => new UserHoldings(u.Key, [], []) { PermissionSets = u.Value })];
    }

    /// <summary>Every permission set of the instance (autocomplete); empty without an Identity Center.</summary>
    public async Task<IReadOnlyList<string>> ListPermissionSetArnsAsync(CancellationToken cancellationToken) =>
        _client.Value is { } client ? [.. (await client.ListPermissionSetsAsync(cancellationToken)).Order(StringComparer.Ordinal)] : [];

    /// <summary>Polls until the operation leaves IN_PROGRESS, pausing <see cref="AwsOptions.AssignmentPollInterval"/>
    /// first and doubling up to eight times that; throws a transient error past <see cref="AwsOptions.AssignmentTimeout"/>.</summary>
    private async Task<AssignmentOperation> WaitAsync(AssignmentOperation operation, Func<string, CancellationToken, Task<AssignmentOperation>> describe, CancellationToken cancellationToken)
    {
        var deadline = _time.GetUtcNow() + _options.AssignmentTimeout;
        var pause = _options.AssignmentPollInterval;
        while (operation.Status == AssignmentOperation.InProgress)
        {
            if (_time.GetUtcNow() >= deadline)
            {
                throw new IamException("AssignmentInProgress", $"IAM Identity Center request {operation.RequestId} is still in progress after {_options.AssignmentTimeout}.", HttpStatusCode.ServiceUnavailable);
            }

            await Task.Delay(pause, _time, cancellationToken);
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, _options.AssignmentPollInterval.Ticks * 8));
            operation = await describe(operation.RequestId, cancellationToken);
        }

        return operation;
    }

    [LoggerMessage(EventId = 4131, Level = LogLevel.Information, Message = "Assigned {PermissionSetArn} in account {AccountId} to Identity Center user {UserId}; in place after {LatencyMs} ms")]
    private static partial void LogAssigned(ILogger logger, string permissionSetArn, string accountId, string userId, double latencyMs);

    [LoggerMessage(EventId = 4134, Level = LogLevel.Information, Message = "Denied the sessions of {PermissionSetArn} that Identity Center user {UserId} obtained in account {AccountId} before {Cutoff}; the deny lapses at {LapsesAt}")]
    private static partial void LogSessionsEnded(ILogger logger, string permissionSetArn, string accountId, string userId, DateTimeOffset cutoff, DateTimeOffset lapsesAt);

    [LoggerMessage(EventId = 4132, Level = LogLevel.Information, Message = "Deleted the assignment of {PermissionSetArn} in account {AccountId} to Identity Center user {UserId}")]
    private static partial void LogUnassigned(ILogger logger, string permissionSetArn, string accountId, string userId);
}

/// <summary>What ending a user's permission-set sessions did.</summary>
/// <param name="Ended">Whether sessions issued before <paramref name="Cutoff"/> are now denied in the account.</param>
/// <param name="LapsesAt">When the deny stops applying (every session it targets has expired by then).</param>
/// <param name="InForceAfter">From the start of the step until AWS reported the provisioning done.</param>
/// <param name="Reason">Why not, when not ended.</param>
public sealed record SessionRevocation(bool Ended, DateTimeOffset Cutoff, DateTimeOffset LapsesAt, TimeSpan InForceAfter, string? Reason)
{
    /// <summary>The permission set has no role in the account, so there was no session to end.</summary>
    public bool NoRole { get; init; }

    public static SessionRevocation NotEnded(DateTimeOffset cutoff, string reason) => new(false, cutoff, cutoff, TimeSpan.Zero, reason);
}
