using AccessWorkflows.Notifications;
using AccessWorkflows.Requests;
using AccessWorkflows.Slack.Api;
using AccessWorkflows.Slack.Tests.Fakes;

namespace AccessWorkflows.Slack.Tests;

/// <summary>The <c>slack</c> notification channel through its port, against the fake Web API.</summary>
public sealed class SlackNotificationChannelTests : IAsyncLifetime
{
    private SlackTestHost _host = null!;

    public async Task InitializeAsync() => _host = await SlackTestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_rerun_delivery_posts_nothing_twice()
    {
        var request = Request("req-idem");
        var prompt = Note("n1", NotificationKind.ApprovalRequested, request, level: 1);
        var received = Note("n0", NotificationKind.Received, request);

        await _host.Channel.DeliverAsync(received);
        await _host.Channel.DeliverAsync(prompt);
        await _host.Channel.DeliverAsync(prompt);
        await _host.Channel.DeliverAsync(received);

        Assert.Single(_host.Slack.MessagesIn(FakeAccessWorkflow.ApproverChannel));
        Assert.Single(_host.Slack.MessagesIn(FakeSlackWebApi.DmChannelOf(SlackTestHost.RequesterId)));
        Assert.Equal(2, _host.Slack.CallsOf("chat.postMessage").Count);
    }

    [Fact]
    public async Task A_rate_limited_post_is_retried_after_Retry_After_and_later_updates_wait_for_it()
    {
        var request = Request("req-429");
        _host.Slack.RateLimit("chat.postMessage", 1);

        var prompt = _host.Channel.DeliverAsync(Note("p", NotificationKind.ApprovalRequested, request, level: 1));
        await Eventually.Until(() => _host.Slack.Calls.Any(c => c.Status == 429), "Slack answered 429");
        request.End(RequestStatus.Denied, DateTimeOffset.UtcNow, SlackTestHost.ApproverEmail, "no");
        var denied = _host.Channel.DeliverAsync(Note("d", NotificationKind.Denied, request, actor: SlackTestHost.ApproverEmail, comment: "no"));
        await Task.WhenAll(prompt, denied);

        var sequence = _host.Slack.Calls.Where(c => c.Method is "chat.postMessage" or "chat.update").Select(c => (c.Method, c.Status)).ToList();
        Assert.Equal(("chat.postMessage", 429), sequence[0]);
        Assert.Equal(("chat.postMessage", 200), sequence[1]);
        Assert.Equal(("chat.update", 200), sequence[2]);
        var message = Assert.Single(_host.Slack.MessagesIn(FakeAccessWorkflow.ApproverChannel));
        Assert.Contains("Denied by carol@example.com: no", message.ToJsonString());
    }

    [Fact]
    public async Task A_rate_limit_that_does_not_end_fails_the_delivery_so_the_activity_retries()
    {
        _host.Slack.RetryAfterSeconds = 0;
        _host.Slack.RateLimit("chat.postMessage", 100);
        var prompt = Note("p", NotificationKind.ApprovalRequested, Request("req-429x"), level: 1);

        var error = await Assert.ThrowsAsync<SlackApiException>(() => _host.Channel.DeliverAsync(prompt));
        Assert.Equal("ratelimited", error.Error);
        Assert.False(error.IsPermanent);

        _host.Slack.RateLimit("chat.postMessage", 0);
        await _host.Channel.DeliverAsync(prompt);
        Assert.Single(_host.Slack.MessagesIn(FakeAccessWorkflow.ApproverChannel));
    }

    [Fact]
    public async Task A_missing_channel_is_logged_and_skipped_and_the_requester_is_still_told()
    {
        var request = Request("req-nochan", slackChannel: "C0GONE");
        request.End(RequestStatus.TimedOut, DateTimeOffset.UtcNow, "system", null);

        await _host.Channel.DeliverAsync(Note("p", NotificationKind.ApprovalRequested, Request("req-nochan", slackChannel: "C0GONE"), level: 1));
        await _host.Channel.DeliverAsync(Note("t", NotificationKind.TimedOut, request));

        Assert.Contains(_host.Slack.Calls, c => c is { Method: "chat.postMessage", Error: "channel_not_found" });
        var dm = Assert.Single(_host.Slack.MessagesIn(FakeSlackWebApi.DmChannelOf(SlackTestHost.RequesterId)));
        Assert.Contains("timed out", dm["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_wrong_bot_token_is_an_invalid_auth_error_and_breaks_nothing()
    {
        await _host.DisposeAsync();
        _host = await SlackTestHost.StartAsync(configure: o => o.BotToken = "xoxb-wrong");

        await _host.Channel.DeliverAsync(Note("p", NotificationKind.ApprovalRequested, Request("req-auth"), level: 1));

        Assert.Contains(_host.Slack.Calls, c => c is { Method: "chat.postMessage", Error: "invalid_auth" });
        Assert.Empty(_host.Slack.MessagesIn(FakeAccessWorkflow.ApproverChannel));
    }

    [Fact]
    public async Task The_requester_is_reminded_before_expiry()
    {
        var request = Request("req-remind");
        request.MarkPending(1);
        request.Approve(TimeSpan.FromHours(1), SlackTestHost.ApproverEmail);
        request.Activate(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddMinutes(10));

        await _host.Channel.DeliverAsync(Note("r", NotificationKind.ExpiryReminder, request));

        var dm = Assert.Single(_host.Slack.MessagesIn(FakeSlackWebApi.DmChannelOf(SlackTestHost.RequesterId)));
        Assert.Contains("ends", dm["text"]!.GetValue<string>());
        Assert.Empty(_host.Slack.CallsOf("chat.update"));
    }

    [Fact]
    public async Task A_requester_without_a_Slack_account_gets_no_DM_and_the_approvers_still_do()
    {
        var request = Request("req-nouser", requester: "ghost@example.com");

        await _host.Channel.DeliverAsync(Note("r", NotificationKind.Received, request));
        await _host.Channel.DeliverAsync(Note("p", NotificationKind.ApprovalRequested, request, level: 1));

        Assert.Contains(_host.Slack.Calls, c => c is { Method: "users.lookupByEmail", Error: "users_not_found" });
        Assert.Empty(_host.Slack.CallsOf("conversations.open"));
        Assert.Single(_host.Slack.MessagesIn(FakeAccessWorkflow.ApproverChannel));
    }

    [Fact]
    public async Task Levels_that_share_a_channel_share_one_message_and_a_level_without_a_channel_posts_nothing()
    {
        var request = Request("req-levels");
        request = new AccessRequest
        {
            Id = request.Id,
            Requester = request.Requester,
            AccountId = request.AccountId,
            Access = request.Access,
            Duration = request.Duration,
            RuleName = request.RuleName,
            Approval = request.Approval with
            {
                Levels =
                [
                    new ApprovalLevelPlan { Level = 1, Approvers = ["carol@example.com"], SlackChannel = FakeAccessWorkflow.ApproverChannel },
                    new ApprovalLevelPlan { Level = 2, Approvers = ["erin@example.com"], SlackChannel = FakeAccessWorkflow.ApproverChannel },
                    new ApprovalLevelPlan { Level = 3, Approvers = ["sec@example.com"] },
                ],
            },
        };

        await _host.Channel.DeliverAsync(Note("l1", NotificationKind.ApprovalRequested, request, level: 1));
        request.MarkPending(2);
        await _host.Channel.DeliverAsync(Note("l2", NotificationKind.ApprovalRequested, request, level: 2));
        request.MarkPending(3);
        await _host.Channel.DeliverAsync(Note("l3", NotificationKind.ApprovalRequested, request, level: 3));

        var message = Assert.Single(_host.Slack.MessagesIn(FakeAccessWorkflow.ApproverChannel));
        Assert.Contains("level 3", message.ToJsonString());
    }

    [Fact]
    public async Task A_pagerduty_responder_gets_the_approver_message_by_dm_once_and_it_is_updated_in_place()
    {
        var request = Request("req-pd");
        request.Approval = request.Approval with
        {
            Levels = [.. request.Approval.Levels, new ApprovalLevelPlan { Level = 2, PagerDutyEscalationPolicy = "PESC123" }],
        };
        request.MarkPending(1);
        request.MarkPending(2, [SlackTestHost.ApproverEmail]);
        var prompt = Note("p2", NotificationKind.ApprovalRequested, request, level: 2);

        await _host.Channel.DeliverAsync(prompt);
        await _host.Channel.DeliverAsync(prompt);

        var dm = FakeSlackWebApi.DmChannelOf(SlackTestHost.ApproverId);
        var message = Assert.Single(_host.Slack.MessagesIn(dm));
        Assert.Contains("\"action_id\":\"approve\"", message.ToJsonString(), StringComparison.Ordinal);

        request.End(RequestStatus.Denied, DateTimeOffset.UtcNow, SlackTestHost.ApproverEmail, "not now");
        await _host.Channel.DeliverAsync(Note("d", NotificationKind.Denied, request, actor: SlackTestHost.ApproverEmail, comment: "not now"));

        var updated = Assert.Single(_host.Slack.MessagesIn(dm));
        Assert.Contains("Denied by carol@example.com", updated.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain("\"action_id\":\"approve\"", updated.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_break_glass_reminder_run_twice_in_a_day_posts_once_per_target_and_again_the_next_day()
    {
        var request = Request("req-bg");
        request.Approval = request.Approval with
        {
            BreakGlass = new BreakGlassPlan(TimeSpan.FromMinutes(30), "C0SECOPS", null, [SlackTestHost.ApproverEmail, "nobody-in-slack@example.com"]),
        };
        request.AddDecision(new DecisionRecord("bg", request.Requester, DecisionKind.Approve, TimeSpan.FromMinutes(30), "pager went off", "api", 0, DateTimeOffset.UtcNow));
        request.MarkBreakGlass();
        _host.Slack.AddChannel("C0SECOPS");
        var today = new Notification { Id = AccessWorkflows.BreakGlass.BreakGlassReminders.ReminderId(request.Id, DateTimeOffset.UtcNow), Kind = NotificationKind.BreakGlassUnreviewed, Request = request, At = DateTimeOffset.UtcNow };

        await _host.Channel.DeliverAsync(today);
        await _host.Channel.DeliverAsync(today);

        var dm = FakeSlackWebApi.DmChannelOf(SlackTestHost.ApproverId);
        Assert.Contains("still unreviewed", Assert.Single(_host.Slack.MessagesIn(dm))["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Single(_host.Slack.MessagesIn("C0SECOPS"));
        Assert.Single(_host.Slack.MessagesIn(FakeAccessWorkflow.ApproverChannel));
        Assert.Empty(_host.Slack.MessagesIn(FakeSlackWebApi.DmChannelOf(SlackTestHost.RequesterId)));

        await _host.Channel.DeliverAsync(today with { Id = AccessWorkflows.BreakGlass.BreakGlassReminders.ReminderId(request.Id, DateTimeOffset.UtcNow.AddDays(1)) });

        Assert.Equal(2, _host.Slack.MessagesIn(dm).Count);
        Assert.Equal(2, _host.Slack.MessagesIn("C0SECOPS").Count);
    }

    private static AccessRequest Request(string id, string slackChannel = FakeAccessWorkflow.ApproverChannel, string requester = SlackTestHost.RequesterEmail) => new()
    {
        Id = id,
        Requester = requester,
        AccountId = "111122223333",
        Access = AccessSpec.Policy("arn:aws:iam::aws:policy/ReadOnlyAccess"),
        Duration = TimeSpan.FromHours(1),
        Reason = "testing",
        RuleName = "readonly",
        CreatedAt = DateTimeOffset.UtcNow,
        Approval = new ApprovalPlan
        {
            MaxDuration = TimeSpan.FromHours(8),
            Levels = [new ApprovalLevelPlan { Level = 1, Approvers = ["carol@example.com"], SlackChannel = slackChannel }],
        },
    };

    private static Notification Note(string id, NotificationKind kind, AccessRequest request, int? level = null, string? actor = null, string? comment = null) => new()
    {
        Id = request.Id + ":" + id,
        Kind = kind,
        Request = Snapshot(request),
        Level = level,
        Actor = actor,
        Comment = comment,
        At = DateTimeOffset.UtcNow,
    };

    private static AccessRequest Snapshot(AccessRequest r) =>
        System.Text.Json.JsonSerializer.Deserialize<AccessRequest>(System.Text.Json.JsonSerializer.Serialize(r))!;
}
