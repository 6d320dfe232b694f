using AccessWorkflows.Notifications;
using AccessWorkflows.Requests;
using AccessWorkflows.Workflow;

namespace AccessWorkflows.Tests.Workflow;

/// <summary>
/// Workflow version 4 (issue #15): extensions move the expiry and reminder timers (the old ones are cancelled, never
/// left to fire), and a cancel recorded by the store before the approval ends the request cancelled with nothing
/// provisioned. Earlier versions wait for neither event.
/// </summary>
public sealed class LifecycleOrchestrationTests
{
    private static readonly DateTime Start = new(2026, 11, 21, 9, 0, 0, DateTimeKind.Utc);

    [Fact]
    public async Task An_immediate_extension_cancels_the_old_timers_and_the_grant_expires_at_the_new_expiry()
    {
        var h = Harness(new ExtensionPlan(2, TimeSpan.FromHours(1), RequireApproval: false));
        var run = h.Start();
        h.Decide("carol@example.com", DecisionKind.Approve);
        Assert.Equal(RequestStatus.Active, h.Request.Status);
        var expiry = h.PendingTimers.Single(t => t.FireAt == Start.AddHours(1));
        var reminder = h.PendingTimers.Single(t => t.FireAt == Start.AddMinutes(50));

        h.Raise(WorkflowNames.ExtendEvent, new ExtendCommand("x1", "Alice@Example.com", TimeSpan.FromMinutes(30), "overran", Channels.Api, Start));

        Assert.True(expiry.Task.IsCanceled && reminder.Task.IsCanceled, "the old expiry and reminder timers are cancelled");
        Assert.Equal(new[] { Start.AddMinutes(80), Start.AddMinutes(90) }, h.PendingTimers.Select(t => t.FireAt).Order());
        var grant = Assert.Single(h.ExtendGrants);
        Assert.Equal((new DateTimeOffset(Start.AddMinutes(90)), "iam-user"), (grant.ExpiresAt, grant.Grant.UserName));
        Assert.Equal(new DateTimeOffset(Start.AddMinutes(90)), h.Request.ExpiresAt);
        Assert.Equal(NotificationKind.Extended, h.NotificationKinds.Last());
        var applied = Assert.Single(h.Changes, c => c.Kind == RequestChangeKind.ExtensionApplied);
        Assert.Equal(("alice@example.com", null), (applied.Actor, applied.ApprovedBy));

        // The same ask delivered twice counts once: no second extension.
        h.Raise(WorkflowNames.ExtendEvent, new ExtendCommand("x1", "alice@example.com", TimeSpan.FromMinutes(30), "overran", Channels.Api, Start));
        Assert.Single(h.ExtendGrants);

        h.Fire(Start.AddMinutes(80));
        Assert.Equal(NotificationKind.ExpiryReminder, h.NotificationKinds.Last());
        h.Fire(Start.AddMinutes(90));
        h.FireActivityTimer();
        Assert.Equal(RequestStatus.Expired, (await run).Status);
        Assert.Equal(new DateTimeOffset(Start.AddMinutes(90)), Assert.Single(h.ActivityCollections).To);
        Assert.Single(h.Deprovisions);
    }

    [Fact]
    public async Task An_extension_that_needs_approval_keeps_the_expiry_until_an_approver_of_the_rule_approves()
    {
        var h = Harness(new ExtensionPlan(1, TimeSpan.FromHours(1), RequireApproval: true));
        var run = h.Start();
        h.Decide("carol@example.com", DecisionKind.Approve);
        h.Raise(WorkflowNames.ExtendEvent, new ExtendCommand("x1", "alice@example.com", TimeSpan.FromHours(1), null, Channels.Slack, Start));

        Assert.Equal(ExtensionStatus.Pending, Assert.Single(h.Request.Extensions).Status);
        Assert.Equal(NotificationKind.ExtensionRequested, h.NotificationKinds.Last());
        Assert.Empty(h.ExtendGrants);
        Assert.Contains(h.PendingTimers, t => t.FireAt == Start.AddHours(1));

        h.Decide("alice@example.com", DecisionKind.Approve); // the requester: refused
        h.Decide("mallory@example.com", DecisionKind.Approve); // no approver of the rule: refused
        Assert.Equal(2, h.Changes.Count(c => c.Kind == RequestChangeKind.DecisionRefused));
        Assert.Empty(h.ExtendGrants);

        h.Decide("dave@example.com", DecisionKind.Approve);
        Assert.Equal(
            [RequestChangeKind.ExtensionRequested, RequestChangeKind.DecisionRefused, RequestChangeKind.DecisionRefused, RequestChangeKind.ExtensionApproved, RequestChangeKind.ExtensionApplied],
            h.Changes.SkipWhile(c => c.Kind != RequestChangeKind.ExtensionRequested).Select(c => c.Kind));
        Assert.Equal(("dave@example.com", new DateTimeOffset(Start.AddHours(2))), (h.Request.Extensions[0].DecidedBy, h.Request.ExpiresAt!.Value));
        Assert.Equal(new[] { Start.AddMinutes(110), Start.AddHours(2) }, h.PendingTimers.Select(t => t.FireAt).Order());

        h.Raise(WorkflowNames.RelinquishEvent, new EndCommand("r1", "alice@example.com", Channels.Api, null, Start));
        h.FireActivityTimer();
        Assert.Equal(RequestStatus.Relinquished, (await run).Status);
    }

    [Fact]
    public async Task A_cancel_the_store_recorded_before_the_approval_ends_the_request_cancelled_and_provisions_nothing()
    {
        var h = Harness(null);
        var run = h.Start();

        // The commands port recorded the cancel on the stored request while this approval was being counted.
        h.BeforeChange = r => r.RequestCancel();
        h.Decide("carol@example.com", DecisionKind.Approve);

        var result = await run;
        Assert.Equal(RequestStatus.Cancelled, result.Status);
        Assert.Empty(h.Provisions);
        var ended = h.Changes[^1];
        Assert.Equal((RequestChangeKind.Ended, RequestStatus.Cancelled, "alice@example.com"), (ended.Kind, ended.EndStatus, ended.Actor));
    }

    [Fact]
    public async Task The_requesters_cancel_while_pending_ends_it_and_cancels_the_approval_window()
    {
        var h = Harness(null);
        var run = h.Start();
        var window = h.PendingTimers.Single();
        h.Raise(WorkflowNames.CancelEvent, new EndCommand("c1", "alice@example.com", Channels.Teams, null, Start));

        var result = await run;
        Assert.Equal(RequestStatus.Cancelled, result.Status);
        Assert.True(window.Task.IsCanceled);
        Assert.Equal((RequestStatus.Cancelled, "alice@example.com", Channels.Teams), (h.Request.Status, h.Request.EndedBy, h.Changes[^1].Channel));
        Assert.Equal(NotificationKind.Ended, h.NotificationKinds.Last());
        Assert.Empty(h.Provisions);
    }

    private static OrchestratorHarness Harness(ExtensionPlan? extension)
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
                Extension = extension,
            },
            CreatedAt = Start,
            WorkflowVersion = 4,
        });
        h.Input = h.Input with { Version = 4 };
        return h;
    }
}
