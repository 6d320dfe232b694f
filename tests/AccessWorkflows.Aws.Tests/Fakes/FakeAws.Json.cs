using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace AccessWorkflows.Aws.Tests.Fakes;

/// <summary>
/// The AWS JSON 1.1 services on the same loopback endpoint, as strict as AWS: the X-Amz-Target names the service
/// (<c>SWBExternalService.*</c> sso-admin, <c>AWSIdentityStore.*</c> identitystore), the SigV4 signature must be
/// scoped to that service's signing name (<c>sso</c>, <c>identitystore</c>) in <see cref="IdentityCenterRegion"/> and
/// sign the target header, the content type must be <c>application/x-amz-json-1.1</c>, and sso-admin and identitystore
/// accept only sessions of <see cref="IdentityCenterRoleArn"/>. Account assignments are asynchronous: a creation or
/// deletion answers IN_PROGRESS and turns SUCCEEDED (or FAILED, when injected) only after
/// <see cref="AssignmentPolls"/> status reads, and only then is it visible to ListAccountAssignments; a second
/// operation on an assignment while one is in progress answers ConflictException. Listings page with NextToken
/// (<see cref="PageSize"/>); <see cref="Fail"/> injects 400 ThrottlingException, 409 ConflictException or 500
/// InternalServerException per operation name.
/// </summary>
public sealed partial class FakeAws
{
    public const string InstanceArn = "arn:aws:sso:::instance/ssoins-72230000aaaabbbb";
    public const string IdentityStoreId = "d-9067000000";

    private readonly Dictionary<string, AssignmentOperationState> _operations = new(StringComparer.Ordinal);
    private readonly Queue<string> _assignmentFailures = new();
    private readonly Queue<string> _deletionFailures = new();
    private string? _identityCenterPolicy;

    /// <summary>The region Identity Center calls must be signed for (the rules file's identityCenter.region).</summary>
    public string IdentityCenterRegion { get; set; } = "eu-west-1";

    /// <summary>Identity Center users by user id.</summary>
    public Dictionary<string, FakeIdentityCenterUser> IdentityCenterUsers { get; } = new(StringComparer.Ordinal);

    /// <summary>Permission sets of the instance by ARN.</summary>
    public Dictionary<string, string> PermissionSets { get; } = new(StringComparer.Ordinal);

    /// <summary>Account assignments in place: (account id, permission set ARN, principal type, principal id).</summary>
    public HashSet<(string AccountId, string PermissionSetArn, string PrincipalType, string PrincipalId)> Assignments { get; } = [];

    /// <summary>How many status reads an assignment creation or deletion stays IN_PROGRESS.</summary>
    public int AssignmentPolls { get; set; } = 2;

    /// <summary>Every JSON call that passed verification: (target, body).</summary>
    public List<(string Target, JsonObject Body)> JsonCalls { get; } = [];

    public FakeIdentityCenterUser AddIdentityCenterUser(string userName, string email)
    {
        lock (_gate)
        {
            var user = new FakeIdentityCenterUser("9067" + RandomId(6).ToLowerInvariant() + "-" + Guid.NewGuid().ToString("D")[9..], userName, email);
            IdentityCenterUsers[user.UserId] = user;
            return user;
        }
    }

    public string AddPermissionSet(string name)
    {
        lock (_gate)
        {
            var arn = $"arn:aws:sso:::permissionSet/ssoins-72230000aaaabbbb/ps-{RandomId(16).ToLowerInvariant()}";
            PermissionSets[arn] = name;
            return arn;
        }
    }

    /// <summary>Every sso-admin and identitystore call is authorized against this identity policy of the Identity
    /// Center role, on the resources AWS's service authorization reference names for the operation.</summary>
    public void AuthorizeIdentityCenter(string policy)
    {
        lock (_gate)
        {
            _identityCenterPolicy = policy;
        }
    }

    /// <summary>The next assignment creation ends FAILED with this reason.</summary>
    public void FailNextAssignment(string reason)
    {
        lock (_gate)
        {
            _assignmentFailures.Enqueue(reason);
        }
    }

    /// <summary>The next assignment deletion ends FAILED with this reason.</summary>
    public void FailNextDeletion(string reason)
    {
        lock (_gate)
        {
            _deletionFailures.Enqueue(reason);
        }
    }

    public IReadOnlyList<string> JsonOperations()
    {
        lock (_gate)
        {
            return [.. JsonCalls.Select(c => c.Target[(c.Target.LastIndexOf('.') + 1)..])];
        }
    }

    public bool IsAssigned(string accountId, string permissionSetArn, string userId)
    {
        lock (_gate)
        {
            return Assignments.Contains((accountId, permissionSetArn, "USER", userId));
        }
    }

    private (int, string) HandleJson(HttpRequest request, byte[] body)
    {
        var target = request.Headers["X-Amz-Target"].ToString();
        var dot = target.LastIndexOf('.');
        var prefix = dot > 0 ? target[..dot] : string.Empty;
        var operation = dot > 0 ? target[(dot + 1)..] : string.Empty;
        var (service, region) = prefix switch
        {
            "SWBExternalService" => ("sso", IdentityCenterRegion),
            "AWSIdentityStore" => ("identitystore", IdentityCenterRegion),

            // CloudTrail is regional: the call must be signed for a region this fake keeps a trail in.
            "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101" => ("cloudtrail", ScopeRegion(request) is { } r && TrailRegions.Contains(r) ? r : TrailRegions.First()),
            _ => (null, null),
        };
        if (service is null)
        {
            return JsonError(400, "UnknownOperationException", $"Unknown target {target}");
        }

        if (request.Headers.ContentType.ToString() != "application/x-amz-json-1.1")
        {
            return JsonError(400, "SerializationException", "Expected Content-Type application/x-amz-json-1.1");
        }

        var verified = SigV4Verifier.Verify(request, body, service, region!, SecretFor, DateTimeOffset.UtcNow);
        if (verified.Ok && !request.Headers.Authorization.ToString().Contains("x-amz-target", StringComparison.Ordinal))
        {
            verified = new SigV4Verifier.Result(false, "IncompleteSignature", "x-amz-target must be signed.", null);
        }

        JsonObject input;
        try
        {
            input = JsonNode.Parse(Encoding.UTF8.GetString(body)) as JsonObject ?? throw new FormatException();
        }
        catch (Exception ex) when (ex is FormatException or System.Text.Json.JsonException)
        {
            return JsonError(400, "SerializationException", "The body is not a JSON object.");
        }

        lock (_gate)
        {
            if (!verified.Ok)
            {
                Rejections.Add(verified.ErrorCode!);
                return JsonError(403, verified.ErrorCode == "SignatureDoesNotMatch" ? "InvalidSignatureException" : "UnrecognizedClientException", verified.Message!);
            }

            var role = _keyRoles.GetValueOrDefault(verified.AccessKeyId!);
            if (role != (service == "cloudtrail" ? RoleArn : IdentityCenterRoleArn))
            {
                Rejections.Add("AccessDeniedException");
                return JsonError(400, "AccessDeniedException", $"User: {role ?? "the caller"} is not authorized to perform: {service}:{operation}");
            }

            JsonCalls.Add((target, input));
            if (_identityCenterPolicy is { } policy && service != "cloudtrail" && AuthorizeJson(policy, service, operation, input) is { } denied)
            {
                Rejections.Add("AccessDeniedException");
                return JsonError(400, "AccessDeniedException", denied);
            }

            if (_faults.TryGetValue(operation, out var queue) && queue.Count > 0)
            {
                return queue.Dequeue() switch
                {
                    400 => JsonError(400, "ThrottlingException", "Rate exceeded"),
                    409 => JsonError(400, "ConflictException", "Another operation on this resource is in progress."),
                    var status => JsonError(status, "InternalServerException", "An internal failure occurred."),
                };
            }

            try
            {
                var answer = service switch
                {
                    "sso" => SsoAdmin(operation, input),
                    "identitystore" => IdentityStore(operation, input),
                    _ => CloudTrail(region!, operation, input),
                };
                return (200, answer.ToJsonString());
            }
            catch (JsonFault fault)
            {
                return JsonError(400, fault.Code, fault.Message);
            }
        }
    }

    /// <summary>The regions whose CloudTrail this fake keeps (calls signed for any other are refused).</summary>
    public HashSet<string> TrailRegions { get; } = ["us-east-1", "eu-west-1"];

    /// <summary>CloudTrail management events, by region.</summary>
    public List<FakeTrailEvent> TrailEvents { get; } = [];

    public FakeTrailEvent AddTrailEvent(string region, string userName, string eventSource, string eventName, DateTimeOffset at, string? errorCode = null)
    {
        lock (_gate)
        {
            var trailEvent = new FakeTrailEvent(Guid.NewGuid().ToString("D"), region, userName, eventSource, eventName, at, errorCode);
            TrailEvents.Add(trailEvent);
            return trailEvent;
        }
    }

    private static string? ScopeRegion(HttpRequest request)
    {
        var parts = request.Headers.Authorization.ToString().Split('/');
        return parts.Length > 3 ? parts[2] : null;
    }

    /// <summary>LookupEvents as CloudTrail answers it: one lookup attribute, the time window, newest first, at most 50
    /// a page with NextToken.</summary>
    private JsonObject CloudTrail(string region, string operation, JsonObject input)
    {
        if (operation != "LookupEvents")
        {
            throw new JsonFault("UnknownOperationException", $"Unknown operation {operation}");
        }

        var attributes = input["LookupAttributes"] as JsonArray;
        if (attributes is not { Count: 1 } || attributes[0] is not JsonObject attribute)
        {
            throw new JsonFault("InvalidLookupAttributesException", "You cannot specify more than one lookup attribute.");
        }

        if (attribute["AttributeKey"]?.GetValue<string>() is not ("Username" or "EventName" or "EventSource" or "EventId" or "ResourceName" or "ResourceType" or "ReadOnly" or "AccessKeyId"))
        {
            throw new JsonFault("InvalidLookupAttributesException", "The lookup attribute key is not valid.");
        }

        var start = input["StartTime"]?.GetValue<double>() ?? throw new JsonFault("ValidationException", "StartTime is required here.");
        var end = input["EndTime"]?.GetValue<double>() ?? throw new JsonFault("ValidationException", "EndTime is required here.");
        if (start > end)
        {
            throw new JsonFault("InvalidTimeRangeException", "The start time is after the end time.");
        }

        var max = input["MaxResults"]?.GetValue<int>() ?? 50;
        if (max is < 1 or > 50)
        {
            throw new JsonFault("InvalidMaxResultsException", "MaxResults must be between 1 and 50.");
        }

        var userName = attribute["AttributeValue"]?.GetValue<string>();
        var matching = TrailEvents
            .Where(e => e.Region == region && e.UserName == userName && e.Time.ToUnixTimeSeconds() >= start && e.Time.ToUnixTimeSeconds() <= end)
            .OrderByDescending(e => e.Time)
            .Select(e =>
            {
                var record = new JsonObject { ["eventVersion"] = "1.09", ["eventSource"] = e.EventSource, ["eventName"] = e.EventName, ["awsRegion"] = region };
                if (e.ErrorCode is not null)
                {
                    record["errorCode"] = e.ErrorCode;
                }

                return (JsonNode)new JsonObject
                {
                    ["EventId"] = e.EventId,
                    ["EventName"] = e.EventName,
                    ["ReadOnly"] = "true",
                    ["EventTime"] = e.Time.ToUnixTimeSeconds(),
                    ["EventSource"] = e.EventSource,
                    ["Username"] = e.UserName,
                    ["Resources"] = new JsonArray(),
                    ["CloudTrailEvent"] = record.ToJsonString(),
                };
            });
        var page = JsonPage("Events", matching, new JsonObject { ["MaxResults"] = Math.Min(max, 50), ["NextToken"] = input["NextToken"]?.DeepClone() });
        return page;
    }

    private static string? AuthorizeJson(string policy, string service, string operation, JsonObject input)
    {
        string[] resources = service == "sso"
            ? operation switch
            {
                "CreateAccountAssignment" or "DeleteAccountAssignment" =>
                    [InstanceArn, input["PermissionSetArn"]?.GetValue<string>() ?? "-", $"arn:aws:sso:::account/{input["TargetId"]?.GetValue<string>()}"],
                "ListPermissionSetsProvisionedToAccount" => [InstanceArn, $"arn:aws:sso:::account/{input["AccountId"]?.GetValue<string>()}"],
                "ListAccountAssignments" =>
                    [InstanceArn, input["PermissionSetArn"]?.GetValue<string>() ?? "-", $"arn:aws:sso:::account/{input["AccountId"]?.GetValue<string>()}"],
                "DescribePermissionSet" or "GetInlinePolicyForPermissionSet" or "PutInlinePolicyToPermissionSet" or "DeleteInlinePolicyFromPermissionSet" =>
                    [InstanceArn, input["PermissionSetArn"]?.GetValue<string>() ?? "-"],
                "ProvisionPermissionSet" =>
                    [InstanceArn, input["PermissionSetArn"]?.GetValue<string>() ?? "-", $"arn:aws:sso:::account/{input["TargetId"]?.GetValue<string>()}"],
                _ => [InstanceArn],
            }
            : operation == "DescribeUser"
                ? [$"arn:aws:identitystore::111111111111:identitystore/{IdentityStoreId}", $"arn:aws:identitystore:::user/{input["UserId"]?.GetValue<string>()}"]
                : [$"arn:aws:identitystore::111111111111:identitystore/{IdentityStoreId}"];
        var action = $"{service}:{operation}";
        var refused = resources.FirstOrDefault(r => IamPolicyEvaluator.Evaluate(policy, new IamCall(action, r)) != IamDecision.Allow);
        return refused is null
            ? null
            : $"User: arn:aws:sts::111111111111:assumed-role/AccessWorkflowsIdentityCenter/access-workflows is not authorized to perform: {action} on resource: {refused}";
    }

    private JsonObject SsoAdmin(string operation, JsonObject input)
    {
        if (Str(input, "InstanceArn") != InstanceArn)
        {
            throw new JsonFault("ResourceNotFoundException", "The instance does not exist.");
        }

        switch (operation)
        {
            case "CreateAccountAssignment" or "DeleteAccountAssignment":
                {
                    var key = AssignmentKey(input);
                    if (_operations.Values.Any(o => o.Key == key && o.Status == "IN_PROGRESS"))
                    {
                        throw new JsonFault("ConflictException", "An operation on this account assignment is already in progress.");
                    }

                    var create = operation == "CreateAccountAssignment";
                    var failures = create ? _assignmentFailures : _deletionFailures;
                    var state = new AssignmentOperationState(Guid.NewGuid().ToString("D"), create, key)
                    {
                        PollsLeft = AssignmentPolls,
                        FailureReason = failures.Count > 0 ? failures.Dequeue() : null,
                    };
                    _operations[state.RequestId] = state;
                    return new JsonObject { [create ? "AccountAssignmentCreationStatus" : "AccountAssignmentDeletionStatus"] = state.ToJson() };
                }

            case "DescribeAccountAssignmentCreationStatus" or "DescribeAccountAssignmentDeletionStatus":
                {
                    var create = operation == "DescribeAccountAssignmentCreationStatus";
                    var id = Str(input, create ? "AccountAssignmentCreationRequestId" : "AccountAssignmentDeletionRequestId");
                    if (!_operations.TryGetValue(id, out var state) || state.Create != create)
                    {
                        throw new JsonFault("ResourceNotFoundException", $"Request {id} does not exist.");
                    }

                    Advance(state);
                    return new JsonObject { [create ? "AccountAssignmentCreationStatus" : "AccountAssignmentDeletionStatus"] = state.ToJson() };
                }

            case "ListAccountAssignments":
                {
                    var accountId = Str(input, "AccountId");
                    var permissionSet = Str(input, "PermissionSetArn");
                    if (!PermissionSets.ContainsKey(permissionSet))
                    {
                        throw new JsonFault("ResourceNotFoundException", "The permission set does not exist.");
                    }

                    var items = Assignments.Where(a => a.AccountId == accountId && a.PermissionSetArn == permissionSet)
                        .OrderBy(a => a.PrincipalId, StringComparer.Ordinal)
                        .Select(a => (JsonNode)new JsonObject { ["AccountId"] = a.AccountId, ["PermissionSetArn"] = a.PermissionSetArn, ["PrincipalType"] = a.PrincipalType, ["PrincipalId"] = a.PrincipalId });
                    return JsonPage("AccountAssignments", items, input);
                }

            case "ListPermissionSets":
                return JsonPage("PermissionSets", PermissionSets.Keys.Order(StringComparer.Ordinal).Select(a => (JsonNode)JsonValue.Create(a)), input);

            case "DescribePermissionSet":
                {
                    var arn = Str(input, "PermissionSetArn");
                    if (!PermissionSets.TryGetValue(arn, out var name))
                    {
                        throw new JsonFault("ResourceNotFoundException", "The permission set does not exist.");
                    }

                    return new JsonObject { ["PermissionSet"] = new JsonObject { ["Name"] = name, ["PermissionSetArn"] = arn, ["SessionDuration"] = SessionDurations.GetValueOrDefault(arn, "PT1H"), ["CreatedDate"] = 1.7e9 } };
                }

            default:
                return PermissionSetPolicyOperation(operation, input);
        }
    }

    private JsonObject IdentityStore(string operation, JsonObject input)
    {
        if (Str(input, "IdentityStoreId") != IdentityStoreId)
        {
            throw new JsonFault("ResourceNotFoundException", "The identity store does not exist.");
        }

        switch (operation)
        {
            case "GetUserId":
                {
                    var unique = input["AlternateIdentifier"]?["UniqueAttribute"] as JsonObject
                        ?? throw new JsonFault("ValidationException", "AlternateIdentifier must hold UniqueAttribute or ExternalId.");
                    var path = Str(unique, "AttributePath");
                    var value = unique["AttributeValue"]?.GetValue<string>() ?? throw new JsonFault("ValidationException", "AttributeValue is required.");
                    var user = path switch
                    {
                        "emails.value" => IdentityCenterUsers.Values.FirstOrDefault(u => string.Equals(u.Email, value, StringComparison.OrdinalIgnoreCase)),
                        "userName" => IdentityCenterUsers.Values.FirstOrDefault(u => u.UserName == value),
                        _ => throw new JsonFault("ValidationException", "The only valid paths are userName and emails.value."),
                    };
                    return user is null
                        ? throw new JsonFault("ResourceNotFoundException", "USER not found.")
                        : new JsonObject { ["IdentityStoreId"] = IdentityStoreId, ["UserId"] = user.UserId };
                }

            case "DescribeUser":
                return IdentityCenterUsers.TryGetValue(Str(input, "UserId"), out var found)
                    ? new JsonObject { ["IdentityStoreId"] = IdentityStoreId, ["UserId"] = found.UserId, ["UserName"] = found.UserName }
                    : throw new JsonFault("ResourceNotFoundException", "USER not found.");

            default:
                throw new JsonFault("UnknownOperationException", $"Unknown operation {operation}");
        }
    }

    private (string AccountId, string PermissionSetArn, string PrincipalType, string PrincipalId) AssignmentKey(JsonObject input)
    {
        var targetId = Str(input, "TargetId");
        if (Str(input, "TargetType") != "AWS_ACCOUNT" || targetId.Length != 12 || !targetId.All(char.IsAsciiDigit))
        {
            throw new JsonFault("ValidationException", "TargetType must be AWS_ACCOUNT with a 12-digit TargetId.");
        }

        var principalType = Str(input, "PrincipalType");
        if (principalType is not ("USER" or "GROUP"))
        {
            throw new JsonFault("ValidationException", "PrincipalType must be USER or GROUP.");
        }

        var permissionSet = Str(input, "PermissionSetArn");
        if (!PermissionSets.ContainsKey(permissionSet))
        {
            throw new JsonFault("ResourceNotFoundException", "The permission set does not exist.");
        }

        var principal = Str(input, "PrincipalId");
        if (principalType == "USER" && !IdentityCenterUsers.ContainsKey(principal))
        {
            throw new JsonFault("ResourceNotFoundException", "The principal does not exist.");
        }

        return (targetId, permissionSet, principalType, principal);
    }

    /// <summary>One status read: the operation completes after <see cref="AssignmentPolls"/> reads.</summary>
    private void Advance(AssignmentOperationState state)
    {
        if (state.Status != "IN_PROGRESS" || --state.PollsLeft > 0)
        {
            return;
        }

        if (state.FailureReason is not null)
        {
            state.Status = "FAILED";
            return;
        }

        if (state.Create)
        {
            Assignments.Add(state.Key);

            // Identity Center provisions the permission set to the account as part of the assignment.
            ProvisionedInlinePolicies[(state.Key.AccountId, state.Key.PermissionSetArn)] = InlinePolicies.GetValueOrDefault(state.Key.PermissionSetArn, string.Empty);
        }
        else
        {
            Assignments.Remove(state.Key);
        }

        state.Status = "SUCCEEDED";
    }

    private JsonObject JsonPage(string name, IEnumerable<JsonNode> items, JsonObject input)
    {
        var all = items.ToList();
        var max = input["MaxResults"]?.GetValue<int>() ?? 100;
        if (max is < 1 or > 100)
        {
            throw new JsonFault("ValidationException", "MaxResults must be between 1 and 100.");
        }

        var start = 0;
        if (input["NextToken"]?.GetValue<string>() is { } token)
        {
            if (!token.StartsWith("page-", StringComparison.Ordinal) || !int.TryParse(token[5..], NumberStyles.None, CultureInfo.InvariantCulture, out start))
            {
                throw new JsonFault("ValidationException", "The NextToken is not valid.");
            }
        }

        var page = all.Skip(start).Take(Math.Min(max, PageSize)).ToList();
        var answer = new JsonObject { [name] = new JsonArray([.. page]) };
        if (start + page.Count < all.Count)
        {
            answer["NextToken"] = $"page-{start + page.Count}";
        }

        return answer;
    }

    private static string Str(JsonObject input, string name) =>
        input[name]?.GetValue<string>() is { Length: > 0 } value ? value : throw new JsonFault("ValidationException", $"1 validation error detected: Value null at '{name}' failed to satisfy constraint: Member must not be null");

    private static (int, string) JsonError(int status, string code, string message) =>
        (status, new JsonObject { ["__type"] = code, ["Message"] = message }.ToJsonString());

    /// <summary>The status object of an asynchronous sso-admin operation: its own fields, then the common ones, and
    /// FailureReason only when FAILED.</summary>
    private static JsonObject OperationStatus(string requestId, string status, string? failureReason, JsonObject fields)
    {
        fields["RequestId"] = requestId;
        fields["Status"] = status;
        fields["CreatedDate"] = 1.7e9;
        if (status == "FAILED")
        {
            fields["FailureReason"] = failureReason;
        }

        return fields;
    }

    private sealed class JsonFault(string code, string message) : Exception(message)
    {
        public string Code { get; } = code;
    }

    private sealed class AssignmentOperationState(string requestId, bool create, (string AccountId, string PermissionSetArn, string PrincipalType, string PrincipalId) key)
    {
        public string RequestId { get; } = requestId;

        public bool Create { get; } = create;

        public (string AccountId, string PermissionSetArn, string PrincipalType, string PrincipalId) Key { get; } = key;

        public string Status { get; set; } = "IN_PROGRESS";

        public int PollsLeft { get; set; }

        public string? FailureReason { get; set; }

        public JsonObject ToJson() => OperationStatus(RequestId, Status, FailureReason, new JsonObject
        {
            ["TargetId"] = Key.AccountId,
            ["TargetType"] = "AWS_ACCOUNT",
            ["PermissionSetArn"] = Key.PermissionSetArn,
            ["PrincipalType"] = Key.PrincipalType,
            ["PrincipalId"] = Key.PrincipalId,
        });
    }
}

public sealed record FakeIdentityCenterUser(string UserId, string UserName, string Email);

public sealed record FakeTrailEvent(string EventId, string Region, string UserName, string EventSource, string EventName, DateTimeOffset Time, string? ErrorCode);
