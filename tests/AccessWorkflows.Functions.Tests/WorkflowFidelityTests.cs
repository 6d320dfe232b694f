using System.Text.Json;
using AccessWorkflows.Functions.Durable;
using AccessWorkflows.Functions.Functions;
using AccessWorkflows.Grants;
using AccessWorkflows.Notifications;
using AccessWorkflows.OnCall;
using AccessWorkflows.Requests;
using AccessWorkflows.Storage;
using AccessWorkflows.Testing;
using AccessWorkflows.Testing.Fakes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AccessWorkflows.Functions.Tests;

/// <summary>
/// The workflow of SPEC 6 through the Functions app's HTTP functions, orchestrator function and activity functions,
/// on the real Durable Task worker: every path the embedded engine's server tests cover, here on the engine that runs
/// in production. Durations are seconds; waits poll the request until it reaches its state.
/// </summary>
public sealed class WorkflowFidelityTests
{
    private const string Sandbox = "111122223333";
    private const string ReadOnly = "arn:aws:iam::aws:policy/ReadOnlyAccess";

    [Fact]
    public async Task Approved_request_becomes_active_then_expires_on_a_durable_timer_and_the_policy_comes_off()
    {
        await using var app = await FunctionsAppHarness.StartAsync();
        var id = await CreateAsync(app, "alice@example.com", duration: "PT3S");
        await WaitForPromptAsync(app, id);

        var (status, _) = await DecideAsync(app, id, "carol@example.com", "approve");
        Assert.Equal(202, status);

        var active = await WaitForAsync(app, id, "active");
        Assert.Equal("carol@example.com", active.GetProperty("approvedBy").GetString());
        Assert.Contains(ReadOnly, await SandboxPoliciesAsync(app, "alice@example.com"));

        await WaitForAsync(app, id, "expired");
        Assert.DoesNotContain(ReadOnly, await SandboxPoliciesAsync(app, "alice@example.com"));
        Assert.Equal(
            ["request.created", "request.pending", "decision.approved", "request.approved", "request.active", "request.expired"],
            await AuditTypesAsync(app, id));
    }

    [Fact]
    public async Task A_permission_set_request_is_assigned_while_active_unassigned_when_it_expires_and_its_activity_recorded_after()
    {
        const string permissionSet = "arn:aws:sso:::permissionSet/ssoins-72230000aaaabbbb/ps-5a4e3c2b1a098765";

        // Activity is collected at once (AccessWorkflows:Aws:ActivityDelay PT0S): the version-4 timer and activity run too.
        await using var app = await FunctionsAppHarness.StartAsync(services => services.Configure<WorkflowOptions>(o => o.ActivityDelay = TimeSpan.Zero));
        var body = new { accountId = Sandbox, access = new { type = "permissionSet", permissionSetArn = permissionSet }, duration = "PT3S" };
        var (created, answer) = await app.HttpAsync(HttpFunctions.CreateRequest, "POST", "/api/requests", "nina@example.com", body);
        Assert.True(created == 202, $"create answered {created}: {answer}");
        var id = answer.GetProperty("id").GetString()!;
        await WaitForPromptAsync(app, id);
        Assert.Equal(202, (await DecideAsync(app, id, "carol@example.com", "approve")).Status);

        await WaitForAsync(app, id, "active");
        Assert.Equal([permissionSet], await SandboxPermissionSetsAsync(app, "nina@example.com"));

        var expired = await WaitForAsync(app, id, "expired");
        Assert.Empty(await SandboxPermissionSetsAsync(app, "nina@example.com"));
        var (status, activity) = await Eventually.Until(
            () => app.HttpAsync((r, c) => HttpFunctions.RequestActivity(r, id, c), "GET", $"/api/requests/{id}/activity", "nina@example.com"),
            a => a.Status == 200,
            "the activity is collected");
        Assert.Equal((200, 0), (status, activity.GetProperty("total").GetInt32()));
        Assert.Equal(expired.GetProperty("endedAt").GetDateTimeOffset(), activity.GetProperty("to").GetDateTimeOffset());
        Assert.Equal(
            ["request.created", "request.pending", "decision.approved", "request.approved", "grant.assigned", "request.active", "request.expired", "grant.activity"],
            await AuditTypesAsync(app, id));
    }

    [Fact]
    public async Task Denied_request_grants_nothing()
    {
        await using var app = await FunctionsAppHarness.StartAsync();
        var id = await CreateAsync(app, "bob@example.com");
        await WaitForPromptAsync(app, id);

        Assert.Equal(202, (await DecideAsync(app, id, "dave@example.com", "deny", "not today")).Status);

        var denied = await WaitForAsync(app, id, "denied");
        Assert.Equal("dave@example.com", denied.GetProperty("endedBy").GetString());
        Assert.Empty(await SandboxPoliciesAsync(app, "bob@example.com"));
    }

    [Fact]
    public async Task Relinquish_ends_an_active_grant_early()
    {
        await using var app = await FunctionsAppHarness.StartAsync();
        var id = await CreateApprovedAsync(app, "frank@example.com", "carol@example.com", duration: "PT50S");
        await WaitForAsync(app, id, "active");

        var (status, _) = await app.HttpAsync((r, c) => HttpFunctions.RelinquishRequest(r, id, c), "POST", $"/api/requests/{id}/relinquish", "frank@example.com");
        Assert.Equal(202, status);

        var ended = await WaitForAsync(app, id, "relinquished");
        Assert.Equal("frank@example.com", ended.GetProperty("endedBy").GetString());
        Assert.DoesNotContain(ReadOnly, await SandboxPoliciesAsync(app, "frank@example.com"));
    }

    [Fact]
    public async Task Admin_revoke_ends_an_active_grant()
    {
        await using var app = await FunctionsAppHarness.StartAsync();
        var id = await CreateApprovedAsync(app, "grace@example.com", "dave@example.com", duration: "PT50S");
        await WaitForAsync(app, id, "active");

        var (status, _) = await app.HttpAsync((r, c) => HttpFunctions.RevokeRequest(r, id, c), "POST", $"/api/requests/{id}/revoke", "secops@example.com", new { comment = "incident" });
        Assert.Equal(202, status);

        var ended = await WaitForAsync(app, id, "revoked");
        Assert.Equal("secops@example.com", ended.GetProperty("endedBy").GetString());
        Assert.DoesNotContain(ReadOnly, await SandboxPoliciesAsync(app, "grace@example.com"));
    }

    [Fact]
    public async Task Level_two_decides_only_after_escalation_on_a_durable_timer()
    {
        await using var app = await FunctionsAppHarness.StartAsync();
        var id = await CreateAsync(app, "heidi@example.com", duration: "PT30S");
        await WaitForPromptAsync(app, id);

        Assert.Equal(403, (await DecideAsync(app, id, "erin@example.com", "approve")).Status);

        await Eventually.Until(
            async () => (await GetAsync(app, id)).GetProperty("approvalLevel").GetInt32(), level => level == 2, "the request escalates to level 2");
        Assert.Equal(202, (await DecideAsync(app, id, "erin@example.com", "approve")).Status);

        var active = await WaitForAsync(app, id, "active");
        Assert.Equal("erin@example.com", active.GetProperty("approvedBy").GetString());
    }

    [Fact]
    public async Task Nobody_deciding_within_the_window_times_the_request_out()
    {
        await using var app = await FunctionsAppHarness.StartAsync();
        var id = await CreateAsync(app, "ivan@example.com", policy: "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess", duration: "PT5S");

        var timedOut = await WaitForAsync(app, id, "timedOut");
        Assert.Equal("system", timedOut.GetProperty("endedBy").GetString());
    }

    [Fact]
    public async Task A_permanent_provisioning_failure_is_not_retried_and_ends_failed_with_nothing_granted()
    {
        var provisioner = new FailingProvisioner { PermanentApplyFailure = "No such policy: the base policy cannot be attached." };
        await using var app = await FunctionsAppHarness.StartAsync(services =>
        {
            services.RemoveAll<IAccessProvisioner>();
            services.AddSingleton<IAccessProvisioner>(provisioner);
        });
        var id = await CreateApprovedAsync(app, "judy@example.com", "carol@example.com", account: "444455556666");

        var failed = await WaitForAsync(app, id, "failed");

        // One attempt: the retry policy's HandleFailure saw the worker's record of the failure and stopped. Six
        // attempts would mean the predicate never recognised a PermanentProvisioningException.
        Assert.Equal(1, provisioner.Applies);
        Assert.Contains("no such policy", failed.GetProperty("statusDetail").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.True(provisioner.Removes >= 1, "what was partly granted is cleaned up before the request is reported failed");
        var ledger = app.Services.GetRequiredService<IGrantLedger>();
        Assert.Empty(await ledger.ListAsync("444455556666"));
    }

    [Fact]
    public async Task A_revocation_that_keeps_failing_continues_as_new_round_after_round_until_it_succeeds()
    {
        // Two rounds of six attempts fail, the third round's first attempt succeeds.
        var provisioner = new FailingProvisioner { RemoveFailures = 12 };
        await using var app = await FunctionsAppHarness.StartAsync(services =>
        {
            services.RemoveAll<IAccessProvisioner>();
            services.AddSingleton<IAccessProvisioner>(provisioner);
        });
        var id = await CreateApprovedAsync(app, "mallory@example.com", "carol@example.com", account: "444455556666", duration: "PT2S");

        await WaitForAsync(app, id, "expired");
        Assert.Equal(13, provisioner.Removes);
        Assert.Equal(2, (await AuditTypesAsync(app, id)).Count(t => t == "revoke.failing"));

        // The execution that finished is the third one: each failed round ended its execution with ContinueAsNew.
        var instance = await app.Client.GetInstanceAsync(id, getInputsAndOutputs: true);
        using var input = JsonDocument.Parse(instance!.SerializedInput!);
        Assert.Equal(3, input.RootElement.GetProperty("revoking").GetProperty("round").GetInt32());
    }

    [Fact]
    public async Task Starting_a_recorded_request_again_is_a_no_op_while_its_instance_is_pending_or_running()
    {
        await using var app = await FunctionsAppHarness.StartAsync();
        var id = await CreateAsync(app, "ken@example.com");
        var request = (await app.Services.GetRequiredService<IRequestStore>().GetAsync(id))!;
        var service = app.Services.GetRequiredService<RequestService>();

        using (DurableClientScope.Enter(app.Client))
        {
            // Right after the first start the instance is Pending on the real backend; then Running.
            await service.StartWorkflowAsync(request);
            await WaitForPromptAsync(app, id);
            await service.StartWorkflowAsync(request);
        }

        Assert.Equal(202, (await DecideAsync(app, id, "carol@example.com", "deny")).Status);
        await WaitForAsync(app, id, "denied");
    }

    [Fact]
    public async Task An_idempotent_retry_of_a_create_answers_the_same_request()
    {
        await using var app = await FunctionsAppHarness.StartAsync();
        var body = Body(Sandbox, ReadOnly, "PT5S");
        var first = await app.HttpAsync((r, c) => { r.Headers["Idempotency-Key"] = "retry-1"; return HttpFunctions.CreateRequest(r, c); }, "POST", "/api/requests", "liz@example.com", body);
        var second = await app.HttpAsync((r, c) => { r.Headers["Idempotency-Key"] = "retry-1"; return HttpFunctions.CreateRequest(r, c); }, "POST", "/api/requests", "liz@example.com", body);

        Assert.Equal((202, 202), (first.Status, second.Status));
        Assert.Equal(first.Body.GetProperty("id").GetString(), second.Body.GetProperty("id").GetString());
    }

    [Fact]
    public async Task An_approved_extension_moves_the_durable_expiry_timer_and_the_grant_ends_at_the_new_expiry()
    {
        const string iamReadOnly = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";
        await using var app = await FunctionsAppHarness.StartAsync();
        var id = await CreateAsync(app, "olga@example.com", policy: iamReadOnly, duration: "PT4S");
        await WaitForPromptAsync(app, id);
        Assert.Equal(202, (await DecideAsync(app, id, "carol@example.com", "approve")).Status);
        var active = await WaitForAsync(app, id, "active");
        var firstExpiry = active.GetProperty("expiresAt").GetDateTimeOffset();

        var (status, _) = await app.HttpAsync((r, c) => HttpFunctions.ExtendRequest(r, id, c), "POST", $"/api/requests/{id}/extend", "olga@example.com", new { duration = "PT4S", reason = "fidelity" });
        Assert.Equal(202, status);
        await Eventually.Until(() => GetAsync(app, id), r => r.GetProperty("extensions").EnumerateArray().Any(e => e.GetProperty("status").GetString() == "pending"), "the extension waits for an approver");
        Assert.Equal(202, (await DecideAsync(app, id, "dave@example.com", "approve")).Status);
        await Eventually.Until(() => GetAsync(app, id), r => r.GetProperty("expiresAt").GetDateTimeOffset() == firstExpiry.AddSeconds(4), "the extension applies");

        var expired = await WaitForAsync(app, id, "expired");
        Assert.True(expired.GetProperty("endedAt").GetDateTimeOffset() >= firstExpiry.AddSeconds(4), "the original expiry timer was cancelled");
        Assert.DoesNotContain(iamReadOnly, await SandboxPoliciesAsync(app, "olga@example.com"));
        Assert.Equal(
            ["extension.requested", "extension.approved", "extension.applied"],
            (await AuditTypesAsync(app, id)).Where(t => t!.StartsWith("extension.", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_cancelled_pending_request_ends_cancelled_and_an_approval_after_it_provisions_nothing()
    {
        await using var app = await FunctionsAppHarness.StartAsync();
        var id = await CreateAsync(app, "pete@example.com", duration: "PT30S");
        await WaitForPromptAsync(app, id);

        Assert.Equal(403, (await app.HttpAsync((r, c) => HttpFunctions.CancelRequest(r, id, c), "POST", $"/api/requests/{id}/cancel", "carol@example.com")).Status);
        var (status, _) = await app.HttpAsync((r, c) => HttpFunctions.CancelRequest(r, id, c), "POST", $"/api/requests/{id}/cancel", "pete@example.com");
        Assert.True(status is 200 or 202, $"cancel answered {status}");

        var cancelled = await WaitForAsync(app, id, "cancelled");
        Assert.Equal("pete@example.com", cancelled.GetProperty("endedBy").GetString());
        Assert.Equal(409, (await DecideAsync(app, id, "carol@example.com", "approve")).Status);
        Assert.Empty(await SandboxPoliciesAsync(app, "pete@example.com"));
        Assert.Equal(["request.created", "request.pending", "request.cancelled", "decision.late"], await AuditTypesAsync(app, id));
    }

    [Fact]
    public async Task Per_requester_limits_answer_429_naming_the_limit_and_free_up_as_requests_move_on()
    {
        const string Network = "arn:aws:iam::aws:policy/job-function/NetworkAdministrator";
        await using var app = await FunctionsAppHarness.StartAsync();
        var first = await CreateAsync(app, "liv@example.com", policy: Network);

        var (pendingStatus, pendingProblem) = await app.HttpAsync(HttpFunctions.CreateRequest, "POST", "/api/requests", "liv@example.com", Body(Sandbox, Network, null));
        Assert.Equal(429, pendingStatus);
        Assert.Contains("maxPendingPerRequester", pendingProblem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await CreateAsync(app, "other@example.com", policy: Network); // counted per requester

        await WaitForPromptAsync(app, first);
        Assert.Equal(202, (await DecideAsync(app, first, "carol@example.com", "approve")).Status);
        await WaitForAsync(app, first, "active");
        var (activeStatus, activeProblem) = await app.HttpAsync(HttpFunctions.CreateRequest, "POST", "/api/requests", "liv@example.com", Body(Sandbox, Network, null));
        Assert.Equal(429, activeStatus);
        Assert.Contains("maxActivePerRequester", activeProblem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        Assert.Equal(202, (await app.HttpAsync((r, c) => HttpFunctions.RelinquishRequest(r, first, c), "POST", $"/api/requests/{first}/relinquish", "liv@example.com")).Status);
        await WaitForAsync(app, first, "relinquished");
        await CreateAsync(app, "liv@example.com", policy: Network);
    }

    [Fact]
    public async Task Break_glass_approves_at_once_capped_flagged_and_reviewed_on_the_real_worker()
    {
        const string Support = "arn:aws:iam::aws:policy/job-function/SupportUser";
        await using var app = await FunctionsAppHarness.StartAsync();
        var id = await CreateAsync(app, "mia@example.com", policy: Support);

        Assert.Equal(400, (await DecideAsync(app, id, "mia@example.com", "approve")).Status);
        Assert.Equal(202, (await DecideAsync(app, id, "mia@example.com", "approve", "prod is down")).Status);

        var active = await WaitForAsync(app, id, "active");
        Assert.True(active.GetProperty("breakGlass").GetBoolean());
        Assert.Equal("PT30S", active.GetProperty("grantedDuration").GetString()); // asked PT50S
        Assert.Equal("mia@example.com", active.GetProperty("approvedBy").GetString());
        Assert.Contains(Support, await SandboxPoliciesAsync(app, "mia@example.com"));
        Assert.Contains("request.breakGlass", await AuditTypesAsync(app, id));
        var alert = await Eventually.Until(
            () => Task.FromResult(app.Services.GetRequiredService<RecordingNotificationChannel>().For(id).Where(n => n.Kind == NotificationKind.BreakGlass).ToList()),
            n => n.Count > 0,
            "everyone was alerted");
        Assert.Equal(["carol@example.com", "dave@example.com", "secops@example.com"], Assert.Single(alert).Request.Approval.BreakGlass!.Alerted);

        var (review, _) = await app.HttpAsync((r, c) => HttpFunctions.ReviewRequest(r, id, c), "POST", $"/api/requests/{id}/review", "carol@example.com", new { comment = "confirmed with the incident" });
        var (again, _) = await app.HttpAsync((r, c) => HttpFunctions.ReviewRequest(r, id, c), "POST", $"/api/requests/{id}/review", "secops@example.com", new { comment = "again" });
        Assert.Equal((202, 409), (review, again));
        Assert.Equal("carol@example.com", (await GetAsync(app, id)).GetProperty("review").GetProperty("by").GetString());
    }

    [Fact]
    public async Task Two_stages_must_both_pass_in_order_on_the_real_worker()
    {
        const string Admin = "arn:aws:iam::aws:policy/AdministratorAccess";
        await using var app = await FunctionsAppHarness.StartAsync();
        var id = await CreateAsync(app, "ned@example.com", policy: Admin);
        await WaitForPromptAsync(app, id);

        Assert.Equal(202, (await DecideAsync(app, id, "erin@example.com", "approve")).Status);
        var second = await Eventually.Until(() => GetAsync(app, id), r => r.GetProperty("approvalStage").GetInt32() == 2, "stage 2 is asked", TimeSpan.FromSeconds(60));
        Assert.Equal(("pending", 2, 2), (second.GetProperty("status").GetString(), second.GetProperty("approvalLevel").GetInt32(), second.GetProperty("approvalStages").GetInt32()));
        Assert.Empty(await SandboxPoliciesAsync(app, "ned@example.com"));

        Assert.Equal(409, (await DecideAsync(app, id, "erin@example.com", "approve")).Status); // no approver counts in two stages
        Assert.Equal(403, (await DecideAsync(app, id, "carol@example.com", "approve")).Status); // stage 1 is over
        Assert.Equal("pending", (await GetAsync(app, id)).GetProperty("status").GetString());
        Assert.Equal(202, (await DecideAsync(app, id, "frank@example.com", "approve")).Status);
        var active = await WaitForAsync(app, id, "active");
        Assert.Equal("erin@example.com, frank@example.com", active.GetProperty("approvedBy").GetString());
        Assert.Equal([1, 2], active.GetProperty("decisions").EnumerateArray().Select(d => d.GetProperty("level").GetInt32()));
        Assert.Contains(Admin, await SandboxPoliciesAsync(app, "ned@example.com"));
    }

    [Fact]
    public async Task A_level_reached_through_pagerduty_is_decided_by_the_responders_the_activity_recorded()
    {
        const string Dba = "arn:aws:iam::aws:policy/job-function/DatabaseAdministrator";
        var directory = new ScriptedOnCallDirectory(new Dictionary<string, string[]> { ["PESC123"] = ["Olga@Example.com"] });
        await using var app = await FunctionsAppHarness.StartAsync(services => services.Replace(ServiceDescriptor.Singleton<IOnCallDirectory>(directory)));
        var id = await CreateAsync(app, "pia@example.com", policy: Dba);

        var escalated = await Eventually.Until(() => GetAsync(app, id), r => r.GetProperty("approvalLevel").GetInt32() == 2, "the request escalates to the PagerDuty level", TimeSpan.FromSeconds(60));
        Assert.Equal("pending", escalated.GetProperty("status").GetString());
        Assert.Equal(["PESC123"], directory.Asked);
        var stored = (await app.Services.GetRequiredService<IRequestStore>().GetAsync(id))!;
        Assert.Equal(["olga@example.com"], stored.Approval.Levels[1].OnCallApprovers);

        Assert.Equal(403, (await DecideAsync(app, id, "erin@example.com", "approve")).Status); // security is not on level 2 here
        Assert.Equal(202, (await DecideAsync(app, id, "olga@example.com", "approve")).Status);
        var active = await WaitForAsync(app, id, "active");
        Assert.Equal("olga@example.com", active.GetProperty("approvedBy").GetString());
        Assert.Equal(["PESC123"], directory.Asked); // resolved once, when the level was notified; replays reuse it
    }

    internal static object Body(string account, string policy, string? duration) => new
    {
        accountId = account,
        access = new { type = "policy", policyArn = policy },
        duration,
        reason = "fidelity test",
    };

    private static async Task<string> CreateAsync(FunctionsAppHarness app, string user, string account = Sandbox, string policy = ReadOnly, string? duration = null)
    {
        var (status, body) = await app.HttpAsync(HttpFunctions.CreateRequest, "POST", "/api/requests", user, Body(account, policy, duration));
        Assert.True(status == 202, $"create answered {status}: {body}");
        return body.GetProperty("id").GetString()!;
    }

    /// <summary>Creates a request, waits until its level-1 approvers are prompted, and has one of them approve it.</summary>
    private static async Task<string> CreateApprovedAsync(FunctionsAppHarness app, string user, string approver, string account = Sandbox, string? duration = null)
    {
        var id = await CreateAsync(app, user, account, duration: duration);
        await WaitForPromptAsync(app, id);
        Assert.Equal(202, (await DecideAsync(app, id, approver, "approve")).Status);
        return id;
    }

    private static Task<(int Status, JsonElement Body)> DecideAsync(FunctionsAppHarness app, string id, string approver, string decision, string? comment = null) =>
        app.HttpAsync((r, c) => HttpFunctions.DecideRequest(r, id, c), "POST", $"/api/requests/{id}/decision", approver, new { decision, comment });

    private static async Task<JsonElement> GetAsync(FunctionsAppHarness app, string id) =>
        (await app.HttpAsync((r, c) => HttpFunctions.GetRequest(r, id, c), "GET", $"/api/requests/{id}", "secops@example.com")).Body;

    private static Task<JsonElement> WaitForAsync(FunctionsAppHarness app, string id, string status) =>
        Eventually.Until(() => GetAsync(app, id), r => r.GetProperty("status").GetString() == status, $"request {id} is {status}", TimeSpan.FromSeconds(60));

    /// <summary>Pending with level 1 prompted: the workflow has run its first steps.</summary>
    private static Task<JsonElement> WaitForPromptAsync(FunctionsAppHarness app, string id) =>
        Eventually.Until(
            () => GetAsync(app, id),
            r => r.GetProperty("status").GetString() == "pending" && r.GetProperty("approvalLevel").GetInt32() >= 1,
            $"request {id} prompts its level-1 approvers",
            TimeSpan.FromSeconds(60));

    private static async Task<List<string?>> SandboxPoliciesAsync(FunctionsAppHarness app, string user)
    {
        var (_, body) = await app.HttpAsync((r, c) => HttpFunctions.SandboxUser(r, Sandbox, user, c), "GET", $"/api/sandbox/accounts/{Sandbox}/users/{user}", "secops@example.com");
        return [.. body.GetProperty("attachedPolicies").EnumerateArray().Select(p => p.GetString())];
    }

    private static async Task<List<string?>> SandboxPermissionSetsAsync(FunctionsAppHarness app, string user)
    {
        var (_, body) = await app.HttpAsync((r, c) => HttpFunctions.SandboxUser(r, Sandbox, user, c), "GET", $"/api/sandbox/accounts/{Sandbox}/users/{user}", "secops@example.com");
        return [.. body.GetProperty("permissionSets").EnumerateArray().Select(p => p.GetString())];
    }

    private static async Task<List<string?>> AuditTypesAsync(FunctionsAppHarness app, string id)
    {
        var (_, body) = await app.HttpAsync((r, c) => HttpFunctions.RequestAudit(r, id, c), "GET", $"/api/requests/{id}/audit", "secops@example.com");
        return [.. body.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("type").GetString())];
    }
}

/// <summary>An on-call directory that answers the responders it was given per escalation policy and records what it
/// was asked (the PagerDuty wire is tested against the fake PagerDuty in the integration tests).</summary>
internal sealed class ScriptedOnCallDirectory(IReadOnlyDictionary<string, string[]> responders) : IOnCallDirectory
{
    private readonly List<string> _asked = [];

    public IReadOnlyList<string> Asked
    {
        get
        {
            lock (_asked)
            {
                return [.. _asked];
            }
        }
    }

    public Task<OnCallAnswer> IsOnCallAsync(string email, OnCallPlan plan, DateTimeOffset at, CancellationToken cancellationToken = default) =>
        Task.FromResult(OnCallAnswer.No("not scripted"));

    public Task<IReadOnlyList<string>> OnCallResponderEmailsAsync(string escalationPolicyId, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        lock (_asked)
        {
            _asked.Add(escalationPolicyId);
        }

        return Task.FromResult<IReadOnlyList<string>>(responders.TryGetValue(escalationPolicyId, out var emails) ? emails : []);
    }
}
