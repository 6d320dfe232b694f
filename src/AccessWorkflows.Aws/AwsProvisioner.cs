using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AccessWorkflows.Aws.Iam;
using AccessWorkflows.Aws.IdentityCenter;
using AccessWorkflows.Aws.Policies;
using AccessWorkflows.Grants;
using AccessWorkflows.Requests;
using AccessWorkflows.Rules;
using AccessWorkflows.Storage;
using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Aws;

/// <summary>
/// Grants and removes access in a real AWS account through IAM (SPEC 9). Every method is safe to repeat: attaching
/// what is attached and adding a member twice are no-ops in IAM, removing what is gone (NoSuchEntity) counts as done,
/// and creating a generated policy that exists already (EntityAlreadyExists) adopts it when it is this request's.
/// Transient failures are retried inside the IAM client; what cannot succeed by retrying becomes a
/// <see cref="PermanentProvisioningException"/> with a message a person can act on.
/// </summary>
public sealed partial class AwsProvisioner : IAccessProvisioner
{
    public const string GeneratedPolicyPath = "/access-workflows/";
    public const string GeneratedPolicyPrefix = "access-workflows-";
    public const string RequestIdTag = "access-workflows:request-id";
    public const string DeploymentIdTag = "access-workflows:deployment-id";

    /// <summary>Attempts to attach a policy we just created while IAM's eventual consistency still hides it.</summary>
    private const int ConsistencyAttempts = 5;

    private readonly IIamClientFactory _clients;
    private readonly PermissionSetAssignments _permissionSets;
    private readonly IamUserResolver _users;
    private readonly ResourcePolicyGenerator _generator;
    private readonly AwsOptions _options;
    private readonly IAuditLog _audit;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public AwsProvisioner(IIamClientFactory clients, PermissionSetAssignments permissionSets, IamUserResolver users, ResourcePolicyGenerator generator, AwsOptions options, IAuditLog audit, TimeProvider time, ILogger<AwsProvisioner> logger)
    {
        _clients = clients;
        _permissionSets = permissionSets;
        _users = users;
        _generator = generator;
        _options = options;
        _audit = audit;
        _time = time;
        _logger = logger;
    }

    public Task<string> ResolveUserNameAsync(AccountConfig account, string email, CancellationToken cancellationToken = default) =>
        _users.ResolveAsync(account, email, cancellationToken);

    /// <summary>The IAM user name, or for permission sets the Identity Center user id found by email.</summary>
    public async Task<string> ResolvePrincipalAsync(AccountConfig account, string email, AccessKind kind, CancellationToken cancellationToken = default)
    {
        if (kind != AccessKind.PermissionSet)
        {
            return await ResolveUserNameAsync(account, email, cancellationToken);
        }

        try
        {
            return await _permissionSets.ResolveUserIdAsync(email, cancellationToken);
        }
        catch (IamException ex) when (!ex.IsTransient)
        {
            throw new PermanentProvisioningException($"IAM Identity Center refused to look up {email} ({ex.Code}): {ex.ServiceMessage}", ex);
        }
    }

    public async Task ApplyAsync(AccountConfig account, string userName, AccessSpec access, string requestId, DateTimeOffset? notAfter = null, CancellationToken cancellationToken = default)
    {
        Validate(access);
        if (access.Type == AccessKind.PermissionSet)
        {
            await PermissionSetAsync(() => _permissionSets.AssignAsync(account, userName, access.PermissionSetArn!, cancellationToken), account, userName, access, "grant");
            return;
        }

        var client = _clients.For(account);
        try
        {
            switch (access.Type)
            {
                case AccessKind.Policy:
                    await client.AttachUserPolicyAsync(userName, access.PolicyArn!, cancellationToken);
                    break;
                case AccessKind.Group:
                    await client.AddUserToGroupAsync(access.GroupName!, userName, cancellationToken);
                    break;
                case AccessKind.Resource:
                    await ApplyResourceAsync(client, account, userName, access, requestId, notAfter, cancellationToken);
                    break;
            }

            LogApplied(_logger, access.Type, account.Id, userName, requestId);
        }
        catch (IamException ex) when (!ex.IsTransient)
        {
            throw Permanent(ex, account, userName, access, "grant");
        }
    }

    public async Task RemoveAsync(AccountConfig account, string userName, AccessSpec access, string requestId, CancellationToken cancellationToken = default)
    {
        Validate(access);
        if (access.Type == AccessKind.PermissionSet)
        {
            await PermissionSetAsync(() => _permissionSets.UnassignAsync(account, userName, access.PermissionSetArn!, cancellationToken), account, userName, access, "removal");
            await EndSessionsAsync(account, userName, access, requestId, cancellationToken);
            return;
        }

        var client = _clients.For(account);
        try
        {
            switch (access.Type)
            {
                case AccessKind.Policy:
                    await IgnoreMissing(client.DetachUserPolicyAsync(userName, access.PolicyArn!, cancellationToken));
                    break;
                case AccessKind.Group:
                    await IgnoreMissing(client.RemoveUserFromGroupAsync(access.GroupName!, userName, cancellationToken));
                    break;
                case AccessKind.Resource:
                    var policyArn = GeneratedPolicyArn(account, access, requestId);
                    await IgnoreMissing(client.DetachUserPolicyAsync(userName, policyArn, cancellationToken));
                    await DeleteGeneratedPolicyAsync(client, policyArn, cancellationToken);
                    break;
            }

            LogRemoved(_logger, access.Type, account.Id, userName, requestId);
        }
        catch (IamException ex) when (!ex.IsTransient)
        {
            throw Permanent(ex, account, userName, access, "removal");
        }
    }

    public async Task<bool> HoldsAsync(AccountConfig account, string userName, AccessSpec access, CancellationToken cancellationToken = default)
    {
        if (access.Type == AccessKind.Resource)
        {
            return false;
        }

        Validate(access);
        if (access.Type == AccessKind.PermissionSet)
        {
            var held = false;
            await PermissionSetAsync(async () => held = await _permissionSets.HoldsAsync(account, userName, access.PermissionSetArn!, cancellationToken), account, userName, access, "check");
            return held;
        }

        var client = _clients.For(account);
        try
        {
            if (access.Type == AccessKind.Group)
            {
                var groups = await IamClientExtensions.ListAllAsync(marker => client.ListGroupsForUserAsync(userName, marker, cancellationToken));
                return groups.Any(g => string.Equals(g.GroupName, access.GroupName, StringComparison.OrdinalIgnoreCase));
            }

            var attached = await IamClientExtensions.ListAllAsync(marker => client.ListAttachedUserPoliciesAsync(userName, marker, cancellationToken));
            return attached.Any(p => p.PolicyArn == access.PolicyArn);
        }
        catch (IamException ex) when (!ex.IsTransient)
        {
            throw Permanent(ex, account, userName, access, "check");
        }
    }

    /// <summary>Writes the new expiry into the request's generated policy: a new default version with every
    /// statement's <c>DateLessThan aws:CurrentTime</c> moved, then the older versions deleted (IAM keeps five).</summary>
    public async Task ExtendAsync(AccountConfig account, AccessSpec access, string requestId, DateTimeOffset notAfter, CancellationToken cancellationToken = default)
    {
        if (access.Type != AccessKind.Resource)
        {
            return;
        }

        var client = _clients.For(account);
        var policyArn = GeneratedPolicyArn(account, access, requestId);
        try
        {
            var policy = await client.GetPolicyAsync(policyArn, cancellationToken);
            if (!IsOurs(policy, requestId) || policy.DefaultVersionId is null)
            {
                throw new PermanentProvisioningException($"{policyArn} was not created for request {requestId} by this deployment; refusing to change it.");
            }

            var current = await client.GetPolicyVersionAsync(policyArn, policy.DefaultVersionId, cancellationToken);
            var document = JsonNode.Parse(current.Document!)!.AsObject();
            var until = ResourcePolicyGenerator.FormatTime(notAfter);
            var changed = false;
            foreach (var statement in document["Statement"]!.AsArray().OfType<JsonObject>())
            {
                if (statement["Condition"]?["DateLessThan"]?["aws:CurrentTime"]?.GetValue<string>() != until)
                {
                    statement["Condition"] = new JsonObject { ["DateLessThan"] = new JsonObject { ["aws:CurrentTime"] = until } };
                    changed = true;
                }
            }

            if (changed)
            {
                await client.CreatePolicyVersionAsync(policyArn, document.ToJsonString(), setAsDefault: true, cancellationToken);
            }

            foreach (var version in (await client.ListPolicyVersionsAsync(policyArn, cancellationToken)).Where(v => !v.IsDefaultVersion))
            {
                await IgnoreMissing(client.DeletePolicyVersionAsync(policyArn, version.VersionId, cancellationToken));
            }
        }
        catch (IamException ex) when (ex.IsNoSuchEntity)
        {
            // The grant ended meanwhile: nothing to extend.
        }
        catch (IamException ex) when (!ex.IsTransient)
        {
            throw Permanent(ex, account, "-", access, "extension");
        }
    }

    /// <summary>The users in scope (<see cref="AwsOptions.UserPath"/>, <see cref="AwsOptions.UserTag"/>) with their
    /// managed policies and groups, and the generated policies under <c>/access-workflows/</c> that carry this
    /// deployment's id (or, for the default deployment only, no deployment id: made before deployments were tagged).</summary>
    public async Task<AccountInventory> InventoryAsync(AccountConfig account, CancellationToken cancellationToken = default)
    {
        var client = _clients.For(account);
        var pathPrefix = _options.UserPath == "/" ? null : _options.UserPath;
        var requiredTag = _options.UserTag is { Length: > 0 } tag ? AwsPartition.ParseTag(tag) : null;
        var users = new List<UserHoldings>();
        foreach (var user in await IamClientExtensions.ListAllAsync(marker => client.ListUsersAsync(marker, pathPrefix, cancellationToken)))
        {
            try
            {
                if (requiredTag is { } required)
                {
                    var tags = await IamClientExtensions.ListAllAsync(marker => client.ListUserTagsAsync(user.UserName, marker, cancellationToken));
                    if (!tags.Any(t => t.Key == required.Key && t.Value == required.Value))
                    {
                        continue;
                    }
                }

                var attached = await IamClientExtensions.ListAllAsync(marker => client.ListAttachedUserPoliciesAsync(user.UserName, marker, cancellationToken));
                var groups = await IamClientExtensions.ListAllAsync(marker => client.ListGroupsForUserAsync(user.UserName, marker, cancellationToken));
                users.Add(new UserHoldings(user.UserName, [.. attached.Select(p => p.PolicyArn)], [.. groups.Select(g => g.GroupName)]));
            }
            catch (IamException ex) when (ex.IsNoSuchEntity)
            {
                // Deleted between the listing and now.
            }
        }

        var generated = new List<GeneratedPolicyInfo>();
        foreach (var listed in await IamClientExtensions.ListAllAsync(marker => client.ListPoliciesAsync("Local", GeneratedPolicyPath, marker, cancellationToken)))
        {
            try
            {
                var policy = await client.GetPolicyAsync(listed.Arn, cancellationToken);
                var deployment = Tag(policy, DeploymentIdTag);
                if (deployment != _options.DeploymentId && !(deployment is null && _options.DeploymentId == AwsOptions.DefaultDeploymentId))
                {
                    continue; // another deployment's: never judged here
                }

                var attachedTo = await IamClientExtensions.ListAllAsync(marker => client.ListUsersForPolicyAsync(policy.Arn, marker, cancellationToken));
                generated.Add(new GeneratedPolicyInfo(policy.Arn, Tag(policy, RequestIdTag), attachedTo));
            }
            catch (IamException ex) when (ex.IsNoSuchEntity)
            {
                // Deleted between the listing and now.
            }
        }

        // Identity Center user assignments of the permission sets the rules grant here, keyed by Identity Center user id.
        var grantable = await _permissionSets.GrantableInAsync(account, cancellationToken);
        users.AddRange(await _permissionSets.InventoryAsync(account, grantable, cancellationToken));

        // The sweep is the periodic visit of each account, so the housekeeping of lapsed session denies rides on it; a
        // lapsed deny has no effect, so a failure here is only logged.
        try
        {
            await _permissionSets.RemoveLapsedSessionDeniesAsync(account, grantable, cancellationToken);
        }
        catch (IamException ex)
        {
            LogLapsedDeniesNotRemoved(_logger, account.Id, ex);
        }

        return new AccountInventory(users, generated);
    }

    /// <summary>Detaches a generated policy from every user and deletes it with its versions (reconciliation).</summary>
    public async Task RemoveGeneratedPolicyAsync(AccountConfig account, GeneratedPolicyInfo policy, CancellationToken cancellationToken = default)
    {
        var client = _clients.For(account);
        await DetachFromAllUsersAsync(client, policy.Arn, cancellationToken);
        await DeleteGeneratedPolicyAsync(client, policy.Arn, cancellationToken);
    }

    /// <summary>The ARN of a request's generated policy; deterministic, so a repeat finds what an earlier run made.</summary>
    public static string GeneratedPolicyArn(AccountConfig account, AccessSpec access, string requestId)
    {
        if (!RequestIdRegex().IsMatch(requestId))
        {
            throw new PermanentProvisioningException("The request id cannot name an IAM policy.");
        }

        var partition = access.PolicyArn?.Split(':')[1] ?? "aws";
        return $"arn:{partition}:iam::{account.Id}:policy{GeneratedPolicyPath}{GeneratedPolicyPrefix}{requestId}";
    }

    private async Task ApplyResourceAsync(IIamClient client, AccountConfig account, string userName, AccessSpec access, string requestId, DateTimeOffset? notAfter, CancellationToken cancellationToken)
    {
        var policyArn = GeneratedPolicyArn(account, access, requestId);
        var resourceAccount = access.ResourceArn!.Split(':')[4];
        if (resourceAccount.Length > 0 && resourceAccount != account.Id)
        {
            throw new PermanentProvisioningException($"{access.ResourceArn} belongs to account {resourceAccount}, not to {account.Id}.");
        }

        var document = await GenerateDocumentAsync(client, access, notAfter, cancellationToken);
        try
        {
            await client.CreatePolicyAsync(
                GeneratedPolicyPrefix + requestId,
                GeneratedPolicyPath,
                document.Document,
                "Generated by AccessWorkflows for one request; removed when the request ends.",
                [new IamTag(RequestIdTag, requestId), new IamTag(DeploymentIdTag, _options.DeploymentId)],
                cancellationToken);
        }
        catch (IamException ex) when (ex.IsEntityAlreadyExists)
        {
            // An earlier run of this activity created it. Adopt it only if it carries this request's and deployment's tags.
            var existing = await client.GetPolicyAsync(policyArn, cancellationToken);
            if (!IsOurs(existing, requestId))
            {
                throw new PermanentProvisioningException($"{policyArn} exists but was not created for request {requestId} by this deployment; refusing to attach it.", ex);
            }
        }

        // IAM is eventually consistent: a policy created a moment ago may still be NoSuchEntity to AttachUserPolicy.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await client.AttachUserPolicyAsync(userName, policyArn, cancellationToken);
                return;
            }
            catch (IamException ex) when (ex.IsNoSuchEntity && attempt < ConsistencyAttempts)
            {
                await Task.Delay(_options.Retry.BaseDelay * Math.Pow(2, attempt - 1), cancellationToken);
            }
        }
    }

    private bool IsOurs(ManagedPolicy policy, string requestId) =>
        Tag(policy, RequestIdTag) == requestId && Tag(policy, DeploymentIdTag) == _options.DeploymentId;

    private static string? Tag(ManagedPolicy policy, string key) => policy.Tags.FirstOrDefault(t => t.Key == key)?.Value;

    private async Task<GeneratedPolicy> GenerateDocumentAsync(IIamClient client, AccessSpec access, DateTimeOffset? notAfter, CancellationToken cancellationToken)
    {
        ManagedPolicy basePolicy;
        try
        {
            basePolicy = await client.GetPolicyAsync(access.PolicyArn!, cancellationToken);
        }
        catch (IamException ex) when (ex.IsNoSuchEntity)
        {
            throw new PermanentProvisioningException($"The base policy {access.PolicyArn} does not exist.", ex);
        }

        if (basePolicy.DefaultVersionId is null)
        {
            throw new PermanentProvisioningException($"The base policy {access.PolicyArn} has no default version.");
        }

        var version = await client.GetPolicyVersionAsync(access.PolicyArn!, basePolicy.DefaultVersionId, cancellationToken);
        return _generator.Generate(version.Document!, access.ResourceArn!, access.PolicyArn!, notAfter);
    }

    private static async Task DeleteGeneratedPolicyAsync(IIamClient client, string policyArn, CancellationToken cancellationToken)
    {
        IReadOnlyList<PolicyVersion> versions;
        try
        {
            versions = await client.ListPolicyVersionsAsync(policyArn, cancellationToken);
        }
        catch (IamException ex) when (ex.IsNoSuchEntity)
        {
            return; // already deleted
        }

        foreach (var version in versions.Where(v => !v.IsDefaultVersion))
        {
            await IgnoreMissing(client.DeletePolicyVersionAsync(policyArn, version.VersionId, cancellationToken));
        }

        try
        {
            await IgnoreMissing(client.DeletePolicyAsync(policyArn, cancellationToken));
        }
        catch (IamException ex) when (ex.Code == IamErrorCodes.DeleteConflict)
        {
            // Still attached somewhere (a half-finished earlier run): the policy is this request's alone, detach it all.
            await DetachFromAllUsersAsync(client, policyArn, cancellationToken);
            await IgnoreMissing(client.DeletePolicyAsync(policyArn, cancellationToken));
        }
    }

    private static async Task DetachFromAllUsersAsync(IIamClient client, string policyArn, CancellationToken cancellationToken)
    {
        List<string> users;
        try
        {
            users = await IamClientExtensions.ListAllAsync(marker => client.ListUsersForPolicyAsync(policyArn, marker, cancellationToken));
        }
        catch (IamException ex) when (ex.IsNoSuchEntity)
        {
            return;
        }

        foreach (var user in users)
        {
            await IgnoreMissing(client.DetachUserPolicyAsync(user, policyArn, cancellationToken));
        }
    }

    /// <summary>
    /// After a permission set's assignment is gone, ends the role sessions the user already holds (they would otherwise
    /// keep the permissions until they expire) and audits the outcome on the request: <c>grant.sessionsEnded</c>, or
    /// <c>grant.sessionsNotEnded</c> with the reason. A refusal that retrying cannot fix (a role set up before this step
    /// existed, a full inline policy) does not hold the revocation back, since the assignment itself is removed: it is
    /// audited and logged as an error. Transient failures propagate, so the activity runs the removal again.
    /// </summary>
    private async Task EndSessionsAsync(AccountConfig account, string userId, AccessSpec access, string requestId, CancellationToken cancellationToken)
    {
        SessionRevocation outcome;
        try
        {
            outcome = await _permissionSets.EndSessionsAsync(account, userId, access.PermissionSetArn!, cancellationToken);
        }
        catch (IamException ex) when (!ex.IsTransient)
        {
            var hint = ex.Code == IamErrorCodes.AccessDeniedException ? " Re-run aws-setup --identity-center so that the role may end sessions." : string.Empty;
            outcome = SessionRevocation.NotEnded(_time.GetUtcNow(), $"IAM Identity Center refused it ({ex.Code}): {ex.ServiceMessage}.{hint}");
        }

        string type, detail;
        if (outcome.NoRole)
        {
            type = "grant.sessionsEnded";
            detail = $"{access.Describe()} has no role in account {account.Id} (not provisioned there), so Identity Center user {userId} holds no session of it.";
        }
        else if (outcome.Ended)
        {
            type = "grant.sessionsEnded";
            detail = $"Role sessions of {access.Describe()} that Identity Center user {userId} obtained in account {account.Id} before {SessionDenyPolicy.Format(outcome.Cutoff)} are denied (an inline deny on the permission set, provisioned to the account {outcome.InForceAfter.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture)} s after the removal began); the deny lapses at {SessionDenyPolicy.Format(outcome.LapsesAt)}, once every such session has expired.";
        }
        else
        {
            type = "grant.sessionsNotEnded";
            detail = $"The assignment of {access.Describe()} to Identity Center user {userId} in account {account.Id} is deleted, but the role sessions already issued were not ended: {outcome.Reason} They keep working until they expire (at most the permission set's session duration).";
            LogSessionsNotEnded(_logger, access.PermissionSetArn!, account.Id, userId, requestId, outcome.Reason ?? string.Empty);
        }

        // One event per request and kind: the activity may run again.
        await _audit.AppendAsync(new AuditEvent($"{requestId}:{type}", requestId, _time.GetUtcNow(), type, Channels.System, Channels.System, detail), cancellationToken);
    }

    /// <summary>Runs an Identity Center step, turning what retrying cannot fix into a permanent failure.</summary>
    private static async Task PermissionSetAsync(Func<Task> step, AccountConfig account, string userId, AccessSpec access, string what)
    {
        try
        {
            await step();
        }
        catch (IamException ex) when (!ex.IsTransient)
        {
            var message = ex.Code == IamErrorCodes.AccessDeniedException
                ? $"The Identity Center role may not perform the {what} of {access.Describe()} in account {account.Id}; re-run aws-setup --identity-center for it."
                : $"IAM Identity Center refused the {what} of {access.Describe()} in account {account.Id} to user {userId} ({ex.Code}): {ex.ServiceMessage}";
            throw new PermanentProvisioningException(message, ex);
        }
    }

    private static async Task IgnoreMissing(Task call)
    {
        try
        {
            await call;
        }
        catch (IamException ex) when (ex.IsNoSuchEntity)
        {
            // Already gone: removal is idempotent.
        }
    }

    private static void Validate(AccessSpec access)
    {
        var errors = access.Validate();
        if (errors.Count > 0)
        {
            throw new PermanentProvisioningException("The access is not valid: " + string.Join("; ", errors.Select(e => $"{e.Key} {e.Value}")));
        }
    }

    private static PermanentProvisioningException Permanent(IamException ex, AccountConfig account, string userName, AccessSpec access, string what)
    {
        var message = ex.Code switch
        {
            IamErrorCodes.NoSuchEntity => $"IAM in account {account.Id} has no such entity for the {what} of {access.Describe()} to {userName}: {ex.ServiceMessage}",
            IamErrorCodes.LimitExceeded => $"IAM in account {account.Id} refused the {what} of {access.Describe()} to {userName}: a quota is reached ({ex.ServiceMessage}).",
            IamErrorCodes.MalformedPolicyDocument => $"IAM in account {account.Id} refused the generated policy for {access.Describe()}: {ex.ServiceMessage}",
            IamErrorCodes.AccessDenied => $"The provisioner role in account {account.Id} may not perform the {what} of {access.Describe()}; re-run aws-setup for it.",
            _ => $"IAM in account {account.Id} refused the {what} of {access.Describe()} to {userName} ({ex.Code}): {ex.ServiceMessage}",
        };
        return new PermanentProvisioningException(message, ex);
    }

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,100}$")]
    private static partial Regex RequestIdRegex();

    [LoggerMessage(EventId = 4135, Level = LogLevel.Error, Message = "The role sessions of {PermissionSetArn} that Identity Center user {UserId} holds in account {AccountId} were not ended when request {RequestId} ended: {Reason}")]
    private static partial void LogSessionsNotEnded(ILogger logger, string permissionSetArn, string accountId, string userId, string requestId, string reason);

    [LoggerMessage(EventId = 4136, Level = LogLevel.Warning, Message = "Lapsed session denies in account {AccountId} could not be removed; the next sweep tries again")]
    private static partial void LogLapsedDeniesNotRemoved(ILogger logger, string accountId, Exception exception);

    [LoggerMessage(EventId = 4121, Level = LogLevel.Information, Message = "Granted {Kind} in account {AccountId} to {UserName} for request {RequestId}")]
    private static partial void LogApplied(ILogger logger, AccessKind kind, string accountId, string userName, string requestId);

    [LoggerMessage(EventId = 4122, Level = LogLevel.Information, Message = "Removed {Kind} in account {AccountId} from {UserName} for request {RequestId}")]
    private static partial void LogRemoved(ILogger logger, AccessKind kind, string accountId, string userName, string requestId);
}
