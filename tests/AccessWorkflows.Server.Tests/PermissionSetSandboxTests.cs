using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace AccessWorkflows.Server.Tests;

/// <summary>The whole life of a permission-set request on the sandbox account, through the HTTP API: the sandbox
/// simulates the Identity Center assignment, so the demo shows it without AWS.</summary>
public sealed class PermissionSetSandboxTests : IClassFixture<RequestLifecycleTests.Fixture>
{
    private const string PermissionSet = "arn:aws:sso:::permissionSet/ssoins-72230000aaaabbbb/ps-5a4e3c2b1a098765";
    private readonly ServerFactory _server;

    public PermissionSetSandboxTests(RequestLifecycleTests.Fixture fixture) => _server = fixture.Server;

    private static object Request(string permissionSetArn) => new
    {
        accountId = Api.Account,
        access = new { type = "permissionSet", permissionSetArn },
        duration = "PT6S", // long enough to read the sandbox while active on a loaded machine
    };

    [Fact]
    public async Task A_permission_set_request_is_assigned_while_active_and_unassigned_when_it_expires()
    {
        var frank = _server.As("frank@example.com");
        var admin = _server.As("secops@example.com");

        var options = await frank.GetFromJsonAsync<JsonElement>($"/api/options?accountId={Api.Account}&type=permissionSet");
        Assert.Equal([PermissionSet], options.GetProperty("options").EnumerateArray().Select(o => o.GetString()));

        var created = await Api.CreatePendingAsync(frank, Request(PermissionSet));
        Assert.Equal("permission-sets", created.RuleName);
        Assert.Equal(HttpStatusCode.Accepted, (await Api.DecideAsync(_server.As("carol@example.com"), created.Id, "approve")).StatusCode);

        await Api.WaitForStatusAsync(frank, created.Id, "active");
        var assigned = await Api.SandboxUserAsync(admin, "frank@example.com");
        Assert.Equal([PermissionSet], assigned.PermissionSets);
        Assert.Empty(assigned.AttachedPolicies); // the assignment is not shown as an IAM policy

        await Api.WaitForStatusAsync(frank, created.Id, "expired");
        Assert.Empty((await Api.SandboxUserAsync(admin, "frank@example.com")).PermissionSets!);

        var audit = await admin.GetFromJsonAsync<JsonElement>($"/api/requests/{created.Id}/audit");
        var types = audit.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("type").GetString()).ToList();
        Assert.Equal(["request.created", "request.pending", "decision.approved", "request.approved", "grant.assigned", "request.active", "request.expired"], types);
    }

    [Fact]
    public async Task A_permission_set_no_rule_allows_or_a_malformed_ARN_is_refused_and_starts_nothing()
    {
        var gina = _server.As("gina@example.com");

        var other = await gina.PostAsJsonAsync("/api/requests", Request("arn:aws:sso:::permissionSet/ssoins-72230000aaaabbbb/ps-0000000000000000"));
        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);

        var malformed = await gina.PostAsJsonAsync("/api/requests", Request("arn:aws:sso:::permissionSet/ssoins-72230000aaaabbbb/ps-*"));
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal("application/problem+json", malformed.Content.Headers.ContentType?.MediaType);
        Assert.Contains("access.permissionSetArn", await malformed.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var mine = await gina.GetFromJsonAsync<JsonElement>("/api/requests?mine=true");
        Assert.Empty(mine.GetProperty("items").EnumerateArray());
    }
}
