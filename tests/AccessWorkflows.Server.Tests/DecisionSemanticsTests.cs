using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AccessWorkflows.Requests;
using AccessWorkflows.Storage;
using AccessWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Server.Tests;

/// <summary>
/// SPEC 6.5 and issue #11: every answer is true. A request is decidable the moment it is accepted; 202 means the
/// decision is recorded, and one that arrives after the outcome is answered 409 with the outcome or recorded as too
/// late, never dropped. The races are made deterministic by holding the real workflow's store write at a gate.
/// </summary>
public sealed class DecisionSemanticsTests : IClassFixture<DecisionSemanticsTests.Fixture>
{
    private readonly Fixture _fixture;
    private readonly ServerFactory _server;

    public DecisionSemanticsTests(Fixture fixture)
    {
        _fixture = fixture;
        _server = fixture.Server;
    }

    [Fact]
    public async Task An_approval_sent_right_after_creation_counts()
    {
        // The workflow is held before it records level 1: the window every fast client hits.
        var (alice, created, gate) = await CreateAndHoldAsync("alma@example.com", r => r.ApprovalLevel == 0, approve: false, duration: "PT30S");

        var decision = await Api.DecideAsync(_server.As("carol@example.com"), created.Id, "approve");
        gate.Release();

        Assert.Equal(HttpStatusCode.Accepted, decision.StatusCode);
        var active = await Api.WaitForStatusAsync(alice, created.Id, "active");
        Assert.Equal("carol@example.com", active.ApprovedBy);
        Assert.Equal(1, Assert.Single(active.Decisions).Level);
    }

    [Fact]
    public async Task A_deny_sent_right_after_creation_counts()
    {
        var (bea, created, gate) = await CreateAndHoldAsync("bea@example.com", r => r.ApprovalLevel == 0, approve: false, duration: null);

        var decision = await Api.DecideAsync(_server.As("dave@example.com"), created.Id, "deny", comment: "no");
        gate.Release();

        Assert.Equal(HttpStatusCode.Accepted, decision.StatusCode);
        var denied = await Api.WaitForStatusAsync(bea, created.Id, "denied");
        Assert.Equal("dave@example.com", denied.EndedBy);
    }

    [Fact]
    public async Task Before_level_2_is_notified_its_approvers_are_still_refused()
    {
        var created = await Api.CreateAsync(_server.As("cleo@example.com"), Api.PolicyRequest());

        var early = await Api.DecideAsync(_server.As("erin@example.com"), created.Id, "approve");

        Assert.Equal(HttpStatusCode.Forbidden, early.StatusCode);
    }

    [Fact]
    public async Task A_deny_raised_while_the_deciding_approval_is_being_applied_is_recorded_as_too_late()
    {
        // The workflow has counted carol's approval and is about to record the outcome; the stored request still
        // says pending, so the deny is raised and answered 202. 202 means recorded: it must not vanish.
        var (dana, created, gate) = await CreateAndHoldAsync("dana@example.com", r => r.Status == RequestStatus.Pending && r.Decisions.Count > 0, approve: true, duration: "PT30S");
        var deny = await Api.DecideAsync(_server.As("dave@example.com"), created.Id, "deny", comment: "wait");
        Assert.Equal(HttpStatusCode.Accepted, deny.StatusCode);
        gate.Release();

        await Api.WaitForStatusAsync(dana, created.Id, "active");
        var late = await Eventually.Until(
            () => AuditAsync(created.Id),
            events => events.Any(e => e.Type == "decision.late"),
            "the deny is recorded as too late");
        var entry = late.Single(e => e.Type == "decision.late");
        Assert.Equal(("dave@example.com", "api"), (entry.Actor, entry.Channel));
        Assert.Contains("deny arrived after the request was approved", entry.Detail);
        Assert.DoesNotContain(late, e => e.Type == "decision.denied");
    }

    [Fact]
    public async Task A_decision_after_the_outcome_is_409_naming_it_and_is_audited()
    {
        var (edna, created, gate) = await CreateAndHoldAsync("edna@example.com", r => r.Status == RequestStatus.Approved, approve: true, duration: "PT30S");

        var deny = await Api.DecideAsync(_server.As("dave@example.com"), created.Id, "deny");
        gate.Release();

        Assert.Equal(HttpStatusCode.Conflict, deny.StatusCode);
        Assert.Equal("application/problem+json", deny.Content.Headers.ContentType?.MediaType);
        var problem = await deny.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("approved", problem.GetProperty("requestStatus").GetString());
        Assert.Contains("approved by carol@example.com", problem.GetProperty("detail").GetString());
        var late = Assert.Single(await AuditAsync(created.Id), e => e.Type == "decision.late");
        Assert.Equal("dave@example.com", late.Actor);
    }

    [Fact]
    public async Task A_relinquish_right_after_the_approval_ends_the_grant_once_it_is_active()
    {
        var (fay, created, gate) = await CreateAndHoldAsync("fay@example.com", r => r.Status == RequestStatus.Approved, approve: true, duration: "PT30S");

        var relinquish = await fay.PostAsync($"/api/requests/{created.Id}/relinquish", null);
        gate.Release();

        Assert.Equal(HttpStatusCode.Accepted, relinquish.StatusCode);
        var ended = await Api.WaitForStatusAsync(fay, created.Id, "relinquished");
        Assert.Equal("fay@example.com", ended.EndedBy);
        Assert.DoesNotContain(Api.ReadOnly, (await Api.SandboxUserAsync(_server.As("secops@example.com"), "fay@example.com")).AttachedPolicies);
    }

    [Fact]
    public async Task On_behalf_of_someone_the_rule_does_not_allow_is_403_and_records_nothing()
    {
        var gus = _server.As("gus@example.com");

        var outsider = await gus.PostAsJsonAsync("/api/requests", ForOthers("outsider@evil.example"));

        Assert.Equal(HttpStatusCode.Forbidden, outsider.StatusCode);
        Assert.Contains("outsider@evil.example", await outsider.Content.ReadAsStringAsync());
        var list = await _server.As("secops@example.com").GetFromJsonAsync<JsonElement>("/api/requests?requester=gus@example.com");
        Assert.Empty(list.GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task On_behalf_of_a_permitted_requester_is_accepted_and_both_are_in_the_audit_log()
    {
        var created = await Api.CreateAsync(_server.As("hal@example.com"), ForOthers("ida@example.com"));

        Assert.Equal("for-others", created.RuleName);
        var entry = Assert.Single(await AuditAsync(created.Id), e => e.Type == "request.created");
        Assert.Equal("hal@example.com", entry.Actor);
        Assert.Contains("requested by hal@example.com on behalf of ida@example.com", entry.Detail);
        var view = await _server.As("ida@example.com").GetFromJsonAsync<JsonElement>($"/api/requests/{created.Id}");
        Assert.Equal("ida@example.com", view.GetProperty("onBehalfOf").GetString());
    }

    /// <summary>Creates a request as <paramref name="requester"/> (approved by carol when <paramref name="approve"/>)
    /// and waits until the workflow is held before the store write of a state matching <paramref name="held"/>.</summary>
    private async Task<(HttpClient Requester, RequestJson Created, Gate Gate)> CreateAndHoldAsync(string requester, Func<AccessRequest, bool> held, bool approve, string? duration)
    {
        var gate = _fixture.Store.HoldUpdate(r => r.Requester == requester && held(r));
        var client = _server.As(requester);
        var created = await Api.CreateAsync(client, Api.PolicyRequest(duration: duration));
        if (approve)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await Api.DecideAsync(_server.As("carol@example.com"), created.Id, "approve")).StatusCode);
        }

        await gate.WaitEnteredAsync();
        return (client, created, gate);
    }

    private static object ForOthers(string grantee) => new
    {
        accountId = Api.Account,
        access = new { type = "policy", policyArn = "arn:aws:iam::aws:policy/job-function/SupportUser" },
        onBehalfOf = grantee,
    };

    private async Task<List<AuditJson>> AuditAsync(string id)
    {
        var audit = await _server.As("audit@example.com").GetFromJsonAsync<JsonElement>($"/api/requests/{id}/audit");
        return [.. audit.GetProperty("items").EnumerateArray().Select(e => e.Deserialize<AuditJson>(JsonSerializerOptions.Web)!)];
    }

    private sealed record AuditJson(string Type, string Actor, string Channel, string? Detail);

    public sealed class Fixture : IDisposable
    {
        public ServerFactory Server { get; } = new() { TestServices = GatedRequestStore.Install };

        public GatedRequestStore Store => (GatedRequestStore)Server.Services.GetRequiredService<IRequestStore>();

        public void Dispose() => Server.Dispose();
    }
}
