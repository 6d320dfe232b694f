using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AccessWorkflows.Testing;

namespace AccessWorkflows.Server.Tests;

/// <summary>Every flow of SPEC 6 through the HTTP API of a running server, on the sandbox account.</summary>
public sealed class RequestLifecycleTests : IClassFixture<RequestLifecycleTests.Fixture>
{
    private readonly ServerFactory _server;

    public RequestLifecycleTests(Fixture fixture) => _server = fixture.Server;

    [Fact]
    public async Task Approved_request_becomes_active_then_expires_and_the_policy_comes_off()
    {
        var alice = _server.As("alice@example.com");
        var admin = _server.As("secops@example.com");

        var created = await Api.CreatePendingAsync(alice, Api.PolicyRequest(duration: "PT3S"));
        Assert.Equal("pending", created.Status);
        Assert.Equal("standard", created.RuleName);
        await Api.WaitForStatusAsync(alice, created.Id, "pending");

        var decision = await Api.DecideAsync(_server.As("carol@example.com"), created.Id, "approve", comment: "ok");
        Assert.Equal(HttpStatusCode.Accepted, decision.StatusCode);

        var active = await Api.WaitForStatusAsync(alice, created.Id, "active");
        Assert.Equal("carol@example.com", active.ApprovedBy);
        Assert.Equal(active.GrantedAt!.Value.AddSeconds(3), active.ExpiresAt);
        Assert.Contains(Api.ReadOnly, (await Api.SandboxUserAsync(admin, "alice@example.com")).AttachedPolicies);

        var expired = await Api.WaitForStatusAsync(alice, created.Id, "expired");
        Assert.NotNull(expired.EndedAt);
        Assert.DoesNotContain(Api.ReadOnly, (await Api.SandboxUserAsync(admin, "alice@example.com")).AttachedPolicies);

        var audit = await admin.GetFromJsonAsync<JsonElement>($"/api/requests/{created.Id}/audit");
        var types = audit.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("type").GetString()).ToList();
        Assert.Equal(["request.created", "request.pending", "decision.approved", "request.approved", "request.active", "request.expired"], types);
        var approval = audit.GetProperty("items").EnumerateArray().Single(e => e.GetProperty("type").GetString() == "decision.approved");
        Assert.Equal("carol@example.com", approval.GetProperty("actor").GetString());
        Assert.Equal("api", approval.GetProperty("channel").GetString());
    }

    [Fact]
    public async Task Denied_request_records_who_and_why_and_grants_nothing()
    {
        var bob = _server.As("bob@example.com");
        var created = await Api.CreatePendingAsync(bob, Api.PolicyRequest());

        Assert.Equal(HttpStatusCode.Accepted, (await Api.DecideAsync(_server.As("dave@example.com"), created.Id, "deny", comment: "not today")).StatusCode);

        var denied = await Api.WaitForStatusAsync(bob, created.Id, "denied");
        Assert.Equal("dave@example.com", denied.EndedBy);
        var deny = Assert.Single(denied.Decisions);
        Assert.Equal(("deny", "not today"), (deny.Decision, deny.Comment));
        Assert.Empty((await Api.SandboxUserAsync(_server.As("secops@example.com"), "bob@example.com")).AttachedPolicies);

        var late = await Api.DecideAsync(_server.As("carol@example.com"), created.Id, "approve");
        Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
    }

    [Fact]
    public async Task Nobody_deciding_within_the_window_times_the_request_out()
    {
        var frank = _server.As("frank@example.com");
        var created = await Api.CreatePendingAsync(frank, Api.PolicyRequest("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess", reason: null));
        Assert.Equal("quick-timeout", created.RuleName);

        var timedOut = await Api.WaitForStatusAsync(frank, created.Id, "timedOut");
        Assert.Equal("system", timedOut.EndedBy);
        Assert.Empty(timedOut.Decisions);
    }

    [Fact]
    public async Task Level_two_approvers_may_decide_only_after_escalation()
    {
        var grace = _server.As("grace@example.com");
        var erin = _server.As("erin@example.com");
        var created = await Api.CreatePendingAsync(grace, Api.PolicyRequest());

        var early = await Api.DecideAsync(erin, created.Id, "approve");
        Assert.Equal(HttpStatusCode.Forbidden, early.StatusCode);
        Assert.Equal("application/problem+json", early.Content.Headers.ContentType?.MediaType);

        await Eventually.Until(() => Api.GetAsync(grace, created.Id), r => r.ApprovalLevel == 2, "level 2 is notified after escalateAfter");
        Assert.Equal(HttpStatusCode.Accepted, (await Api.DecideAsync(erin, created.Id, "approve")).StatusCode);

        var active = await Api.WaitForStatusAsync(grace, created.Id, "active");
        Assert.Equal(2, Assert.Single(active.Decisions).Level);
    }

    [Fact]
    public async Task Self_approval_is_refused_and_the_request_stays_pending()
    {
        var carol = _server.As("carol@example.com");
        var created = await Api.CreatePendingAsync(carol, Api.PolicyRequest());

        var response = await Api.DecideAsync(carol, created.Id, "approve");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("own request", await response.Content.ReadAsStringAsync());

        var current = await Api.GetAsync(carol, created.Id);
        Assert.Equal("pending", current.Status);
        Assert.Empty(current.Decisions);
    }

    [Fact]
    public async Task Someone_who_is_no_approver_is_refused()
    {
        var heidi = _server.As("heidi@example.com");
        var created = await Api.CreatePendingAsync(heidi, Api.PolicyRequest());

        var response = await Api.DecideAsync(_server.As("mallory@example.com"), created.Id, "approve");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("pending", (await Api.GetAsync(heidi, created.Id)).Status);
    }

    [Fact]
    public async Task An_approver_may_shorten_but_never_lengthen_past_the_maximum()
    {
        var ivan = _server.As("ivan@example.com");
        var carol = _server.As("carol@example.com");
        var created = await Api.CreatePendingAsync(ivan, Api.PolicyRequest(duration: "PT30S"));

        var tooLong = await Api.DecideAsync(carol, created.Id, "approve", duration: "PT2M");
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Equal("pending", (await Api.GetAsync(ivan, created.Id)).Status);

        Assert.Equal(HttpStatusCode.Accepted, (await Api.DecideAsync(carol, created.Id, "approve", duration: "PT2S")).StatusCode);
        var active = await Api.WaitForStatusAsync(ivan, created.Id, "active");
        Assert.Equal("PT2S", active.GrantedDuration);
        Assert.Equal(active.GrantedAt!.Value.AddSeconds(2), active.ExpiresAt);
    }

    [Fact]
    public async Task Two_approvals_are_needed_when_the_rule_says_so_and_one_approver_counts_once()
    {
        var judy = _server.As("judy@example.com");
        var carol = _server.As("carol@example.com");
        var created = await Api.CreatePendingAsync(judy, Api.PolicyRequest("arn:aws:iam::aws:policy/AdministratorAccess", reason: null));
        Assert.Equal("two-approvals", created.RuleName);

        Assert.Equal(HttpStatusCode.Accepted, (await Api.DecideAsync(carol, created.Id, "approve")).StatusCode);
        await Eventually.Until(() => Api.GetAsync(judy, created.Id), r => r.Decisions.Count == 1, "the first approval is recorded");
        Assert.Equal(HttpStatusCode.Accepted, (await Api.DecideAsync(carol, created.Id, "approve")).StatusCode);

        // The second click of the same approver is refused by the workflow, not counted as a second approval.
        var admin = _server.As("secops@example.com");
        await Eventually.Until(
            async () => (await admin.GetFromJsonAsync<JsonElement>($"/api/requests/{created.Id}/audit")).GetProperty("items").EnumerateArray().Count(e => e.GetProperty("type").GetString() == "decision.refused"),
            refused => refused == 1,
            "the repeated approval is refused");
        Assert.Equal("pending", (await Api.GetAsync(judy, created.Id)).Status);

        Assert.Equal(HttpStatusCode.Accepted, (await Api.DecideAsync(_server.As("dave@example.com"), created.Id, "approve")).StatusCode);
        var active = await Api.WaitForStatusAsync(judy, created.Id, "active");
        Assert.Equal(["carol@example.com", "dave@example.com"], active.Decisions.Select(d => d.Approver).Order());
    }

    [Fact]
    public async Task The_requester_can_relinquish_an_active_grant_and_nobody_else_can()
    {
        var kim = _server.As("kim@example.com");
        var created = await Api.CreatePendingAsync(kim, Api.PolicyRequest(duration: "PT1M"));

        Assert.Equal(HttpStatusCode.Conflict, (await kim.PostAsync($"/api/requests/{created.Id}/relinquish", null)).StatusCode);
        await Api.DecideAsync(_server.As("carol@example.com"), created.Id, "approve");
        await Api.WaitForStatusAsync(kim, created.Id, "active");

        Assert.Equal(HttpStatusCode.Forbidden, (await _server.As("carol@example.com").PostAsync($"/api/requests/{created.Id}/relinquish", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await kim.PostAsync($"/api/requests/{created.Id}/relinquish", null)).StatusCode);

        var ended = await Api.WaitForStatusAsync(kim, created.Id, "relinquished");
        Assert.Equal("kim@example.com", ended.EndedBy);
        Assert.DoesNotContain(Api.ReadOnly, (await Api.SandboxUserAsync(_server.As("secops@example.com"), "kim@example.com")).AttachedPolicies);
    }

    [Fact]
    public async Task Only_an_admin_can_revoke()
    {
        var leo = _server.As("leo@example.com");
        var admin = _server.As("secops@example.com");
        var created = await Api.CreateAsync(leo, new { accountId = Api.Account, access = new { type = "group", groupName = "Auditors" }, duration = "PT1M" });
        Assert.Equal("pre-approved", created.RuleName);
        await Api.WaitForStatusAsync(leo, created.Id, "active");
        Assert.Contains("Auditors", (await Api.SandboxUserAsync(admin, "leo@example.com")).Groups);

        Assert.Equal(HttpStatusCode.Forbidden, (await leo.PostAsync($"/api/requests/{created.Id}/revoke", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await admin.PostAsJsonAsync($"/api/requests/{created.Id}/revoke", new { comment = "incident over" })).StatusCode);

        var revoked = await Api.WaitForStatusAsync(leo, created.Id, "revoked");
        Assert.Equal("secops@example.com", revoked.EndedBy);
        Assert.Equal("incident over", revoked.StatusDetail); // the admin's reason travels with the revoke
        Assert.DoesNotContain("Auditors", (await Api.SandboxUserAsync(admin, "leo@example.com")).Groups);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PostAsync($"/api/requests/{created.Id}/revoke", null)).StatusCode);
    }

    [Fact]
    public async Task Overlapping_grants_of_one_policy_do_not_cut_each_other_short()
    {
        var mia = _server.As("mia@example.com");
        var admin = _server.As("secops@example.com");
        var carol = _server.As("carol@example.com");
        var first = await Api.CreatePendingAsync(mia, Api.PolicyRequest(duration: "PT1M"));
        var second = await Api.CreatePendingAsync(mia, Api.PolicyRequest(duration: "PT1M"));
        await Api.DecideAsync(carol, first.Id, "approve");
        await Api.DecideAsync(carol, second.Id, "approve");
        await Api.WaitForStatusAsync(mia, first.Id, "active");
        await Api.WaitForStatusAsync(mia, second.Id, "active");

        await mia.PostAsync($"/api/requests/{first.Id}/relinquish", null);
        await Api.WaitForStatusAsync(mia, first.Id, "relinquished");
        Assert.Contains(Api.ReadOnly, (await Api.SandboxUserAsync(admin, "mia@example.com")).AttachedPolicies);

        await mia.PostAsync($"/api/requests/{second.Id}/relinquish", null);
        await Api.WaitForStatusAsync(mia, second.Id, "relinquished");
        Assert.DoesNotContain(Api.ReadOnly, (await Api.SandboxUserAsync(admin, "mia@example.com")).AttachedPolicies);
    }

    [Fact]
    public async Task A_resource_request_attaches_a_generated_policy_named_after_the_request()
    {
        var nina = _server.As("nina@example.com");
        var admin = _server.As("secops@example.com");
        var created = await Api.CreatePendingAsync(nina, new
        {
            accountId = Api.Account,
            access = new { type = "resource", resourceArn = "arn:aws:s3:::team-data", policyArn = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess" },
            duration = "PT1M",
            reason = "debugging",
        });
        await Api.DecideAsync(_server.As("dave@example.com"), created.Id, "approve");
        await Api.WaitForStatusAsync(nina, created.Id, "active");

        var generated = $"arn:aws:iam::{Api.Account}:policy/access-workflows/access-workflows-{created.Id}";
        Assert.Contains(generated, (await Api.SandboxUserAsync(admin, "nina@example.com")).AttachedPolicies);
        await nina.PostAsync($"/api/requests/{created.Id}/relinquish", null);
        await Api.WaitForStatusAsync(nina, created.Id, "relinquished");
        Assert.DoesNotContain(generated, (await Api.SandboxUserAsync(admin, "nina@example.com")).AttachedPolicies);
    }

    public sealed class Fixture : IDisposable
    {
        public ServerFactory Server { get; } = new();

        public void Dispose() => Server.Dispose();
    }
}
