using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AccessWorkflows.BreakGlass;
using AccessWorkflows.Notifications;
using AccessWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Server.Tests;

/// <summary>
/// Issue #15 parts 3 and 4 through the real server (embedded engine, SQLite, sandbox account): break-glass with its
/// review, listing and daily reminder, and approval stages that must all pass in order (lifecycle-rules.yaml).
/// </summary>
public sealed class BreakGlassAndStagesTests : IClassFixture<BreakGlassAndStagesTests.Fixture>
{
    private const string BreakGlassPolicy = Api.ReadOnly;
    private const string StagedPolicy = "arn:aws:iam::aws:policy/AdministratorAccess";
    private readonly ServerFactory _server;
    private readonly RecordingNotificationChannel _sent;

    public BreakGlassAndStagesTests(Fixture fixture)
    {
        _server = fixture.Server;
        _sent = fixture.Server.Services.GetRequiredService<RecordingNotificationChannel>();
    }

    [Fact]
    public async Task The_requesters_own_approval_with_a_comment_grants_at_once_capped_flagged_audited_and_alerted()
    {
        var ann = _server.As("ann@example.com");
        var created = await Api.CreateAsync(ann, Api.PolicyRequest(BreakGlassPolicy));

        var decision = await Api.DecideAsync(ann, created.Id, "approve", comment: "prod is down, INC-42");

        Assert.Equal(HttpStatusCode.Accepted, decision.StatusCode);
        var active = await Api.WaitForStatusAsync(ann, created.Id, "active");
        Assert.Equal("PT5S", active.GrantedDuration); // asked PT30S, capped at breakGlass.maxDuration
        Assert.Equal("ann@example.com", active.ApprovedBy);
        var only = Assert.Single(active.Decisions);
        Assert.Equal((0, "prod is down, INC-42"), (only.Level, only.Comment));
        Assert.Contains(BreakGlassPolicy, (await Api.SandboxUserAsync(_server.As("secops@example.com"), "ann@example.com")).AttachedPolicies);

        var view = await ViewAsync(created.Id);
        Assert.True(view.GetProperty("breakGlass").GetBoolean());
        Assert.Equal(JsonValueKind.Null, view.GetProperty("review").ValueKind);

        var audit = await AuditAsync(created.Id);
        var flagged = Assert.Single(audit, e => e.Type == "request.breakGlass");
        Assert.Equal(("ann@example.com", "api"), (flagged.Actor, flagged.Channel));
        Assert.Contains("prod is down, INC-42", flagged.Detail);

        // One alert, to everyone the plan names: every approver of both levels, then every admin.
        var alert = Assert.Single(await SentAsync(created.Id, NotificationKind.BreakGlass));
        Assert.Equal(
            ["carol@example.com", "dave@example.com", "erin@example.com", "frank@example.com", "secops@example.com"],
            alert.Request.Approval.BreakGlass!.Alerted);
        Assert.Equal("C0SECOPS", alert.Request.Approval.BreakGlass.SlackChannel);
        Assert.True(alert.Request.BreakGlass);
        Assert.DoesNotContain(_sent.For(created.Id), n => n.Kind == NotificationKind.ApprovalRequested && n.Level == 2);
    }

    [Fact]
    public async Task A_break_glass_approval_without_a_comment_is_400_and_changes_nothing()
    {
        var bob = _server.As("bob@example.com");
        var created = await Api.CreatePendingAsync(bob, Api.PolicyRequest(BreakGlassPolicy));

        var blank = await Api.DecideAsync(bob, created.Id, "approve", comment: "   ");
        var none = await Api.DecideAsync(bob, created.Id, "approve");

        Assert.Equal(HttpStatusCode.BadRequest, blank.StatusCode);
        Assert.Equal("application/problem+json", blank.Content.Headers.ContentType?.MediaType);
        Assert.Contains("needs a comment", await blank.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, none.StatusCode);
        var after = await Api.GetAsync(bob, created.Id);
        Assert.Equal("pending", after.Status);
        Assert.Empty(after.Decisions);
        Assert.False((await ViewAsync(created.Id)).GetProperty("breakGlass").GetBoolean());
    }

    [Fact]
    public async Task On_a_rule_without_break_glass_the_requesters_own_approval_stays_refused()
    {
        var cid = _server.As("cid@example.com");
        var created = await Api.CreatePendingAsync(cid, Api.PolicyRequest(StagedPolicy));

        var own = await Api.DecideAsync(cid, created.Id, "approve", comment: "it is an emergency");

        Assert.Equal(HttpStatusCode.Forbidden, own.StatusCode);
        Assert.Equal("pending", (await Api.GetAsync(cid, created.Id)).Status);
    }

    [Fact]
    public async Task The_review_is_for_an_approver_or_admin_once_with_a_comment_and_takes_the_request_off_the_unreviewed_list()
    {
        var dee = _server.As("dee@example.com");
        var id = await BreakGlassActiveAsync(dee);
        Assert.Contains(id, await UnreviewedAsync(_server.As("secops@example.com")));
        Assert.Contains(id, await UnreviewedAsync(_server.As("carol@example.com"))); // an approver sees it too

        var byRequester = await ReviewAsync(dee, id, "all fine");
        var byOutsider = await ReviewAsync(_server.As("zed@example.com"), id, "all fine");
        var noComment = await ReviewAsync(_server.As("carol@example.com"), id, " ");
        Assert.Equal(HttpStatusCode.Forbidden, byRequester.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, byOutsider.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, noComment.StatusCode);
        Assert.Equal(JsonValueKind.Null, (await ViewAsync(id)).GetProperty("review").ValueKind);

        var review = await ReviewAsync(_server.As("frank@example.com"), id, "INC-43 confirmed; access was needed");
        Assert.Equal(HttpStatusCode.Accepted, review.StatusCode);

        var reviewed = (await ViewAsync(id)).GetProperty("review");
        Assert.Equal("frank@example.com", reviewed.GetProperty("by").GetString());
        Assert.Equal("INC-43 confirmed; access was needed", reviewed.GetProperty("comment").GetString());
        var entry = Assert.Single(await AuditAsync(id), e => e.Type == "request.reviewed");
        Assert.Equal(("frank@example.com", "api", "INC-43 confirmed; access was needed"), (entry.Actor, entry.Channel, entry.Detail));
        Assert.DoesNotContain(id, await UnreviewedAsync(_server.As("secops@example.com")));

        var again = await ReviewAsync(_server.As("secops@example.com"), id, "me too");
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("already reviewed by frank@example.com", await again.Content.ReadAsStringAsync());
        Assert.Single(await AuditAsync(id), e => e.Type == "request.reviewed");
    }

    [Fact]
    public async Task Reviewing_a_request_that_is_not_break_glass_is_409_and_bad_listing_filters_are_400()
    {
        var eve = _server.As("eve@example.com");
        var created = await Api.CreatePendingAsync(eve, Api.PolicyRequest(BreakGlassPolicy));

        var review = await ReviewAsync(_server.As("secops@example.com"), created.Id, "nothing happened");
        var unknown = await ReviewAsync(_server.As("secops@example.com"), "nosuchrequest", "x");
        var badFilter = await _server.As("secops@example.com").GetAsync("/api/requests?breakGlass=yes");

        Assert.Equal(HttpStatusCode.Conflict, review.StatusCode);
        Assert.Contains("not approved through break-glass", await review.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badFilter.StatusCode);
        Assert.Equal("application/problem+json", badFilter.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain(await AuditAsync(created.Id), e => e.Type == "request.reviewed");
    }

    [Fact]
    public async Task Two_stages_pass_in_order_and_nobody_counts_in_both()
    {
        var fay = _server.As("fay@example.com");
        var created = await Api.CreatePendingAsync(fay, Api.PolicyRequest(StagedPolicy, duration: "PT40S"));
        var first = await ViewAsync(created.Id);
        Assert.Equal((1, 2), (first.GetProperty("approvalStage").GetInt32(), first.GetProperty("approvalStages").GetInt32()));

        // Stage 2's own approver cannot decide before stage 1 passes.
        Assert.Equal(HttpStatusCode.Forbidden, (await Api.DecideAsync(_server.As("frank@example.com"), created.Id, "approve")).StatusCode);

        // erin approves in stage 1 (she is in both stages): stage 2 is asked.
        Assert.Equal(HttpStatusCode.Accepted, (await Api.DecideAsync(_server.As("erin@example.com"), created.Id, "approve", duration: "PT20S")).StatusCode);
        var second = await Eventually.Until(() => ViewAsync(created.Id), v => v.GetProperty("approvalStage").GetInt32() == 2, "stage 2 is asked");
        Assert.Equal(("pending", 2), (second.GetProperty("status").GetString(), second.GetProperty("approvalLevel").GetInt32()));
        Assert.Single(_sent.For(created.Id), n => n.Kind == NotificationKind.ApprovalRequested && n.Level == 2);

        // Her approval does not count again in stage 2, and stage 1's approvers no longer decide.
        var twice = await Api.DecideAsync(_server.As("erin@example.com"), created.Id, "approve");
        Assert.Equal(HttpStatusCode.Conflict, twice.StatusCode);
        Assert.Contains("already approved in stage 1", await twice.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Forbidden, (await Api.DecideAsync(_server.As("carol@example.com"), created.Id, "deny")).StatusCode);
        Assert.Equal("pending", (await Api.GetAsync(fay, created.Id)).Status);

        Assert.Equal(HttpStatusCode.Accepted, (await Api.DecideAsync(_server.As("frank@example.com"), created.Id, "approve")).StatusCode);
        var active = await Api.WaitForStatusAsync(fay, created.Id, "active");
        Assert.Equal("erin@example.com, frank@example.com", active.ApprovedBy);
        Assert.Equal("PT20S", active.GrantedDuration); // the shortest any stage's approver chose
        Assert.Equal([1, 2], active.Decisions.Select(d => d.Level));
        var refused = Assert.Single(await AuditAsync(created.Id), e => e.Type == "decision.refused" && e.Actor == "erin@example.com");
        Assert.Contains("no approver counts in two stages", refused.Detail);
    }

    [Fact]
    public async Task A_deny_in_the_second_stage_denies()
    {
        var gil = _server.As("gil@example.com");
        var created = await Api.CreatePendingAsync(gil, Api.PolicyRequest(StagedPolicy));
        Assert.Equal(HttpStatusCode.Accepted, (await Api.DecideAsync(_server.As("carol@example.com"), created.Id, "approve")).StatusCode);
        await Eventually.Until(() => ViewAsync(created.Id), v => v.GetProperty("approvalStage").GetInt32() == 2, "stage 2 is asked");

        Assert.Equal(HttpStatusCode.Accepted, (await Api.DecideAsync(_server.As("frank@example.com"), created.Id, "deny", comment: "not this week")).StatusCode);

        var denied = await Api.WaitForStatusAsync(gil, created.Id, "denied");
        Assert.Equal("frank@example.com", denied.EndedBy);
        Assert.Empty((await Api.SandboxUserAsync(_server.As("secops@example.com"), "gil@example.com")).AttachedPolicies);
        var late = await Api.DecideAsync(_server.As("erin@example.com"), created.Id, "approve");
        Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
    }

    [Fact]
    public async Task The_periodic_job_re_announces_an_unreviewed_break_glass_once_a_day_and_stops_after_the_review()
    {
        // Its own server: the job runs every second and reminds from the moment of the break-glass.
        using var server = new ServerFactory(settings: new Dictionary<string, string?>
        {
            ["AccessWorkflows:RulesPath"] = Path.Combine(AppContext.BaseDirectory, "lifecycle-rules.yaml"),
            ["AccessWorkflows:BreakGlass:ReminderInterval"] = "00:00:01",
            ["AccessWorkflows:BreakGlass:ReminderAfter"] = "00:00:00",
        });
        var sent = server.Services.GetRequiredService<RecordingNotificationChannel>();
        var hal = server.As("hal@example.com");
        var created = await Api.CreateAsync(hal, Api.PolicyRequest(BreakGlassPolicy));
        Assert.Equal(HttpStatusCode.Accepted, (await Api.DecideAsync(hal, created.Id, "approve", comment: "db failover")).StatusCode);
        await Api.WaitForStatusAsync(hal, created.Id, "active");

        var reminder = await Eventually.Until(
            () => Task.FromResult(sent.For(created.Id).Where(n => n.Kind == NotificationKind.BreakGlassUnreviewed).ToList()),
            r => r.Count > 0,
            "the job re-announced the unreviewed break-glass");
        var today = Assert.Single(reminder);
        Assert.Equal(BreakGlassReminders.ReminderId(created.Id, today.At), today.Id);

        // A run later the same day announces it again under the same id, which every channel already delivered.
        var reminders = server.Services.GetRequiredService<BreakGlassReminders>();
        Assert.Equal(1, await reminders.AnnounceUnreviewedAsync());
        Assert.Single(sent.For(created.Id), n => n.Kind == NotificationKind.BreakGlassUnreviewed);

        Assert.Equal(HttpStatusCode.Accepted, (await ReviewAsync(server.As("secops@example.com"), created.Id, "checked with the on-call")).StatusCode);
        Assert.Equal(0, await reminders.AnnounceUnreviewedAsync());
    }

    private async Task<string> BreakGlassActiveAsync(HttpClient requester)
    {
        var created = await Api.CreateAsync(requester, Api.PolicyRequest(BreakGlassPolicy));
        Assert.Equal(HttpStatusCode.Accepted, (await Api.DecideAsync(requester, created.Id, "approve", comment: "pager went off")).StatusCode);
        await Api.WaitForStatusAsync(requester, created.Id, "active");
        return created.Id;
    }

    private Task<List<Notification>> SentAsync(string id, NotificationKind kind) =>
        Eventually.Until(() => Task.FromResult(_sent.For(id).Where(n => n.Kind == kind).ToList()), n => n.Count > 0, $"a {kind} notification of {id} was sent");

    private async Task<JsonElement> ViewAsync(string id) =>
        await _server.As("audit@example.com").GetFromJsonAsync<JsonElement>($"/api/requests/{id}");

    private static Task<HttpResponseMessage> ReviewAsync(HttpClient client, string id, string comment) =>
        client.PostAsJsonAsync($"/api/requests/{id}/review", new { comment });

    private static async Task<List<string>> UnreviewedAsync(HttpClient client)
    {
        var list = await client.GetFromJsonAsync<JsonElement>("/api/requests?breakGlass=unreviewed&pageSize=200");
        return [.. list.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetString()!)];
    }

    private async Task<List<AuditJson>> AuditAsync(string id)
    {
        var audit = await _server.As("audit@example.com").GetFromJsonAsync<JsonElement>($"/api/requests/{id}/audit");
        return [.. audit.GetProperty("items").EnumerateArray().Select(e => e.Deserialize<AuditJson>(JsonSerializerOptions.Web)!)];
    }

    private sealed record AuditJson(string Type, string Actor, string Channel, string? Detail);

    public sealed class Fixture : IDisposable
    {
        public ServerFactory Server { get; } = new(settings: new Dictionary<string, string?>
        {
            ["AccessWorkflows:RulesPath"] = Path.Combine(AppContext.BaseDirectory, "lifecycle-rules.yaml"),
        });

        public void Dispose() => Server.Dispose();
    }
}
