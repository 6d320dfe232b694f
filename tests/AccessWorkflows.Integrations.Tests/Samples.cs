using AccessWorkflows.Notifications;
using AccessWorkflows.Requests;

namespace AccessWorkflows.Integrations.Tests;

internal static class Samples
{
    public static AccessRequest Request(RequestStatus status = RequestStatus.Pending, int approvalLevel = 1) => new()
    {
        Id = "req-" + Guid.NewGuid().ToString("N")[..12],
        Requester = "alice@example.com",
        AccountId = "111122223333",
        Access = AccessSpec.Policy("arn:aws:iam::aws:policy/ReadOnlyAccess"),
        Duration = TimeSpan.FromHours(1),
        Reason = "investigate *incident* <!here>",
        RuleName = "readonly",
        Approval = new ApprovalPlan
        {
            Levels =
            [
                new ApprovalLevelPlan { Level = 1, Approvers = ["carol@example.com", "dave@example.com"], Webhook = true, SlackChannel = "C0123ABCD" },
                new ApprovalLevelPlan { Level = 2, Approvers = ["erin@example.com"], Webhook = false },
            ],
            MaxDuration = TimeSpan.FromHours(8),
        },
        Status = status,
        ApprovalLevel = approvalLevel,
        CreatedAt = DateTimeOffset.UtcNow,
    };

    public static Notification Notification(AccessRequest request, NotificationKind kind, int? level = null, string? actor = null) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        Kind = kind,
        Request = request,
        Level = level,
        Actor = actor,
        At = DateTimeOffset.UtcNow,
    };
}
