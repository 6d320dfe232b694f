using AccessWorkflows.Aws.Install;
using AccessWorkflows.Aws.Tests.Fakes;
using AccessWorkflows.Grants;
using AccessWorkflows.Requests;

namespace AccessWorkflows.Aws.Tests;

/// <summary>The provisioner at work with IAM authorizing every call against the role aws-setup generates from the
/// rules, as AWS would: everything the workflow and the sweep do is allowed, anything beyond the rules is refused.</summary>
public sealed class LeastPrivilegeTests : IAsyncLifetime
{
    private const string Alice = "alice@example.com";
    private AwsHarness _h = null!;

    public async Task InitializeAsync()
    {
        _h = await AwsHarness.StartAsync(settingsOverride: new() { ["AccessWorkflows:Aws:DeploymentId"] = "prod-eu" });
        _h.Aws.AddUser(Alice);
        _h.Aws.AddGroup("Developers");
        _h.Aws.AddGroup("Admins");
        _h.Aws.AddPolicy(Policies.ReadOnlyArn, Policies.ReadOnly);
        _h.Aws.AddPolicy(Policies.S3ReadOnlyArn, Policies.S3ReadOnly);
        _h.Aws.AddPolicy(Policies.AdminArn, Policies.Admin);
        var template = new ProvisionerRoleTemplate(
            FakeAws.AccountId,
            new ProvisionerTrust("chain", PrincipalArn: "arn:aws:iam::111111111111:role/AccessWorkflows", ExternalId: FakeAws.ExternalId),
            ProvisionerScope.FromRules(Rules.RulesLoader.Parse(AwsHarness.RulesYaml), FakeAws.AccountId, "prod-eu"));
        _h.Aws.AuthorizeSessions(template.PermissionsPolicy().ToJsonString(), template.BoundaryPolicy().ToJsonString());
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task Every_grant_release_and_sweep_the_rules_allow_passes_IAMs_authorization()
    {
        var grants = new[]
        {
            AwsHarness.Grant("p-1", AccessSpec.Policy(Policies.ReadOnlyArn), Alice),
            AwsHarness.Grant("g-1", AccessSpec.Group("Developers"), Alice),
            AwsHarness.Grant("r-1", AccessSpec.Resource("arn:aws:s3:::team-data", Policies.S3ReadOnlyArn), Alice),
        };
        foreach (var grant in grants)
        {
            await _h.Requests.TryCreateAsync(AwsHarness.Request(grant.RequestId, RequestStatus.Active, grant.Access, Alice));
            await _h.Grants.GrantAsync(grant);
        }

        await _h.Grants.ExtendAsync(grants[2], DateTimeOffset.UtcNow.AddHours(3));
        var sweep = await _h.Reconciler.ReconcileAsync(AwsHarness.Account());
        foreach (var grant in grants)
        {
            await _h.Grants.ReleaseAsync(grant);
        }

        Assert.Empty(sweep.Errors);
        Assert.Empty(_h.Aws.Rejections);
        Assert.Empty(_h.Aws.Users[Alice].Attached);
        Assert.DoesNotContain(Alice, _h.Aws.Groups["Developers"]);
    }

    [Fact]
    public async Task AdministratorAccess_and_groups_no_rule_names_are_refused_by_IAM_itself()
    {
        // Straight at the provisioner, past the rules check: only IAM stands in the way.
        var admin = await Assert.ThrowsAsync<PermanentProvisioningException>(() =>
            _h.Provisioner.ApplyAsync(AwsHarness.Account(), Alice, AccessSpec.Policy(Policies.AdminArn), "evil-1"));
        var admins = await Assert.ThrowsAsync<PermanentProvisioningException>(() =>
            _h.Provisioner.ApplyAsync(AwsHarness.Account(), Alice, AccessSpec.Group("Admins"), "evil-2"));

        Assert.Contains("may not perform", admin.Message, StringComparison.Ordinal);
        Assert.Contains("may not perform", admins.Message, StringComparison.Ordinal);
        Assert.Empty(_h.Aws.Users[Alice].Attached);
        Assert.DoesNotContain(Alice, _h.Aws.Groups["Admins"]);
        Assert.Equal(["AccessDenied", "AccessDenied"], _h.Aws.Rejections);
    }
}
