using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AccessWorkflows.Aws.Credentials;
using AccessWorkflows.Aws.Tests.Fakes;
using AccessWorkflows.Testing;
using Amazon.Runtime;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Aws.Tests;

/// <summary>The real server, in process, with an account that is not a sandbox and the SDK endpoint variables
/// pointed at <see cref="FakeAws"/>: requests go pending → active → expired and IAM sees exactly the expected calls.</summary>
public sealed class ServerEndToEndTests : IAsyncLifetime
{
    private const string Alice = "alice@example.com";
    private const string Carol = "carol@example.com";
    private const string Admin = "secops@example.com";
    private const string Auditor = "audit@example.com";
    private FakeAws _aws = null!;
    private AwsServerFactory _server = null!;

    public async Task InitializeAsync()
    {
        _aws = await FakeAws.StartAsync();
        _aws.AddUser("alice", ("Email", Alice));
        _aws.AddUser("bob", ("Email", "bob@example.com"));
        _aws.AddPolicy(Policies.ReadOnlyArn, Policies.ReadOnly);
        _aws.AddPolicy(Policies.S3ReadOnlyArn, Policies.S3ReadOnly);
        _server = new AwsServerFactory(_aws);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _aws.DisposeAsync();
    }

    private HttpClient As(string email)
    {
        var client = _server.CreateClient();
        client.DefaultRequestHeaders.Add("X-Dev-User", email);
        return client;
    }

    private static async Task<JsonElement> GetAsync(HttpClient client, string id) =>
        await client.GetFromJsonAsync<JsonElement>($"/api/requests/{id}");

    private static Task<JsonElement> WaitForAsync(HttpClient client, string id, string status) =>
        Eventually.Until(() => GetAsync(client, id), r => r.GetProperty("status").GetString() == status, $"request {id} is {status}");

    private async Task<string> SubmitAndApproveAsync(object access)
    {
        var alice = As(Alice);
        var created = await alice.PostAsJsonAsync("/api/requests", new { accountId = FakeAws.AccountId, access, duration = "PT3S", reason = "incident 42" });
        Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        await Eventually.Until(() => GetAsync(alice, id), r => r.GetProperty("approvalLevel").GetInt32() >= 1, "the approver is notified");
        Assert.Equal("pending", (await GetAsync(alice, id)).GetProperty("status").GetString());
        Assert.Equal(["ListUsers", "ListUserTags", "ListUserTags"], _aws.CallNames()); // submission only looks the user up

        var decision = await As(Carol).PostAsJsonAsync($"/api/requests/{id}/decision", new { decision = "approve" });
        Assert.Equal(HttpStatusCode.Accepted, decision.StatusCode);
        return id;
    }

    [Fact]
    public async Task A_policy_request_goes_pending_active_expired_with_exactly_the_expected_IAM_calls()
    {
        var id = await SubmitAndApproveAsync(new { type = "policy", policyArn = Policies.ReadOnlyArn });
        var alice = As(Alice);

        await WaitForAsync(alice, id, "active");
        Assert.Contains(Policies.ReadOnlyArn, _aws.Users["alice"].Attached);

        await WaitForAsync(alice, id, "expired");
        Assert.Empty(_aws.Users["alice"].Attached);

        var mutations = _aws.Calls.Where(c => c.Action is "AttachUserPolicy" or "DetachUserPolicy").ToList();
        Assert.Equal(["AttachUserPolicy", "DetachUserPolicy"], mutations.Select(c => c.Action));
        Assert.All(mutations, c => Assert.Equal("alice", c.Parameters["UserName"]));
        Assert.All(mutations, c => Assert.Equal(Policies.ReadOnlyArn, c.Parameters["PolicyArn"]));
        Assert.Equal(["ListUsers", "ListUserTags", "ListUserTags", "ListAttachedUserPolicies", "AttachUserPolicy", "DetachUserPolicy"], _aws.CallNames());
        Assert.Equal(1, _aws.AssumeRoleCount);
        Assert.Empty(_aws.Rejections);
    }

    [Fact]
    public async Task A_permission_set_request_is_active_only_once_the_assignment_is_in_place_and_expired_only_once_it_is_deleted()
    {
        var permissionSet = _aws.AddPermissionSet("AdministratorAccess");
        var user = _aws.AddIdentityCenterUser("alice", Alice);
        _aws.AssignmentPolls = 4;
        _aws.Fail("CreateAccountAssignment", 1, 400); // throttled once
        var alice = As(Alice);

        // Autocomplete offers the instance's permission sets (ListPermissionSets) within the rules.
        var options = await alice.GetFromJsonAsync<JsonElement>($"/api/options?accountId={FakeAws.AccountId}&type=permissionSet");
        Assert.Equal([permissionSet], options.GetProperty("options").EnumerateArray().Select(o => o.GetString()));

        var created = await alice.PostAsJsonAsync("/api/requests", new { accountId = FakeAws.AccountId, access = new { type = "permissionSet", permissionSetArn = permissionSet }, duration = "PT3S" });
        Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        await Eventually.Until(() => GetAsync(alice, id), r => r.GetProperty("approvalLevel").GetInt32() >= 1, "the approver is notified");
        Assert.Contains("GetUserId", _aws.JsonOperations()); // submission looks the Identity Center user up
        Assert.DoesNotContain("CreateAccountAssignment", _aws.JsonOperations());
        Assert.Equal(HttpStatusCode.Accepted, (await As(Carol).PostAsJsonAsync($"/api/requests/{id}/decision", new { decision = "approve" })).StatusCode);

        var active = await WaitForAsync(alice, id, "active");
        Assert.True(_aws.IsAssigned(FakeAws.AccountId, permissionSet, user.UserId)); // active means in place
        var session = _aws.IssueSession(FakeAws.AccountId, permissionSet, user.UserId, DateTimeOffset.UtcNow); // alice signs in to the account
        Assert.Equal("permissionSet", active.GetProperty("access").GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync($"/api/requests/{id}/activity")).StatusCode); // not collected yet

        // What alice does with the session, as CloudTrail records it (under her Identity Center user name).
        var grantedAt = active.GetProperty("grantedAt").GetDateTimeOffset();
        _aws.AddTrailEvent("eu-west-1", "alice", "s3.amazonaws.com", "ListBuckets", grantedAt.AddSeconds(1));
        _aws.AddTrailEvent("us-east-1", "alice", "iam.amazonaws.com", "CreateUser", grantedAt.AddSeconds(1), "AccessDenied");

        await WaitForAsync(alice, id, "expired");
        var activity = await Eventually.Until(
            async () => await alice.GetAsync($"/api/requests/{id}/activity"),
            r => r.StatusCode == HttpStatusCode.OK,
            "the activity is collected");
        var summary = await activity.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(2, summary.GetProperty("total").GetInt32());
        Assert.Equal(grantedAt, summary.GetProperty("from").GetDateTimeOffset());
        Assert.Contains(summary.GetProperty("byEvent").EnumerateArray(), e => e.GetProperty("service").GetString() == "iam" && e.GetProperty("eventName").GetString() == "CreateUser" && e.GetProperty("errors").GetInt32() == 1);
        Assert.Equal(HttpStatusCode.Forbidden, (await As("bob@example.com").GetAsync($"/api/requests/{id}/activity")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await As(Auditor).GetAsync($"/api/requests/{id}/activity")).StatusCode);
        Assert.False(_aws.IsAssigned(FakeAws.AccountId, permissionSet, user.UserId)); // expired means deleted
        Assert.True(DateTimeOffset.UtcNow < session.ExpiresAt);
        Assert.Equal(IamDecision.ExplicitDeny, _aws.Authorize(session, "iam:CreateUser", DateTimeOffset.UtcNow)); // ...and her session ended
        var operations = _aws.JsonOperations();
        Assert.Equal(4, operations.Count(o => o == "DescribeAccountAssignmentCreationStatus"));
        Assert.Equal(4, operations.Count(o => o == "DescribeAccountAssignmentDeletionStatus"));
        Assert.Equal(2, operations.Count(o => o == "CreateAccountAssignment"));
        Assert.Empty(_aws.Rejections);

        var audit = (await As(Admin).GetFromJsonAsync<JsonElement>($"/api/requests/{id}/audit")).GetProperty("items").EnumerateArray().Select(e => e.GetProperty("type").GetString()).ToList();
        Assert.True(audit.IndexOf("grant.assigned") >= 0 && audit.IndexOf("grant.assigned") < audit.IndexOf("request.active"), string.Join(", ", audit));
        Assert.True(audit.IndexOf("grant.sessionsEnded") >= 0 && audit.IndexOf("grant.sessionsEnded") < audit.IndexOf("request.expired"), string.Join(", ", audit));
    }

    [Fact]
    public async Task A_resource_request_creates_and_deletes_its_generated_policy()
    {
        var id = await SubmitAndApproveAsync(new { type = "resource", resourceArn = "arn:aws:s3:::team-reports", policyArn = Policies.S3ReadOnlyArn });
        var alice = As(Alice);
        var generated = $"arn:aws:iam::{FakeAws.AccountId}:policy/access-workflows/access-workflows-{id}";

        await WaitForAsync(alice, id, "active");
        Assert.Contains(generated, _aws.Users["alice"].Attached);

        await WaitForAsync(alice, id, "expired");
        Assert.False(_aws.Policies.ContainsKey(generated));
        Assert.Equal(
            ["ListUsers", "ListUserTags", "ListUserTags", "GetPolicy", "GetPolicyVersion", "CreatePolicy", "AttachUserPolicy", "AttachUserPolicy", "DetachUserPolicy", "ListPolicyVersions", "DeletePolicy"],
            _aws.CallNames());
    }

    [Fact]
    public async Task Extending_a_resource_grant_moves_its_policys_own_expiry_before_the_stored_one()
    {
        var alice = As(Alice);
        var created = await alice.PostAsJsonAsync("/api/requests", new
        {
            accountId = FakeAws.AccountId,
            access = new { type = "resource", resourceArn = "arn:aws:s3:::ext-reports", policyArn = Policies.S3ReadOnlyArn },
            duration = "PT30S",
        });
        Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var active = await WaitForAsync(alice, id, "active");
        var expires = active.GetProperty("expiresAt").GetDateTimeOffset();
        var generated = $"arn:aws:iam::{FakeAws.AccountId}:policy/access-workflows/access-workflows-{id}";

        Assert.Equal(HttpStatusCode.Accepted, (await alice.PostAsJsonAsync($"/api/requests/{id}/extend", new { duration = "PT1M" })).StatusCode);
        await Eventually.Until(() => GetAsync(alice, id), r => r.GetProperty("expiresAt").GetDateTimeOffset() == expires.AddMinutes(1), "the extension applies");

        // The generated policy denies itself after the new expiry plus the slack, in one default version.
        var version = Assert.Single(_aws.Policies[generated].Versions);
        Assert.True(version.IsDefault);
        Assert.Contains(AccessWorkflows.Aws.Policies.ResourcePolicyGenerator.FormatTime(expires.AddMinutes(1) + AccessWorkflows.Grants.GrantService.ExpiryConditionSlack), version.Document, StringComparison.Ordinal);
        Assert.Single(_aws.CallNames(), c => c == "CreatePolicyVersion");
        Assert.Contains(generated, _aws.Users["alice"].Attached);

        Assert.Equal(HttpStatusCode.Accepted, (await alice.PostAsync($"/api/requests/{id}/relinquish", null)).StatusCode);
        await WaitForAsync(alice, id, "relinquished");
        Assert.False(_aws.Policies.ContainsKey(generated));
    }

    [Fact]
    public async Task A_requester_without_an_IAM_user_is_refused_at_submission_with_the_reason()
    {
        var erin = As("erin@example.com");
        var response = await erin.PostAsJsonAsync("/api/requests", new { accountId = FakeAws.AccountId, access = new { type = "policy", policyArn = Policies.ReadOnlyArn }, duration = "PT3S" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Email=erin@example.com", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(_aws.Calls, c => c.Action == "AttachUserPolicy");
    }

    [Fact]
    public async Task The_admin_reconcile_route_removes_an_orphan_and_refuses_everyone_else()
    {
        var orphan = _aws.AddPolicy($"arn:aws:iam::{FakeAws.AccountId}:policy/access-workflows/access-workflows-gone", Policies.S3ReadOnly);
        orphan.Tags.Add(new("access-workflows:request-id", "gone"));
        _aws.Users["bob"].Attached.Add(orphan.Arn);
        var route = $"/api/accounts/{FakeAws.AccountId}/reconcile";

        Assert.Equal(HttpStatusCode.Unauthorized, (await _server.CreateClient().PostAsync(route, null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await As(Alice).PostAsync(route, null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await As(Admin).PostAsync("/api/accounts/111122223333/reconcile", null)).StatusCode); // sandboxes too
        Assert.Equal(HttpStatusCode.NotFound, (await As(Admin).PostAsync("/api/accounts/999999999999/reconcile", null)).StatusCode);
        Assert.True(_aws.Policies.ContainsKey(orphan.Arn));

        var response = await As(Admin).PostAsync(route, null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var report = await response.Content.ReadFromJsonAsync<JsonElement>();
        var removed = Assert.Single(report.GetProperty("removed").EnumerateArray());
        Assert.Equal(orphan.Arn, removed.GetProperty("target").GetString());
        Assert.False(_aws.Policies.ContainsKey(orphan.Arn));
        Assert.Empty(_aws.Users["bob"].Attached);
    }

    [Fact]
    public async Task The_account_audit_route_shows_removals_and_drift_to_admins_and_auditors_only()
    {
        var orphan = _aws.AddPolicy($"arn:aws:iam::{FakeAws.AccountId}:policy/access-workflows/access-workflows-gone", Policies.S3ReadOnly);
        orphan.Tags.Add(new("access-workflows:request-id", "gone"));
        orphan.Tags.Add(new("access-workflows:deployment-id", "access-workflows"));
        _aws.Users["bob"].Attached.Add(Policies.ReadOnlyArn); // by hand: drift
        Assert.Equal(HttpStatusCode.OK, (await As(Admin).PostAsync($"/api/accounts/{FakeAws.AccountId}/reconcile", null)).StatusCode);
        var route = $"/api/accounts/{FakeAws.AccountId}/audit";

        Assert.Equal(HttpStatusCode.Unauthorized, (await _server.CreateClient().GetAsync(route)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await As(Alice).GetAsync(route)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await As(Auditor).GetAsync("/api/accounts/999999999999/audit")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await As(Auditor).GetAsync("/api/accounts/not-an-id/audit")).StatusCode);

        foreach (var reader in new[] { Admin, Auditor })
        {
            var audit = await As(reader).GetFromJsonAsync<JsonElement>(route);
            var items = audit.GetProperty("items").EnumerateArray().ToList();
            Assert.Contains(items, e => e.GetProperty("type").GetString() == "account.removed" && e.GetProperty("detail").GetString()!.Contains(orphan.Arn, StringComparison.Ordinal));
            Assert.Contains(items, e => e.GetProperty("type").GetString() == "account.drift" && e.GetProperty("detail").GetString()!.Contains("bob", StringComparison.Ordinal));
            var run = Assert.Single(items, e => e.GetProperty("type").GetString() == "account.reconciled");
            Assert.Equal("found 1, removed 1, repaired 0, drift 1, errors 0", run.GetProperty("detail").GetString());
            Assert.Equal("api", run.GetProperty("channel").GetString());
            Assert.Equal(items[^1], run); // recorded after the findings of its sweep
        }

        Assert.Contains(Policies.ReadOnlyArn, _aws.Users["bob"].Attached);
    }

    private sealed class AwsServerFactory(FakeAws aws) : WebApplicationFactory<Program>
    {
        private readonly string _data = Path.Combine(Path.GetTempPath(), "aw-aws-tests", Guid.NewGuid().ToString("N"));

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            Directory.CreateDirectory(_data);
            builder.UseEnvironment("Development");
            builder.UseSetting("AccessWorkflows:RulesPath", Path.Combine(AppContext.BaseDirectory, "aws-rules.yaml"));
            builder.UseSetting("AccessWorkflows:Sqlite:Path", Path.Combine(_data, "accessworkflows.db"));
            builder.UseSetting("AccessWorkflows:Durable:Path", Path.Combine(_data, "durable.db"));
            builder.UseSetting("AccessWorkflows:Auth:Mode", "Development");
            builder.UseSetting("AccessWorkflows:Aws:Retry:BaseDelay", "00:00:00.010");
            builder.UseSetting("AWS_ENDPOINT_URL_IAM", aws.BaseAddress.ToString());
            builder.UseSetting("AWS_ENDPOINT_URL_STS", aws.BaseAddress.ToString());
            builder.UseSetting("AWS_ENDPOINT_URL_SSO_ADMIN", aws.BaseAddress.ToString());
            builder.UseSetting("AWS_ENDPOINT_URL_IDENTITYSTORE", aws.BaseAddress.ToString());
            builder.UseSetting("AccessWorkflows:Aws:AssignmentPollInterval", "00:00:00.010");
            builder.UseSetting("AWS_ENDPOINT_URL_CLOUDTRAIL", aws.BaseAddress.ToString());
            builder.UseSetting("AccessWorkflows:Aws:ActivityDelay", "PT0S");
            builder.UseSetting("AccessWorkflows:Aws:ActivityRegions:0", "eu-west-1");
            builder.UseSetting("AccessWorkflows:Aws:ActivityRegions:1", "us-east-1");

            // The deployment's own identity: what the AWS chain would find in the environment.
            builder.ConfigureTestServices(services => services.AddSingleton<IAwsBaseCredentials>(new StaticCredentials()));
        }
    }

    private sealed class StaticCredentials : IAwsBaseCredentials
    {
        public AWSCredentials Get() => new BasicAWSCredentials(FakeAws.BaseAccessKey, FakeAws.BaseSecretKey);
    }
}
