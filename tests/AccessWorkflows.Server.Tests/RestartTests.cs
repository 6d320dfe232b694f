using AccessWorkflows.Durable.Embedded;
using AccessWorkflows.Requests;
using AccessWorkflows.Rules;
using AccessWorkflows.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Server.Tests;

/// <summary>SPEC 7: a server stopped mid-grant and started again on the same files still revokes at expiry.</summary>
public sealed class RestartTests
{
    [Fact]
    public async Task A_grant_active_across_a_restart_still_expires_and_is_revoked()
    {
        string id;
        string dataDirectory;
        using (var before = new ServerFactory())
        {
            dataDirectory = before.DataDirectory;
            var wendy = before.As("wendy@example.com");
            id = (await Api.CreatePendingAsync(wendy, Api.PolicyRequest(duration: "PT6S"))).Id;
            await Api.DecideAsync(before.As("carol@example.com"), id, "approve");
            await Api.WaitForStatusAsync(wendy, id, "active");
            Assert.Contains(Api.ReadOnly, (await Api.SandboxUserAsync(before.As("secops@example.com"), "wendy@example.com")).AttachedPolicies);
        }

        using var after = new ServerFactory(dataDirectory);
        var client = after.As("wendy@example.com");
        Assert.Equal("active", (await Api.GetAsync(client, id)).Status);
        await Api.WaitForStatusAsync(client, id, "expired");
        Assert.DoesNotContain(Api.ReadOnly, (await Api.SandboxUserAsync(after.As("secops@example.com"), "wendy@example.com")).AttachedPolicies);
    }

    [Fact]
    public async Task A_request_pending_across_a_restart_can_still_be_approved()
    {
        string id;
        string dataDirectory;
        using (var before = new ServerFactory())
        {
            dataDirectory = before.DataDirectory;
            id = (await Api.CreatePendingAsync(before.As("xavier@example.com"), Api.PolicyRequest(duration: "PT3S"))).Id;
            await Api.WaitForStatusAsync(before.As("xavier@example.com"), id, "pending");
        }

        using var after = new ServerFactory(dataDirectory);
        await Api.DecideAsync(after.As("dave@example.com"), id, "approve");
        await Api.WaitForStatusAsync(after.As("xavier@example.com"), id, "active");
        await Api.WaitForStatusAsync(after.As("xavier@example.com"), id, "expired");
    }

    [Fact]
    public async Task A_server_killed_mid_approval_loses_nothing_and_still_revokes()
    {
        using var before = new ServerFactory();
        var yusuf = before.As("yusuf@example.com");
        var id = (await Api.CreatePendingAsync(yusuf, Api.PolicyRequest(duration: "PT4S"))).Id;
        await Api.DecideAsync(before.As("carol@example.com"), id, "approve");

        // Kill the engine the moment the approval is raised: whatever it had not persisted is as if never done.
        before.Services.GetRequiredService<DurableEngine>().Kill();

        // The dead process's lock on the data directory goes with it; a second live server there would be refused.
        await before.DisposeAsync();

        using var after = new ServerFactory(before.DataDirectory);
        var client = after.As("yusuf@example.com");
        await Api.WaitForStatusAsync(client, id, "active");
        await Api.WaitForStatusAsync(client, id, "expired");
        Assert.DoesNotContain(Api.ReadOnly, (await Api.SandboxUserAsync(after.As("secops@example.com"), "yusuf@example.com")).AttachedPolicies);
    }

    [Fact]
    public async Task A_request_recorded_by_a_process_that_died_before_starting_it_is_started_at_start_up()
    {
        const string id = "0123456789abcdef0123456789abcdef";
        string dataDirectory;
        using (var before = new ServerFactory())
        {
            dataDirectory = before.DataDirectory;
            _ = before.CreateClient();
            var rules = before.Services.GetRequiredService<AccessRules>();
            var access = AccessSpec.Policy(Api.ReadOnly);
            var match = RuleMatcher.Match(rules, "zack@example.com", Api.Account, access)!;

            // What RequestService records before it starts the workflow, as if the process died in between.
            Assert.True(await before.Services.GetRequiredService<IRequestStore>().TryCreateAsync(new AccessRequest
            {
                Id = id,
                Requester = "zack@example.com",
                AccountId = Api.Account,
                Access = access,
                Duration = TimeSpan.FromSeconds(3),
                Reason = "recovery",
                RuleName = match.Rule.Name,
                Approval = RuleMatcher.ResolvePlan(rules, match.Rule),
                CreatedAt = DateTimeOffset.UtcNow,
            }));
        }

        using var after = new ServerFactory(dataDirectory);
        var zack = after.As("zack@example.com");
        await Api.CreatePendingAsyncFor(zack, id);
        await Api.DecideAsync(after.As("carol@example.com"), id, "approve");
        await Api.WaitForStatusAsync(zack, id, "expired");
    }
}
