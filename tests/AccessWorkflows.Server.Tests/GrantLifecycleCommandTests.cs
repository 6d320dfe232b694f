using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AccessWorkflows.Testing;

namespace AccessWorkflows.Server.Tests;

/// <summary>Issue #15 parts 1, 2 and 5 through the HTTP API of a running server: extending an active grant, cancelling a
/// pending request, and the per-requester limits of a rule (SPEC 13).</summary>
public sealed class GrantLifecycleCommandTests : IClassFixture<GrantLifecycleCommandTests.Fixture>
{
    private const string PowerUser = "arn:aws:iam::aws:policy/PowerUserAccess";
    private const string IamReadOnly = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";
    private const string SecurityAudit = "arn:aws:iam::aws:policy/SecurityAudit";

    private readonly ServerFactory _server;

    public GrantLifecycleCommandTests(Fixture fixture) => _server = fixture.Server;

    [Fact]
    public async Task An_immediate_extension_moves_the_expiry_and_the_grant_ends_only_at_the_new_one()
    {
        var oscar = _server.As("oscar@example.com");
        var admin = _server.As("secops@example.com");
        // Long enough that both extensions land before the first expiry even on a loaded machine (a 3 s grant did not).
        var created = await Api.CreateAsync(oscar, Api.PolicyRequest(PowerUser, duration: "PT10S"));
        var active = await Api.WaitForStatusAsync(oscar, created.Id, "active");
        var firstExpiry = active.ExpiresAt!.Value;

        var tooFar = await Extend(oscar, created.Id, "PT4S");
        Assert.Equal(HttpStatusCode.Conflict, tooFar.StatusCode);
        Assert.Contains("maxExtendBy", (await Problem(tooFar)).GetProperty("detail").GetString());

        Assert.Equal(HttpStatusCode.Accepted, (await Extend(oscar, created.Id, "3s", "need a bit longer")).StatusCode);
        var once = await Eventually.Until(() => Api.GetAsync(oscar, created.Id), r => r.ExpiresAt == firstExpiry.AddSeconds(3), "the first extension applies");
        Assert.Equal("applied", Assert.Single(once.Extensions!).Status);

        Assert.Equal(HttpStatusCode.Accepted, (await Extend(oscar, created.Id, "PT3S")).StatusCode);
        var finalExpiry = firstExpiry.AddSeconds(6);
        await Eventually.Until(() => Api.GetAsync(oscar, created.Id), r => r.ExpiresAt == finalExpiry, "the second extension applies");

        var third = await Extend(oscar, created.Id, "PT1S");
        Assert.Equal(HttpStatusCode.Conflict, third.StatusCode);
        var problem = await Problem(third);
        Assert.Contains("maxExtensions", problem.GetProperty("detail").GetString());
        Assert.Equal("application/problem+json", third.Content.Headers.ContentType?.MediaType);

        // The original expiry timer was moved, not left running: the grant ends at the last expiry, not before.
        var expired = await Api.WaitForStatusAsync(oscar, created.Id, "expired", TimeSpan.FromSeconds(30));
        Assert.True(expired.EndedAt >= finalExpiry, $"ended {expired.EndedAt:O}, before the extended expiry {finalExpiry:O}");
        Assert.DoesNotContain(PowerUser, (await Api.SandboxUserAsync(admin, "oscar@example.com")).AttachedPolicies);

        var types = await AuditTypesAsync(admin, created.Id);
        Assert.Equal(2, types.Count(t => t == "extension.applied"));
        Assert.DoesNotContain("extension.requested", types);
        Assert.Equal("request.expired", types[^1]);
    }

    [Fact]
    public async Task An_extension_that_needs_approval_waits_for_an_approver_of_the_rule_and_keeps_the_expiry_meanwhile()
    {
        var pat = _server.As("pat@example.com");
        var carol = _server.As("carol@example.com");
        var admin = _server.As("secops@example.com");
        var created = await Api.CreatePendingAsync(pat, Api.PolicyRequest(IamReadOnly));
        Assert.Equal(HttpStatusCode.Accepted, (await Api.DecideAsync(carol, created.Id, "approve")).StatusCode);
        var active = await Api.WaitForStatusAsync(pat, created.Id, "active");

        Assert.Equal(HttpStatusCode.Forbidden, (await Extend(carol, created.Id, "PT1M")).StatusCode); // not the requester
        Assert.Equal(HttpStatusCode.Accepted, (await Extend(pat, created.Id, "PT1M", "the migration overran")).StatusCode);
        var pending = await Eventually.Until(() => Api.GetAsync(pat, created.Id), r => r.Extensions is [{ Status: "pending" }], "the extension waits for an approver");
        Assert.Equal(active.ExpiresAt, pending.ExpiresAt);
        Assert.Equal(HttpStatusCode.Conflict, (await Extend(pat, created.Id, "PT1M")).StatusCode); // one is waiting already

        Assert.Equal(HttpStatusCode.Forbidden, (await Api.DecideAsync(_server.As("mallory@example.com"), created.Id, "approve")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Api.DecideAsync(pat, created.Id, "approve")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await Api.DecideAsync(_server.As("dave@example.com"), created.Id, "approve", comment: "fine")).StatusCode);

        var extended = await Eventually.Until(() => Api.GetAsync(pat, created.Id), r => r.ExpiresAt == active.ExpiresAt!.Value.AddMinutes(1), "the approved extension applies");
        var record = Assert.Single(extended.Extensions!);
        Assert.Equal(("applied", "dave@example.com", "the migration overran"), (record.Status, record.DecidedBy, record.Reason));
        Assert.Equal(HttpStatusCode.Conflict, (await Extend(pat, created.Id, "PT1M")).StatusCode); // maxExtensions: 1

        // A decision with no extension waiting is too late, as on any request that left pending.
        Assert.Equal(HttpStatusCode.Conflict, (await Api.DecideAsync(carol, created.Id, "approve")).StatusCode);

        Assert.Equal(HttpStatusCode.Accepted, (await pat.PostAsync($"/api/requests/{created.Id}/relinquish", null)).StatusCode);
        await Api.WaitForStatusAsync(pat, created.Id, "relinquished");
        var types = await AuditTypesAsync(admin, created.Id);
        Assert.Equal(["extension.requested", "extension.approved", "extension.applied"], types.Where(t => t.StartsWith("extension.", StringComparison.Ordinal)));
        Assert.Contains("decision.refused", types);
    }

    [Fact]
    public async Task A_denied_extension_leaves_the_expiry_as_it_was()
    {
        var quinn = _server.As("quinn@example.com");
        var created = await Api.CreatePendingAsync(quinn, Api.PolicyRequest(IamReadOnly));
        await Api.DecideAsync(_server.As("carol@example.com"), created.Id, "approve");
        var active = await Api.WaitForStatusAsync(quinn, created.Id, "active");

        Assert.Equal(HttpStatusCode.Accepted, (await Extend(quinn, created.Id, "PT30S")).StatusCode);
        await Eventually.Until(() => Api.GetAsync(quinn, created.Id), r => r.Extensions is [{ Status: "pending" }], "the extension waits");
        Assert.Equal(HttpStatusCode.Accepted, (await Api.DecideAsync(_server.As("dave@example.com"), created.Id, "deny", comment: "wrap it up")).StatusCode);

        var denied = await Eventually.Until(() => Api.GetAsync(quinn, created.Id), r => r.Extensions is [{ Status: "denied" }], "the extension is denied");
        Assert.Equal(active.ExpiresAt, denied.ExpiresAt);
        Assert.Equal("active", denied.Status);
        await quinn.PostAsync($"/api/requests/{created.Id}/relinquish", null);
        await Api.WaitForStatusAsync(quinn, created.Id, "relinquished");
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"duration\":\"forever\"}")]
    [InlineData("{\"duration\":\"-PT1H\"}")]
    [InlineData("{\"duration\":[\"PT1H\"]}")]
    [InlineData("not json")]
    public async Task A_hostile_extend_body_is_400_problem_json_and_changes_nothing(string body)
    {
        var yves = _server.As("yves@example.com");
        var created = await Api.CreateAsync(yves, Api.PolicyRequest(PowerUser, duration: "PT1M"));
        var active = await Api.WaitForStatusAsync(yves, created.Id, "active");

        var response = await yves.PostAsync($"/api/requests/{created.Id}/extend", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var after = await Api.GetAsync(yves, created.Id);
        Assert.Equal((active.ExpiresAt, 0), (after.ExpiresAt, after.Extensions!.Count));
        await yves.PostAsync($"/api/requests/{created.Id}/relinquish", null);
        await Api.WaitForStatusAsync(yves, created.Id, "relinquished");
    }

    [Fact]
    public async Task Only_the_requester_cancels_a_pending_request_and_nothing_is_granted()
    {
        var rita = _server.As("rita@example.com");
        var admin = _server.As("secops@example.com");
        var created = await Api.CreatePendingAsync(rita, Api.PolicyRequest());

        var byApprover = await Cancel(_server.As("carol@example.com"), created.Id);
        Assert.Equal(HttpStatusCode.Forbidden, byApprover.StatusCode);
        Assert.Equal("application/problem+json", byApprover.Content.Headers.ContentType?.MediaType);

        var cancel = await Cancel(rita, created.Id);
        Assert.True(cancel.StatusCode is HttpStatusCode.OK or HttpStatusCode.Accepted, $"cancel answered {(int)cancel.StatusCode}");
        var cancelled = await Api.WaitForStatusAsync(rita, created.Id, "cancelled");
        Assert.Equal("rita@example.com", cancelled.EndedBy);
        Assert.Equal(HttpStatusCode.OK, (await Cancel(rita, created.Id)).StatusCode); // already cancelled: same answer again

        var late = await Api.DecideAsync(_server.As("carol@example.com"), created.Id, "approve");
        Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
        Assert.Equal("cancelled", (await Problem(late)).GetProperty("requestStatus").GetString());
        Assert.Empty((await Api.SandboxUserAsync(admin, "rita@example.com")).AttachedPolicies);

        var types = await AuditTypesAsync(admin, created.Id);
        Assert.Equal("request.cancelled", Assert.Single(types, t => t == "request.cancelled"));
        Assert.DoesNotContain("request.approved", types);

        var listed = await admin.GetFromJsonAsync<JsonElement>("/api/requests?status=cancelled&requester=rita@example.com");
        Assert.Contains(listed.GetProperty("items").EnumerateArray(), r => r.GetProperty("id").GetString() == created.Id);
    }

    [Fact]
    public async Task A_cancel_after_the_outcome_is_409_with_the_outcome()
    {
        var sam = _server.As("sam@example.com");
        var created = await Api.CreatePendingAsync(sam, Api.PolicyRequest(duration: "PT30S"));
        await Api.DecideAsync(_server.As("carol@example.com"), created.Id, "approve");
        await Api.WaitForStatusAsync(sam, created.Id, "active");

        var response = await Cancel(sam, created.Id);
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var problem = await Problem(response);
        Assert.Equal("active", problem.GetProperty("requestStatus").GetString());
        Assert.Contains("approved by carol@example.com", problem.GetProperty("detail").GetString());
        await sam.PostAsync($"/api/requests/{created.Id}/relinquish", null);
        await Api.WaitForStatusAsync(sam, created.Id, "relinquished");
    }

    [Fact]
    public async Task A_cancel_racing_an_approval_either_wins_and_nothing_is_provisioned_or_loses_with_409()
    {
        var admin = _server.As("secops@example.com");
        var carol = _server.As("carol@example.com");
        var races = new List<(string Id, HttpStatusCode Cancel)>();
        for (var i = 0; i < 6; i++)
        {
            var racer = _server.As($"racer{i}@example.com");
            var created = await Api.CreatePendingAsync(racer, Api.PolicyRequest(duration: "PT2S"));
            var cancel = Cancel(racer, created.Id);
            var approve = Api.DecideAsync(carol, created.Id, "approve");
            await Task.WhenAll(cancel, approve);
            races.Add((created.Id, (await cancel).StatusCode));
        }

        foreach (var (id, cancelAnswer) in races)
        {
            var final = await Eventually.Until(() => Api.GetAsync(admin, id), r => r.Status is "cancelled" or "expired", $"request {id} settles");
            var types = await AuditTypesAsync(admin, id);
            if (cancelAnswer is HttpStatusCode.OK or HttpStatusCode.Accepted)
            {
                Assert.Equal("cancelled", final.Status);
                Assert.DoesNotContain("request.active", types);
                Assert.DoesNotContain("request.approved", types);
            }
            else
            {
                Assert.Equal(HttpStatusCode.Conflict, cancelAnswer);
                Assert.Equal("expired", final.Status);
            }
        }
    }

    [Fact]
    public async Task Pending_requests_beyond_the_rule_limit_are_refused_even_when_fired_in_parallel()
    {
        var tess = _server.As("tess@example.com");
        var answers = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => tess.PostAsJsonAsync("/api/requests", Api.PolicyRequest(SecurityAudit))));

        Assert.Equal(2, answers.Count(a => a.StatusCode == HttpStatusCode.Accepted));
        var refused = answers.Where(a => a.StatusCode != HttpStatusCode.Accepted).ToList();
        Assert.Equal(10, refused.Count);
        foreach (var answer in refused)
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, answer.StatusCode);
            Assert.Equal("application/problem+json", answer.Content.Headers.ContentType?.MediaType);
            Assert.Contains("maxPendingPerRequester", (await Problem(answer)).GetProperty("detail").GetString());
        }

        // Another requester has their own count; a cancelled request frees its place.
        Assert.Equal(HttpStatusCode.Accepted, (await _server.As("uma@example.com").PostAsJsonAsync("/api/requests", Api.PolicyRequest(SecurityAudit))).StatusCode);
        var mine = (await tess.GetFromJsonAsync<JsonElement>("/api/requests?mine=true&status=pending")).GetProperty("items").EnumerateArray().First().GetProperty("id").GetString()!;
        await Cancel(tess, mine);
        await Api.WaitForStatusAsync(tess, mine, "cancelled");
        Assert.Equal(HttpStatusCode.Accepted, (await tess.PostAsJsonAsync("/api/requests", Api.PolicyRequest(SecurityAudit))).StatusCode);
    }

    [Fact]
    public async Task An_active_grant_beyond_the_rule_limit_is_refused_with_429_naming_the_limit()
    {
        var vic = _server.As("vic@example.com");
        var group = new { accountId = Api.Account, access = new { type = "group", groupName = "Operators" } };
        var first = await Api.CreateAsync(vic, group);
        await Api.WaitForStatusAsync(vic, first.Id, "active");

        var second = await vic.PostAsJsonAsync("/api/requests", group);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.Contains("maxActivePerRequester", (await Problem(second)).GetProperty("detail").GetString());

        await vic.PostAsync($"/api/requests/{first.Id}/relinquish", null);
        await Api.WaitForStatusAsync(vic, first.Id, "relinquished");
        Assert.Equal(HttpStatusCode.Accepted, (await vic.PostAsJsonAsync("/api/requests", group)).StatusCode);
    }

    internal static Task<HttpResponseMessage> Extend(HttpClient client, string id, string duration, string? reason = null) =>
        client.PostAsJsonAsync($"/api/requests/{id}/extend", new { duration, reason });

    internal static Task<HttpResponseMessage> Cancel(HttpClient client, string id) => client.PostAsync($"/api/requests/{id}/cancel", null);

    internal static async Task<JsonElement> Problem(HttpResponseMessage response) =>
        JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync());

    private static async Task<List<string>> AuditTypesAsync(HttpClient admin, string id)
    {
        var audit = await admin.GetFromJsonAsync<JsonElement>($"/api/requests/{id}/audit");
        return [.. audit.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("type").GetString()!)];
    }

    public sealed class Fixture : IDisposable
    {
        public ServerFactory Server { get; } = new();

        public void Dispose() => Server.Dispose();
    }
}

/// <summary>The per-identity rate limit of the API (AccessWorkflows:RateLimit), on a server with a low one.</summary>
public sealed class RateLimitTests : IDisposable
{
    private readonly ServerFactory _server = new(settings: new Dictionary<string, string?>
    {
        ["AccessWorkflows:RateLimit:PermitLimit"] = "3",
        ["AccessWorkflows:RateLimit:Window"] = "01:00:00",
    });

    [Fact]
    public async Task An_identity_over_its_limit_gets_429_with_Retry_After_and_others_are_not_affected()
    {
        var wendy = _server.As("wendy@example.com");
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await wendy.GetAsync("/api/requests?mine=true")).StatusCode);
        }

        var refused = await wendy.PostAsJsonAsync("/api/requests", Api.PolicyRequest());
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Contains("RateLimit", (await GrantLifecycleCommandTests.Problem(refused)).GetProperty("detail").GetString());
        var retryAfter = refused.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        Assert.Empty((await _server.As("secops@example.com").GetFromJsonAsync<JsonElement>("/api/requests")).GetProperty("items").EnumerateArray());

        // Unauthenticated calls do not spend anyone's permits: they are refused before the limit.
        Assert.Equal(HttpStatusCode.Unauthorized, (await _server.CreateClient().GetAsync("/api/requests")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _server.As("xavier@example.com").GetAsync("/api/requests?mine=true")).StatusCode);
    }

    public void Dispose() => _server.Dispose();
}
