using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AccessWorkflows.Aws.Tests.Fakes;

/// <summary>
/// Permission-set inline policies, their provisioning to accounts, and the role sessions Identity Center issues, as
/// AWS documents them: <c>PutInlinePolicyToPermissionSet</c> replaces the permission set's document but an account's
/// role keeps the copy it was last provisioned with until <c>ProvisionPermissionSet</c> to that account has
/// SUCCEEDED (after <see cref="AssignmentPolls"/> status reads; a second provisioning of the same permission set to the
/// same account meanwhile answers ConflictException; a document over IAM's 10,240 characters for a role ends FAILED).
/// A session (<see cref="IssueSession"/>) exists only while its user is assigned, lasts the permission set's
/// <c>SessionDuration</c>, and survives the assignment's deletion, as real role sessions do: the worst case the
/// product must defend against. Each call a session makes is authorized against the permission set's permissions
/// (allow everything) and the inline policy provisioned in its account, with the request context AWS supplies
/// (<c>identitystore:UserId</c>, <c>aws:PrincipalAccount</c>, <c>aws:TokenIssueTime</c>, <c>aws:CurrentTime</c>).
/// </summary>
public sealed partial class FakeAws
{
    private const string AllowEverything = """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}""";

    private readonly Dictionary<string, ProvisioningState> _provisionings = new(StringComparer.Ordinal);
    private readonly Queue<string> _provisioningFailures = new();

    /// <summary>The inline policy of each permission set, as PutInlinePolicyToPermissionSet last wrote it.</summary>
    public Dictionary<string, string> InlinePolicies { get; } = new(StringComparer.Ordinal);

    /// <summary>The inline policy each account's role of a permission set holds: the copy last provisioned there. A key is
    /// a permission set provisioned to the account (ListPermissionSetsProvisionedToAccount); the role stays after its
    /// last assignment is deleted.</summary>
    public Dictionary<(string AccountId, string PermissionSetArn), string> ProvisionedInlinePolicies { get; } = [];

    /// <summary>Another writer's document, stored right after the next PutInlinePolicyToPermissionSet (a concurrent
    /// read-modify-write that did not see ours).</summary>
    public string? ConcurrentWriteAfterNextPut { get; set; }

    /// <summary>SessionDuration per permission set (ISO 8601); PT1H when absent.</summary>
    public Dictionary<string, string> SessionDurations { get; } = new(StringComparer.Ordinal);

    /// <summary>A session of the permission set's role in the account, as the user gets it from the access portal at
    /// <paramref name="issuedAt"/>; refused when the user holds no assignment there.</summary>
    public FakeRoleSession IssueSession(string accountId, string permissionSetArn, string userId, DateTimeOffset issuedAt)
    {
        lock (_gate)
        {
            if (!Assignments.Contains((accountId, permissionSetArn, "USER", userId)))
            {
                throw new InvalidOperationException($"{userId} has no assignment of {permissionSetArn} in {accountId}: the portal offers no session.");
            }

            var duration = System.Xml.XmlConvert.ToTimeSpan(SessionDurations.GetValueOrDefault(permissionSetArn, "PT1H"));
            var issued = new DateTimeOffset(issuedAt.UtcTicks - (issuedAt.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
            return new FakeRoleSession(accountId, permissionSetArn, userId, issued, issued + duration);
        }
    }

    /// <summary>Whether a call by the session at <paramref name="at"/> is allowed: the session has not expired, and
    /// the account's provisioned inline policy does not deny it.</summary>
    public IamDecision Authorize(FakeRoleSession session, string action, DateTimeOffset at)
    {
        lock (_gate)
        {
            if (at >= session.ExpiresAt)
            {
                return IamDecision.ImplicitDeny;
            }

            var call = new IamCall(action, "*")
                .With("identitystore:UserId", session.UserId)
                .With("aws:PrincipalAccount", session.AccountId)
                .With("aws:TokenIssueTime", Iso(session.IssuedAt))
                .With("aws:CurrentTime", Iso(at));
            if (ProvisionedInlinePolicies.GetValueOrDefault((session.AccountId, session.PermissionSetArn)) is { Length: > 0 } inline
                && IamPolicyEvaluator.Evaluate(inline, call) == IamDecision.ExplicitDeny)
            {
                return IamDecision.ExplicitDeny;
            }

            return IamPolicyEvaluator.Evaluate(AllowEverything, call);
        }
    }

    /// <summary>The next provisioning of a permission set ends FAILED with this reason.</summary>
    public void FailNextProvisioning(string reason)
    {
        lock (_gate)
        {
            _provisioningFailures.Enqueue(reason);
        }
    }

    private JsonObject PermissionSetPolicyOperation(string operation, JsonObject input)
    {
        switch (operation)
        {
            case "ListPermissionSetsProvisionedToAccount":
                {
                    var accountId = Str(input, "AccountId");
                    return JsonPage("PermissionSets", ProvisionedInlinePolicies.Keys.Where(k => k.AccountId == accountId).Select(k => k.PermissionSetArn).Order(StringComparer.Ordinal).Select(a => (JsonNode)JsonValue.Create(a)), input);
                }

            case "GetInlinePolicyForPermissionSet":
                return new JsonObject { ["InlinePolicy"] = InlinePolicies.GetValueOrDefault(ExistingPermissionSet(input), string.Empty) };

            case "PutInlinePolicyToPermissionSet":
                {
                    var arn = ExistingPermissionSet(input);
                    var policy = Str(input, "InlinePolicy");
                    if (policy.Length > 32768 || policy.Any(c => c is not ('\t' or '\n' or '\r') && (c < ' ' || c > '\u00FF')))
                    {
                        throw new JsonFault("ValidationException", "1 validation error detected: Value at 'inlinePolicy' failed to satisfy constraint: Member must have length less than or equal to 32768 and match pattern [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+");
                    }

                    try
                    {
                        using var document = JsonDocument.Parse(policy);
                        if (!document.RootElement.TryGetProperty("Statement", out _))
                        {
                            throw new JsonException();
                        }
                    }
                    catch (JsonException)
                    {
                        throw new JsonFault("ValidationException", "The inline policy is not a valid policy document.");
                    }

                    InlinePolicies[arn] = ConcurrentWriteAfterNextPut ?? policy;
                    ConcurrentWriteAfterNextPut = null;
                    return [];
                }

            case "DeleteInlinePolicyFromPermissionSet":
                InlinePolicies.Remove(ExistingPermissionSet(input));
                return [];

            case "ProvisionPermissionSet":
                {
                    var arn = ExistingPermissionSet(input);
                    var accountId = Str(input, "TargetId");
                    if (Str(input, "TargetType") != "AWS_ACCOUNT" || accountId.Length != 12 || !accountId.All(char.IsAsciiDigit))
                    {
                        throw new JsonFault("ValidationException", "TargetType must be AWS_ACCOUNT with a 12-digit TargetId.");
                    }

                    if (_provisionings.Values.Any(p => p.PermissionSetArn == arn && p.AccountId == accountId && p.Status == "IN_PROGRESS"))
                    {
                        throw new JsonFault("ConflictException", "A provisioning of this permission set to this account is already in progress.");
                    }

                    var state = new ProvisioningState(Guid.NewGuid().ToString("D"), arn, accountId)
                    {
                        PollsLeft = AssignmentPolls,
                        FailureReason = _provisioningFailures.Count > 0 ? _provisioningFailures.Dequeue() : null,
                    };
                    _provisionings[state.RequestId] = state;
                    return new JsonObject { ["PermissionSetProvisioningStatus"] = state.ToJson() };
                }

            case "DescribePermissionSetProvisioningStatus":
                {
                    var id = Str(input, "ProvisionPermissionSetRequestId");
                    if (!_provisionings.TryGetValue(id, out var state))
                    {
                        throw new JsonFault("ResourceNotFoundException", $"Request {id} does not exist.");
                    }

                    Advance(state);
                    return new JsonObject { ["PermissionSetProvisioningStatus"] = state.ToJson() };
                }

            default:
                throw new JsonFault("UnknownOperationException", $"Unknown operation {operation}");
        }
    }

    private string ExistingPermissionSet(JsonObject input)
    {
        var arn = Str(input, "PermissionSetArn");
        return PermissionSets.ContainsKey(arn) ? arn : throw new JsonFault("ResourceNotFoundException", "The permission set does not exist.");
    }

    private void Advance(ProvisioningState state)
    {
        if (state.Status != "IN_PROGRESS" || --state.PollsLeft > 0)
        {
            return;
        }

        var policy = InlinePolicies.GetValueOrDefault(state.PermissionSetArn, string.Empty);
        state.FailureReason ??= policy.Count(c => !char.IsWhiteSpace(c)) > 10_240 ? "The inline policy exceeds the quota for the role's inline policies." : null;
        if (state.FailureReason is not null)
        {
            state.Status = "FAILED";
            return;
        }

        ProvisionedInlinePolicies[(state.AccountId, state.PermissionSetArn)] = policy;
        state.Status = "SUCCEEDED";
    }

    private static string Iso(DateTimeOffset instant) => instant.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private sealed class ProvisioningState(string requestId, string permissionSetArn, string accountId)
    {
        public string RequestId { get; } = requestId;

        public string PermissionSetArn { get; } = permissionSetArn;

        public string AccountId { get; } = accountId;

        public string Status { get; set; } = "IN_PROGRESS";

        public int PollsLeft { get; set; }

        public string? FailureReason { get; set; }

        public JsonObject ToJson() =>
            OperationStatus(RequestId, Status, FailureReason, new JsonObject { [nameof(AccountId)] = AccountId, [nameof(PermissionSetArn)] = PermissionSetArn });
    }
}

/// <summary>A role session of a permission set, as the access portal issues it.</summary>
public sealed record FakeRoleSession(string AccountId, string PermissionSetArn, string UserId, DateTimeOffset IssuedAt, DateTimeOffset ExpiresAt);
