using AccessWorkflows.Requests;
using AccessWorkflows.Workflow;

namespace AccessWorkflows.Tests.Workflow;

/// <summary>
/// Workflow version 3 (issue #11): a decision that reached the workflow before the request left pending, but after the
/// decision that settled it, is recorded as too late right after the request leaves pending — never left unread.
/// Version 1 and 2 instances keep their exact sequence.
/// </summary>
public sealed class LateDecisionTests
{
    private static readonly DateTime Start = new(2026, 11, 21, 9, 0, 0, DateTimeKind.Utc);

    [Fact]
    public async Task A_deny_behind_the_deciding_approval_is_recorded_as_too_late_and_the_grant_goes_ahead()
    {
        var h = Harness(AccessWorkflowInput.CurrentVersion);
        h.Raise(WorkflowNames.DecisionEvent, Decision("d1", "carol@example.com", DecisionKind.Approve));
        h.Raise(WorkflowNames.DecisionEvent, Decision("d2", "dave@example.com", DecisionKind.Deny));
        h.Raise(WorkflowNames.DecisionEvent, Decision("d2", "dave@example.com", DecisionKind.Deny)); // delivered twice
        var run = h.Start();

        Assert.Equal(RequestStatus.Active, h.Request.Status);
        var late = Assert.Single(h.Changes, c => c.Kind == RequestChangeKind.DecisionLate);
        Assert.Equal(("dave@example.com", Channels.Slack), (late.Actor, late.Channel));
        Assert.Equal(DecisionRules.LateAuditId("req-1", "d2"), late.AuditId);
        Assert.Equal("deny arrived after the request was approved; not counted", late.Detail);
        var kinds = h.Changes.Select(c => c.Kind).ToList();
        Assert.Equal(kinds.IndexOf(RequestChangeKind.Approved) + 1, kinds.IndexOf(RequestChangeKind.DecisionLate));
        Assert.DoesNotContain(h.Changes, c => c.Decision?.Id == "d2");

        h.Raise(WorkflowNames.RelinquishEvent, new EndCommand("r1", "alice@example.com", Channels.Api, null, Start));
        h.FireActivityTimer(); // version 4 on: the grant's activity is collected a while after it ended
        Assert.Equal(RequestStatus.Relinquished, (await run).Status);
    }

    [Fact]
    public async Task An_approval_behind_a_deny_is_recorded_as_too_late_after_the_request_ended()
    {
        var h = Harness(AccessWorkflowInput.CurrentVersion);
        h.Raise(WorkflowNames.DecisionEvent, Decision("d1", "dave@example.com", DecisionKind.Deny));
        h.Raise(WorkflowNames.DecisionEvent, Decision("d2", "carol@example.com", DecisionKind.Approve));

        var result = await h.Start();

        Assert.Equal(RequestStatus.Denied, result.Status);
        Assert.Equal(RequestChangeKind.DecisionLate, h.Changes[^1].Kind);
        Assert.Equal("approve arrived after the request was denied; not counted", h.Changes[^1].Detail);
        Assert.Empty(h.Provisions);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Earlier_versions_keep_their_sequence(int version)
    {
        var h = Harness(version);
        h.Raise(WorkflowNames.DecisionEvent, Decision("d1", "dave@example.com", DecisionKind.Deny));
        h.Raise(WorkflowNames.DecisionEvent, Decision("d2", "carol@example.com", DecisionKind.Approve));

        var result = await h.Start();

        Assert.Equal(RequestStatus.Denied, result.Status);
        Assert.DoesNotContain(h.Changes, c => c.Kind == RequestChangeKind.DecisionLate);
    }

    private static OrchestratorHarness Harness(int version)
    {
        var h = new OrchestratorHarness(new AccessRequest
        {
            Id = "req-1",
            Requester = "alice@example.com",
            AccountId = "111122223333",
            Access = AccessSpec.Policy("arn:aws:iam::aws:policy/ReadOnlyAccess"),
            Duration = TimeSpan.FromHours(1),
            RuleName = "standard",
            Approval = new ApprovalPlan
            {
                Levels = [new ApprovalLevelPlan { Level = 1, Approvers = ["carol@example.com", "dave@example.com"], MinApprovals = 1 }],
                ApprovalWindow = TimeSpan.FromDays(1),
                MaxDuration = TimeSpan.FromHours(8),
            },
            CreatedAt = Start,
        });
        h.Input = h.Input with { Version = version };
        return h;
    }

    private static DecisionEvent Decision(string id, string approver, DecisionKind kind) =>
        new(id, approver, kind, null, null, Channels.Slack, Start);
}
