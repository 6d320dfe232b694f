using AccessWorkflows.Aws.Tests.Fakes;
using AccessWorkflows.Requests;
using AccessWorkflows.Storage;

namespace AccessWorkflows.Aws.Tests;

/// <summary>A JIT grant never takes away what it did not give: through the real <see cref="Grants.GrantService"/>
/// (the provision and deprovision activities' entry point), against the faked IAM and the sandbox.</summary>
public sealed class StandingAccessTests : IAsyncLifetime
{
    private const string Alice = "alice@example.com";
    private AwsHarness _h = null!;

    public async Task InitializeAsync()
    {
        _h = await AwsHarness.StartAsync();
        _h.Aws.AddUser(Alice);
        _h.Aws.AddGroup("Developers");
        _h.Aws.AddPolicy(Policies.ReadOnlyArn, Policies.ReadOnly);
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private async Task<IReadOnlyList<string>> AuditTypesAsync(string requestId) => [.. (await _h.Audit.ListAsync(requestId)).Select(e => e.Type)];

    [Fact]
    public async Task A_policy_attached_before_the_grant_stays_when_the_grant_ends_and_is_audited_as_preexisting()
    {
        _h.Aws.Users[Alice].Attached.Add(Policies.ReadOnlyArn); // attached by hand, long before
        var grant = AwsHarness.Grant("req-1", AccessSpec.Policy(Policies.ReadOnlyArn), Alice);

        await _h.Grants.GrantAsync(grant);
        await _h.Grants.GrantAsync(grant); // the activity runs again
        await _h.Grants.ReleaseAsync(grant);
        await _h.Grants.ReleaseAsync(grant);

        Assert.Contains(Policies.ReadOnlyArn, _h.Aws.Users[Alice].Attached);
        Assert.DoesNotContain("DetachUserPolicy", _h.Aws.CallNames());
        Assert.Equal([GrantHolders.Standing], await _h.Ledger.GetHoldersAsync(new GrantKey(FakeAws.AccountId, Alice, grant.Access.PermissionKey("req-1"))));
        Assert.Equal(["grant.preexisting", "grant.kept"], await AuditTypesAsync("req-1"));
    }

    [Fact]
    public async Task A_group_membership_held_before_the_grant_stays_when_the_grant_ends()
    {
        _h.Aws.Groups["Developers"].Add(Alice);
        var grant = AwsHarness.Grant("req-2", AccessSpec.Group("Developers"), Alice);

        await _h.Grants.GrantAsync(grant);
        await _h.Grants.ReleaseAsync(grant);

        Assert.Contains(Alice, _h.Aws.Groups["Developers"]);
        Assert.DoesNotContain("RemoveUserFromGroup", _h.Aws.CallNames());
        Assert.Contains("grant.preexisting", await AuditTypesAsync("req-2"));
    }

    [Fact]
    public async Task What_the_grant_gave_is_taken_back_and_overlapping_grants_do_not_count_as_standing()
    {
        var first = AwsHarness.Grant("req-3", AccessSpec.Policy(Policies.ReadOnlyArn), Alice);
        var second = AwsHarness.Grant("req-4", AccessSpec.Policy(Policies.ReadOnlyArn), Alice);

        await _h.Grants.GrantAsync(first);
        await _h.Grants.GrantAsync(second); // the policy is there because of req-3, not standing access
        await _h.Grants.ReleaseAsync(first);
        Assert.Contains(Policies.ReadOnlyArn, _h.Aws.Users[Alice].Attached);
        await _h.Grants.ReleaseAsync(second);

        Assert.Empty(_h.Aws.Users[Alice].Attached);
        Assert.Empty(await AuditTypesAsync("req-4"));
    }

    [Fact]
    public async Task Standing_access_taken_away_by_a_person_is_forgotten_so_the_next_grant_is_revoked()
    {
        _h.Aws.Users[Alice].Attached.Add(Policies.ReadOnlyArn);
        var first = AwsHarness.Grant("req-5", AccessSpec.Policy(Policies.ReadOnlyArn), Alice);
        await _h.Grants.GrantAsync(first);
        await _h.Grants.ReleaseAsync(first);
        _h.Aws.Users[Alice].Attached.Clear(); // an admin removes the standing access

        var next = AwsHarness.Grant("req-6", AccessSpec.Policy(Policies.ReadOnlyArn), Alice);
        await _h.Grants.GrantAsync(next);
        await _h.Grants.ReleaseAsync(next);

        Assert.Empty(_h.Aws.Users[Alice].Attached);
        Assert.Empty(await _h.Ledger.GetHoldersAsync(new GrantKey(FakeAws.AccountId, Alice, next.Access.PermissionKey("req-6"))));
    }

    [Fact]
    public async Task The_sandbox_keeps_standing_access_the_same_way()
    {
        var sandbox = AwsHarness.SandboxAccount();
        await _h.Sandbox.UpdateUserAsync(sandbox.Id, Alice, u => u with { AttachedPolicies = [Policies.ReadOnlyArn], Groups = ["Developers"] });
        var policy = AwsHarness.Grant("sb-1", AccessSpec.Policy(Policies.ReadOnlyArn), Alice, sandbox.Id);
        var group = AwsHarness.Grant("sb-2", AccessSpec.Group("Developers"), Alice, sandbox.Id);
        var fresh = AwsHarness.Grant("sb-3", AccessSpec.Policy(Policies.S3ReadOnlyArn), Alice, sandbox.Id);

        foreach (var grant in new[] { policy, group, fresh })
        {
            await _h.Grants.GrantAsync(grant);
            await _h.Grants.ReleaseAsync(grant);
        }

        var user = (await _h.Sandbox.GetUserAsync(sandbox.Id, Alice))!;
        Assert.Equal([Policies.ReadOnlyArn], user.AttachedPolicies);
        Assert.Equal(["Developers"], user.Groups);
        Assert.Equal(["grant.preexisting", "grant.kept"], await AuditTypesAsync("sb-1"));
        Assert.Empty(await AuditTypesAsync("sb-3"));
    }
}
