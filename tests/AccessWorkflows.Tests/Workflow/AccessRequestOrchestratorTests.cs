using AccessWorkflows.Notifications;
using AccessWorkflows.OnCall;
using AccessWorkflows.Requests;
using AccessWorkflows.Workflow;

namespace AccessWorkflows.Tests.Workflow;

public sealed class AccessRequestOrchestratorTests
{
    private static readonly DateTime Start = new(2026, 11, 21, 9, 0, 0, DateTimeKind.Utc);

    [Fact]
    public async Task Approved_request_is_provisioned_reminded_and_revoked_at_expiry()
    {
        var h = new OrchestratorHarness(Request(duration: TimeSpan.FromHours(1)));
        var run = h.Start();

        Assert.Equal(1, h.Request.ApprovalLevel);
        h.Decide("carol@example.com", DecisionKind.Approve);

        Assert.Equal(RequestStatus.Active, h.Request.Status);
        var grant = Assert.Single(h.Provisions);
        Assert.Equal(("alice@example.com", "111122223333"), (grant.Email, grant.AccountId));
        Assert.Equal(Start.AddHours(1), h.Request.ExpiresAt!.Value.UtcDateTime);

        h.Fire(Start.AddMinutes(50));
        Assert.Contains(NotificationKind.ExpiryReminder, h.NotificationKinds);
        h.Fire(Start.AddHours(1));

        var result = await run;
        Assert.Equal(RequestStatus.Expired, result.Status);
        Assert.Equal("iam-user", Assert.Single(h.Deprovisions).UserName);
        Assert.Equal(
            [NotificationKind.Received, NotificationKind.ApprovalRequested, NotificationKind.Approved, NotificationKind.Active, NotificationKind.ExpiryReminder, NotificationKind.Ended],
            h.NotificationKinds);
        Assert.Empty(h.PendingTimers);
    }

    [Fact]
    public async Task Pre_approved_rule_needs_nobody()
    {
        var h = new OrchestratorHarness(Request(plan: Plan() with { Auto = true }));
        var run = h.Start();

        Assert.Equal(RequestStatus.Active, h.Request.Status);
        Assert.Equal("rule standard", h.Request.ApprovedBy);
        Assert.DoesNotContain(NotificationKind.ApprovalRequested, h.NotificationKinds);
        h.Fire(h.Request.ExpiresAt!.Value.UtcDateTime);
        Assert.Equal(RequestStatus.Expired, (await run).Status);
    }

    [Fact]
    public async Task On_call_requester_is_approved_for_at_most_the_on_call_duration()
    {
        var plan = Plan() with { OnCall = new OnCallPlan(["PSCHED1"], 1, TimeSpan.FromHours(1)) };
        var h = new OrchestratorHarness(Request(duration: TimeSpan.FromHours(4), plan: plan))
        {
            OnCallAnswer = new OnCallAnswer(true, "PSCHED1", "on call"),
        };
        var run = h.Start();

        Assert.Equal(RequestStatus.Active, h.Request.Status);
        Assert.Equal(TimeSpan.FromHours(1), h.Request.GrantedDuration);
        Assert.Equal("on call in schedule PSCHED1", h.Request.ApprovedBy);
        var decision = Assert.Single(h.Request.Decisions);
        Assert.Equal(Channels.PagerDuty, decision.Channel);
        h.Raise(WorkflowNames.RelinquishEvent, new EndCommand("r1", "alice@example.com", Channels.Api, null, Start));
        Assert.Equal(RequestStatus.Relinquished, (await run).Status);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Not_on_call_or_a_failing_directory_goes_to_people(bool directoryFails)
    {
        var plan = Plan() with { OnCall = new OnCallPlan(["PSCHED1"], 1, TimeSpan.FromHours(1)) };
        var h = new OrchestratorHarness(Request(plan: plan)) { OnCallAnswer = directoryFails ? null : OnCallAnswer.No("not on call") };
        _ = h.Start();

        Assert.Equal(RequestStatus.Pending, h.Request.Status);
        Assert.Contains(NotificationKind.ApprovalRequested, h.NotificationKinds);
        Assert.Empty(h.Provisions);
    }

    [Fact]
    public async Task Deny_ends_the_request_without_provisioning()
    {
        var h = new OrchestratorHarness(Request());
        var run = h.Start();
        h.Raise(WorkflowNames.DecisionEvent, new DecisionEvent("d1", "dave@example.com", DecisionKind.Deny, null, "no", Channels.Slack, Start));

        var result = await run;
        Assert.Equal(RequestStatus.Denied, result.Status);
        Assert.Equal("dave@example.com", h.Request.EndedBy);
        Assert.Equal("no", h.Request.StatusDetail);
        Assert.Empty(h.Provisions);
        Assert.Equal(NotificationKind.Denied, h.NotificationKinds.Last());
        Assert.Empty(h.PendingTimers);
    }

    [Fact]
    public async Task Escalation_notifies_the_next_level_whose_approvers_then_count()
    {
        var h = new OrchestratorHarness(Request());
        var run = h.Start();

        h.Decide("erin@example.com", DecisionKind.Approve);
        Assert.Equal(RequestStatus.Pending, h.Request.Status);
        Assert.Contains(h.Changes, c => c.Kind == RequestChangeKind.DecisionRefused && c.Actor == "erin@example.com");

        h.Fire(Start.AddHours(1));
        Assert.Equal(2, h.Request.ApprovalLevel);
        Assert.Equal(2, h.Notifications.Last(n => n.Kind == NotificationKind.ApprovalRequested).Level);

        h.Decide("erin@example.com", DecisionKind.Approve);
        Assert.Equal(RequestStatus.Active, h.Request.Status);
        Assert.Equal(2, Assert.Single(h.Request.Decisions).Level);
        h.Raise(WorkflowNames.RevokeEvent, new EndCommand("v1", "secops@example.com", Channels.Api, null, h.Now));
        Assert.Equal(RequestStatus.Revoked, (await run).Status);
    }

    [Fact]
    public async Task Nobody_deciding_within_the_window_times_out_and_cancels_every_timer()
    {
        var h = new OrchestratorHarness(Request());
        var run = h.Start();
        h.Fire(Start.AddHours(1)); // escalation to level 2
        h.Fire(Start.AddDays(1)); // the window

        Assert.Equal(RequestStatus.TimedOut, (await run).Status);
        Assert.Equal(NotificationKind.TimedOut, h.NotificationKinds.Last());
        Assert.Empty(h.PendingTimers);
        Assert.Empty(h.Provisions);
    }

    [Fact]
    public async Task Refused_decisions_keep_it_waiting_and_duplicates_count_once()
    {
        var plan = Plan() with { Levels = [Level(1, ["carol@example.com", "dave@example.com"]) with { MinApprovals = 2 }] };
        var h = new OrchestratorHarness(Request(plan: plan));
        var run = h.Start();

        h.Decide("alice@example.com", DecisionKind.Approve); // self-approval
        h.Decide("mallory@example.com", DecisionKind.Approve); // not an approver
        h.Decide("carol@example.com", DecisionKind.Approve, TimeSpan.FromHours(9)); // above the maximum
        h.Decide("carol@example.com", DecisionKind.Approve, id: "click-1");
        h.Decide("carol@example.com", DecisionKind.Approve, id: "click-1"); // the same click delivered twice
        h.Decide("carol@example.com", DecisionKind.Approve, id: "click-2"); // the same approver again
        Assert.Equal(RequestStatus.Pending, h.Request.Status);
        Assert.Single(h.Request.Decisions);
        Assert.Equal(4, h.Changes.Count(c => c.Kind == RequestChangeKind.DecisionRefused));

        h.Decide("dave@example.com", DecisionKind.Approve, TimeSpan.FromMinutes(30));
        Assert.Equal(RequestStatus.Active, h.Request.Status);
        Assert.Equal(TimeSpan.FromMinutes(30), h.Request.GrantedDuration);
        h.Fire(h.Request.ExpiresAt!.Value.UtcDateTime);
        Assert.Equal(RequestStatus.Expired, (await run).Status);
    }

    [Fact]
    public async Task Failed_provisioning_cleans_up_and_ends_failed()
    {
        var h = new OrchestratorHarness(Request()) { ProvisionFailures = 1 };
        var run = h.Start();
        h.Decide("carol@example.com", DecisionKind.Approve);

        var result = await run;
        Assert.Equal(RequestStatus.Failed, result.Status);
        Assert.Contains("NoSuchEntity", h.Request.StatusDetail);
        Assert.Null(Assert.Single(h.Deprovisions).UserName);
        Assert.Equal(NotificationKind.Failed, h.NotificationKinds.Last());
    }

    [Fact]
    public async Task Revocation_that_keeps_failing_alerts_and_tries_again_until_it_succeeds()
    {
        var h = new OrchestratorHarness(Request()) { DeprovisionFailures = 2 };
        var run = h.Start();
        h.Decide("carol@example.com", DecisionKind.Approve);
        h.Raise(WorkflowNames.RelinquishEvent, new EndCommand("r1", "alice@example.com", Channels.Api, null, h.Now));

        Assert.Equal(1, h.NotificationKinds.Count(k => k == NotificationKind.RevokeFailing));
        Assert.False(run.IsCompleted);
        h.Fire(h.PendingTimers.Single().FireAt);
        Assert.Equal(2, h.NotificationKinds.Count(k => k == NotificationKind.RevokeFailing));
        Assert.False(run.IsCompleted);
        h.Fire(h.PendingTimers.Single().FireAt);

        Assert.Equal(RequestStatus.Relinquished, (await run).Status);
        Assert.Equal(3, h.Deprovisions.Count);
    }

    [Fact]
    public async Task An_admin_can_revoke_while_pending_and_nothing_is_granted()
    {
        var h = new OrchestratorHarness(Request());
        var run = h.Start();
        h.Raise(WorkflowNames.RevokeEvent, new EndCommand("v1", "secops@example.com", Channels.Api, "duplicate", Start));

        Assert.Equal(RequestStatus.Revoked, (await run).Status);
        Assert.Empty(h.Provisions);
        Assert.Empty(h.PendingTimers);
    }

    [Fact]
    public async Task Every_channel_gets_every_notification_in_order()
    {
        var h = new OrchestratorHarness(Request(plan: Plan() with { Auto = true }), "slack", "webhook");
        var run = h.Start();
        h.Fire(h.Request.ExpiresAt!.Value.UtcDateTime);
        await run;

        NotificationKind[] expected = [NotificationKind.Received, NotificationKind.Approved, NotificationKind.Active, NotificationKind.Ended];
        Assert.Equal(expected, h.Deliveries.Where(d => d.Channel == "slack").Select(d => d.Notification.Kind));
        Assert.Equal(expected, h.Deliveries.Where(d => d.Channel == "webhook").Select(d => d.Notification.Kind));
        Assert.All(h.Deliveries.GroupBy(d => d.Notification.Id), g => Assert.Equal(["slack", "webhook"], g.Select(d => d.Channel).Order()));
    }

    private static AccessRequest Request(TimeSpan? duration = null, ApprovalPlan? plan = null) => new()
    {
        Id = "req-1",
        Requester = "alice@example.com",
        AccountId = "111122223333",
        Access = AccessSpec.Policy("arn:aws:iam::aws:policy/ReadOnlyAccess"),
        Duration = duration ?? TimeSpan.FromHours(1),
        Reason = "incident",
        RuleName = "standard",
        Approval = plan ?? Plan(),
        CreatedAt = Start,
    };

    private static ApprovalPlan Plan() => new()
    {
        Levels = [Level(1, ["carol@example.com", "dave@example.com", "alice@example.com"]) with { EscalateAfter = TimeSpan.FromHours(1) }, Level(2, ["erin@example.com"])],
        ApprovalWindow = TimeSpan.FromDays(1),
        MaxDuration = TimeSpan.FromHours(8),
    };

    private static ApprovalLevelPlan Level(int level, string[] approvers) => new() { Level = level, Approvers = approvers, MinApprovals = 1 };
}
