using System.Text.Json;
using AccessWorkflows.Requests;

namespace AccessWorkflows.Storage.Tests.Contracts;

/// <summary>Requests for the contracts: fixed instants, every field set, so a round trip that drops anything shows.</summary>
public static class TestData
{
    public static readonly DateTimeOffset T0 = new(2026, 3, 14, 9, 26, 53, TimeSpan.Zero);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>A pending request with a two-level plan (approvers <c>lead@example.com</c>, then <c>head@example.com</c>).</summary>
    public static AccessRequest Pending(string id, string requester = "alice@example.com", DateTimeOffset? createdAt = null, string? onBehalfOf = null, params string[] approvers) => new()
    {
        Id = id,
        Requester = requester,
        OnBehalfOf = onBehalfOf,
        AccountId = "111122223333",
        Access = AccessSpec.Policy("arn:aws:iam::aws:policy/ReadOnlyAccess"),
        Duration = TimeSpan.FromHours(2),
        Reason = "investigate incident 42",
        RuleName = "read-only",
        Channel = Channels.Slack,
        CreatedAt = createdAt ?? T0,
        Approval = new ApprovalPlan
        {
            Levels =
            [
                new ApprovalLevelPlan { Level = 1, Approvers = approvers.Length > 0 ? approvers : ["lead@example.com"], MinApprovals = 1, SlackChannel = "C0123", EscalateAfter = TimeSpan.FromHours(1) },
                new ApprovalLevelPlan { Level = 2, Approvers = ["head@example.com"], TeamsChannel = "19:abc@thread.tacv2", Webhook = true },
            ],
            ApprovalWindow = TimeSpan.FromHours(24),
            MaxDuration = TimeSpan.FromHours(8),
        },
    };

    /// <summary>A request with every optional field set: an ended grant with decisions, on-call plan, resource access.</summary>
    public static AccessRequest Complete(string id)
    {
        var request = new AccessRequest
        {
            Id = id,
            Requester = "alice@example.com",
            OnBehalfOf = "build-bot@example.com",
            AccountId = "444455556666",
            Access = AccessSpec.Resource("arn:aws:s3:::p0-sensitive-data", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"),
            Duration = TimeSpan.FromMinutes(90),
            Reason = "Ünïcödé reason with \"quotes\", <tags> & *mrkdwn*",
            RuleName = "s3-sensitive",
            Channel = Channels.Teams,
            CreatedAt = new DateTimeOffset(2026, 3, 14, 11, 26, 53, 589, TimeSpan.FromHours(2)),
            Approval = new ApprovalPlan
            {
                Auto = false,
                OnCall = new OnCallPlan(["PSCHED1", "PSCHED2"], 2, TimeSpan.FromHours(1)),
                Levels =
                [
                    new ApprovalLevelPlan { Level = 1, Approvers = ["lead@example.com", "peer@example.com"], MinApprovals = 2, SlackChannel = "C0123", TeamsChannel = "19:abc@thread.tacv2", Webhook = true, EscalateAfter = TimeSpan.FromMinutes(30) },
                    new ApprovalLevelPlan { Level = 2, Approvers = ["head@example.com"] },
                ],
                ApprovalWindow = TimeSpan.FromDays(1),
                AllowSelfApproval = true,
                MaxDuration = TimeSpan.FromHours(4),
            },
            Status = RequestStatus.Revoked,
            ApprovalLevel = 2,
            Decisions =
            [
                new DecisionRecord("slack:a1", "lead@example.com", DecisionKind.Approve, TimeSpan.FromMinutes(45), "ok, shortened", Channels.Slack, 1, new DateTimeOffset(2026, 3, 14, 9, 40, 0, TimeSpan.Zero)),
                new DecisionRecord("teams:b2", "peer@example.com", DecisionKind.Approve, null, null, Channels.Teams, 1, new DateTimeOffset(2026, 3, 14, 9, 41, 0, TimeSpan.FromHours(-5))),
            ],
            GrantedAt = new DateTimeOffset(2026, 3, 14, 9, 41, 5, TimeSpan.Zero),
            ExpiresAt = new DateTimeOffset(2026, 3, 14, 10, 26, 5, TimeSpan.Zero),
            EndedAt = new DateTimeOffset(2026, 3, 14, 10, 0, 0, TimeSpan.Zero),
            GrantedDuration = TimeSpan.FromMinutes(45),
            ApprovedBy = "lead@example.com, peer@example.com",
            EndedBy = "admin@example.com",
            StatusDetail = "revoked by an admin",
        };
        return request;
    }

    public static DecisionRecord Decision(string id, string approver = "lead@example.com", int level = 1) =>
        new(id, approver, DecisionKind.Approve, null, null, Channels.Api, level, T0.AddMinutes(5));

    /// <summary>The request as the API would serve it: equal JSON means every serialized field survived.</summary>
    public static string ToJson(AccessRequest request) => JsonSerializer.Serialize(request, Json);
}
