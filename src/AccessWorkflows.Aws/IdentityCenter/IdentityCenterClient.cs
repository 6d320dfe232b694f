using System.Net;
using System.Text.Json.Nodes;
using AccessWorkflows.Aws.Iam;
using AccessWorkflows.Aws.Json;

namespace AccessWorkflows.Aws.IdentityCenter;

/// <summary>
/// The sso-admin (target prefix <c>SWBExternalService</c>, signing name <c>sso</c>) and identitystore (target prefix
/// <c>AWSIdentityStore</c>) operations AccessWorkflows makes, with the shapes of the API references. Errors surface as
/// <see cref="IamException"/> carrying the service's exception name; throttling and conflicts are retried inside.
/// </summary>
public sealed class IdentityCenterClient
{
    public const string SsoAdminTargetPrefix = "SWBExternalService";
    public const string IdentityStoreTargetPrefix = "AWSIdentityStore";

    private readonly AwsJsonClient _ssoAdmin;
    private readonly AwsJsonClient _identityStore;
    private readonly string _instanceArn;
    private readonly string _identityStoreId;

    public IdentityCenterClient(AwsJsonClient ssoAdmin, AwsJsonClient identityStore, string instanceArn, string identityStoreId)
    {
        _ssoAdmin = ssoAdmin;
        _identityStore = identityStore;
        _instanceArn = instanceArn;
        _identityStoreId = identityStoreId;
    }

    /// <summary><c>GetUserId</c> by the unique attribute <c>emails.value</c>; null when no user has that email.</summary>
    public async Task<string?> GetUserIdByEmailAsync(string email, CancellationToken cancellationToken)
    {
        try
        {
            var answer = await _identityStore.CallAsync("GetUserId", new JsonObject
            {
                ["IdentityStoreId"] = _identityStoreId,
                ["AlternateIdentifier"] = new JsonObject
                {
                    ["UniqueAttribute"] = new JsonObject { ["AttributePath"] = "emails.value", ["AttributeValue"] = email },
                },
            }, cancellationToken);
            return Required(answer, "UserId");
        }
        catch (IamException ex) when (ex.Code == IamErrorCodes.ResourceNotFoundException)
        {
            return null;
        }
    }

    /// <summary><c>DescribeUser</c>: the user's <c>UserName</c> (what CloudTrail records for the user's sessions).</summary>
    public async Task<string> DescribeUserNameAsync(string userId, CancellationToken cancellationToken)
    {
        var answer = await _identityStore.CallAsync("DescribeUser", new JsonObject { ["IdentityStoreId"] = _identityStoreId, ["UserId"] = userId }, cancellationToken);
        return Required(answer, "UserName");
    }

    public async Task<AssignmentOperation> CreateAccountAssignmentAsync(string accountId, string permissionSetArn, string userId, CancellationToken cancellationToken)
    {
        var answer = await _ssoAdmin.CallAsync("CreateAccountAssignment", Assignment(accountId, permissionSetArn, userId), cancellationToken);
        return Operation(answer, "AccountAssignmentCreationStatus");
    }

    public async Task<AssignmentOperation> DescribeAccountAssignmentCreationStatusAsync(string requestId, CancellationToken cancellationToken)
    {
        var answer = await _ssoAdmin.CallAsync("DescribeAccountAssignmentCreationStatus", new JsonObject
        {
            ["AccountAssignmentCreationRequestId"] = requestId,
            ["InstanceArn"] = _instanceArn,
        }, cancellationToken);
        return Operation(answer, "AccountAssignmentCreationStatus");
    }

    public async Task<AssignmentOperation> DeleteAccountAssignmentAsync(string accountId, string permissionSetArn, string userId, CancellationToken cancellationToken)
    {
        var answer = await _ssoAdmin.CallAsync("DeleteAccountAssignment", Assignment(accountId, permissionSetArn, userId), cancellationToken);
        return Operation(answer, "AccountAssignmentDeletionStatus");
    }

    public async Task<AssignmentOperation> DescribeAccountAssignmentDeletionStatusAsync(string requestId, CancellationToken cancellationToken)
    {
        var answer = await _ssoAdmin.CallAsync("DescribeAccountAssignmentDeletionStatus", new JsonObject
        {
            ["AccountAssignmentDeletionRequestId"] = requestId,
            ["InstanceArn"] = _instanceArn,
        }, cancellationToken);
        return Operation(answer, "AccountAssignmentDeletionStatus");
    }

    /// <summary>Every principal the permission set is assigned to in the account (all pages).</summary>
    public Task<List<AccountAssignment>> ListAccountAssignmentsAsync(string accountId, string permissionSetArn, CancellationToken cancellationToken) =>
        ListAllAsync(
            "ListAccountAssignments",
            new JsonObject { ["AccountId"] = accountId, ["InstanceArn"] = _instanceArn, ["PermissionSetArn"] = permissionSetArn },
            "AccountAssignments",
            item => item is JsonObject o ? new AccountAssignment(Text(o, "AccountId"), Text(o, "PermissionSetArn"), Text(o, "PrincipalType"), Text(o, "PrincipalId")) : null,
            cancellationToken);

    /// <summary>Every permission set ARN of the instance (all pages).</summary>
    public Task<List<string>> ListPermissionSetsAsync(CancellationToken cancellationToken) =>
        ListAllAsync("ListPermissionSets", new JsonObject { ["InstanceArn"] = _instanceArn }, "PermissionSets", Arn, cancellationToken);

    /// <summary><c>DescribePermissionSet</c>: the name, and the session duration (ISO 8601) its role sessions last.</summary>
    public async Task<PermissionSetInfo> DescribePermissionSetAsync(string permissionSetArn, CancellationToken cancellationToken)
    {
        var answer = await _ssoAdmin.CallAsync("DescribePermissionSet", new JsonObject { ["InstanceArn"] = _instanceArn, ["PermissionSetArn"] = permissionSetArn }, cancellationToken);
        var set = answer["PermissionSet"] as JsonObject ?? throw Invalid("PermissionSet");
        return new PermissionSetInfo(Text(set, "PermissionSetArn"), Text(set, "Name"), set["SessionDuration"]?.GetValue<string>());
    }

    /// <summary><c>ListPermissionSetsProvisionedToAccount</c> (all pages): the permission sets that have a role in the
    /// account.</summary>
    public Task<List<string>> ListPermissionSetsProvisionedToAccountAsync(string accountId, CancellationToken cancellationToken) =>
        ListAllAsync("ListPermissionSetsProvisionedToAccount", new JsonObject { ["InstanceArn"] = _instanceArn, ["AccountId"] = accountId }, "PermissionSets", Arn, cancellationToken);

    /// <summary><c>GetInlinePolicyForPermissionSet</c>: the permission set's inline policy document, or an empty string
    /// when it has none (AWS answers an empty or absent <c>InlinePolicy</c> then).</summary>
    public async Task<string> GetInlinePolicyAsync(string permissionSetArn, CancellationToken cancellationToken)
    {
        var answer = await _ssoAdmin.CallAsync("GetInlinePolicyForPermissionSet", PermissionSet(permissionSetArn), cancellationToken);
        return answer["InlinePolicy"]?.GetValue<string>() ?? string.Empty;
    }

    /// <summary><c>PutInlinePolicyToPermissionSet</c>: replaces the whole inline policy. It reaches an account's role
    /// only when the permission set is provisioned there again (<see cref="ProvisionToAccountAsync"/>).</summary>
    public async Task PutInlinePolicyAsync(string permissionSetArn, string policy, CancellationToken cancellationToken)
    {
        var input = PermissionSet(permissionSetArn);
        input["InlinePolicy"] = policy;
        await _ssoAdmin.CallAsync("PutInlinePolicyToPermissionSet", input, cancellationToken);
    }

    /// <summary><c>DeleteInlinePolicyFromPermissionSet</c>: the permission set keeps no inline policy.</summary>
    public async Task DeleteInlinePolicyAsync(string permissionSetArn, CancellationToken cancellationToken) =>
        await _ssoAdmin.CallAsync("DeleteInlinePolicyFromPermissionSet", PermissionSet(permissionSetArn), cancellationToken);

    /// <summary><c>ProvisionPermissionSet</c> to one account (<c>TargetType AWS_ACCOUNT</c>): writes the permission set's
    /// current policies into its role there. Asynchronous: poll <see cref="DescribeProvisioningStatusAsync"/>.</summary>
    public async Task<AssignmentOperation> ProvisionToAccountAsync(string permissionSetArn, string accountId, CancellationToken cancellationToken)
    {
        var input = PermissionSet(permissionSetArn);
        input["TargetId"] = accountId;
        input["TargetType"] = "AWS_ACCOUNT";
        var answer = await _ssoAdmin.CallAsync("ProvisionPermissionSet", input, cancellationToken);
        return Operation(answer, "PermissionSetProvisioningStatus");
    }

    public async Task<AssignmentOperation> DescribeProvisioningStatusAsync(string requestId, CancellationToken cancellationToken)
    {
        var answer = await _ssoAdmin.CallAsync("DescribePermissionSetProvisioningStatus", new JsonObject
        {
            ["InstanceArn"] = _instanceArn,
            ["ProvisionPermissionSetRequestId"] = requestId,
        }, cancellationToken);
        return Operation(answer, "PermissionSetProvisioningStatus");
    }

    /// <summary>Every item of a paged sso-admin listing: <paramref name="input"/> with 100 a page, following NextToken.</summary>
    private async Task<List<T>> ListAllAsync<T>(string operation, JsonObject input, string itemsName, Func<JsonNode?, T?> read, CancellationToken cancellationToken)
        where T : class
    {
        var result = new List<T>();
        string? next = null;
        do
        {
            var page = (JsonObject)input.DeepClone();
            page["MaxResults"] = 100;
            if (next is not null)
            {
                page["NextToken"] = next;
            }

            var answer = await _ssoAdmin.CallAsync(operation, page, cancellationToken);
            result.AddRange((answer[itemsName]?.AsArray() ?? []).Select(read).OfType<T>());
            next = NextToken(answer);
        }
        while (next is not null);
        return result;
    }

    private static string? Arn(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var arn) ? arn : null;

    private JsonObject PermissionSet(string permissionSetArn) => new() { ["InstanceArn"] = _instanceArn, ["PermissionSetArn"] = permissionSetArn };

    private JsonObject Assignment(string accountId, string permissionSetArn, string userId) => new()
    {
        ["InstanceArn"] = _instanceArn,
        ["PermissionSetArn"] = permissionSetArn,
        ["PrincipalId"] = userId,
        ["PrincipalType"] = "USER",
        ["TargetId"] = accountId,
        ["TargetType"] = "AWS_ACCOUNT",
    };

    private static AssignmentOperation Operation(JsonObject answer, string name)
    {
        var status = answer[name] as JsonObject ?? throw Invalid(name);
        return new AssignmentOperation(Required(status, "RequestId"), Required(status, "Status"), status["FailureReason"]?.GetValue<string>());
    }

    private static string? NextToken(JsonObject answer) => answer["NextToken"]?.GetValue<string>() is { Length: > 0 } token ? token : null;

    private static string Text(JsonObject o, string name) => o[name]?.GetValue<string>() ?? string.Empty;

    private static string Required(JsonObject o, string name) => o[name]?.GetValue<string>() is { Length: > 0 } value ? value : throw Invalid(name);

    private static IamException Invalid(string name) => new("InvalidResponse", $"The answer has no {name}.", HttpStatusCode.BadGateway);
}

/// <summary>An asynchronous Identity Center operation (an account assignment's creation or deletion, a permission
/// set's provisioning): <c>IN_PROGRESS</c>, <c>FAILED</c> or <c>SUCCEEDED</c>.</summary>
public sealed record AssignmentOperation(string RequestId, string Status, string? FailureReason)
{
    public const string InProgress = "IN_PROGRESS";
    public const string Failed = "FAILED";
    public const string Succeeded = "SUCCEEDED";
}

public sealed record AccountAssignment(string AccountId, string PermissionSetArn, string PrincipalType, string PrincipalId);

public sealed record PermissionSetInfo(string Arn, string Name, string? SessionDuration);
