using System.Diagnostics;
using System.Net;
using AccessWorkflows.Aws.Credentials;
using AccessWorkflows.Aws.Iam;
using AccessWorkflows.Aws.Json;
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

    private readonly AccessRules _rules;
    private readonly AwsOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lazy<IdentityCenterClient?> _client;

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

    public async Task<bool> HoldsAsync(AccountConfig account, string userId, string permissionSetArn, CancellationToken cancellationToken)
    {
        var assignments = await Client.ListAccountAssignmentsAsync(account.Id, permissionSetArn, cancellationToken);
        return assignments.Any(a => a.PrincipalType == "USER" && a.PrincipalId == userId);
    }

    /// <summary>The user assignments, in the account, of every permission set some rule can grant there (the rest is
    /// not ours to judge). Empty when no Identity Center is configured.</summary>
    public async Task<IReadOnlyList<UserHoldings>> InventoryAsync(AccountConfig account, CancellationToken cancellationToken)
    {
        if (_client.Value is null)
        {
            return [];
        }

        var globs = _rules.Rules.Where(r => r.Accounts.Contains(account.Id)).SelectMany(r => r.PermissionSets).ToList();
        if (globs.Count == 0)
        {
            return [];
        }

        var byUser = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var permissionSet in (await Client.ListPermissionSetsAsync(cancellationToken)).Where(p => Glob.AnyMatch(globs, p)))
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

    [LoggerMessage(EventId = 4132, Level = LogLevel.Information, Message = "Deleted the assignment of {PermissionSetArn} in account {AccountId} to Identity Center user {UserId}")]
    private static partial void LogUnassigned(ILogger logger, string permissionSetArn, string accountId, string userId);
}
