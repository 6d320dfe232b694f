using System.Text.Json.Nodes;
using AccessWorkflows.Aws.Iam;
using AccessWorkflows.Aws.IdentityCenter;
using AccessWorkflows.Aws.Install;
using AccessWorkflows.Aws.Tests.Fakes;
using AccessWorkflows.Grants;
using AccessWorkflows.Requests;
using AccessWorkflows.Rules;
using AccessWorkflows.Workflow;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Aws.Tests;

/// <summary>Ending the role sessions a permission-set grant left behind (issue #17 part 2), against the fake's model of
/// role sessions that outlive their assignment: what a session can still do after the grant service released the
/// grant, for the user, for others and in other accounts; the permission set's own inline policy; the deny lapsing and
/// being removed; and refusals that must not hold a revocation back.</summary>
public sealed class PermissionSetSessionTests : IAsyncLifetime
{
    private const string Alice = "alice@example.com";
    private const string Bob = "bob@example.com";
    private const string OtherAccount = "777788889999";
    private AwsHarness _h = null!;
    private string _admin = null!;
    private FakeIdentityCenterUser _alice = null!;
    private FakeIdentityCenterUser _bob = null!;

    public async Task InitializeAsync()
    {
        _h = await AwsHarness.StartAsync();
        _admin = _h.Aws.AddPermissionSet("AdministratorAccess");
        _alice = _h.Aws.AddIdentityCenterUser("alice", Alice);
        _bob = _h.Aws.AddIdentityCenterUser("bob", Bob);
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private static GrantInput Grant(string requestId, string permissionSet, string email = Alice) =>
        new(requestId, FakeAws.AccountId, email, AccessSpec.PermissionSet(permissionSet));

    private DateTimeOffset Now => _h.Time.GetUtcNow();

    [Fact]
    public async Task A_session_issued_during_the_grant_is_denied_once_the_release_returns_and_a_new_grants_sessions_are_not()
    {
        var userId = await _h.Grants.GrantAsync(Grant("ps-1", _admin));
        var session = _h.Aws.IssueSession(FakeAws.AccountId, _admin, userId, Now);
        Assert.Equal(IamDecision.Allow, _h.Aws.Authorize(session, "iam:CreateUser", Now));

        await _h.Grants.ReleaseAsync(Grant("ps-1", _admin) with { UserName = userId });

        // The session outlived its assignment (as real role sessions do) but can do nothing any more.
        Assert.False(_h.Aws.IsAssigned(FakeAws.AccountId, _admin, userId));
        Assert.True(Now < session.ExpiresAt);
        Assert.Equal(IamDecision.ExplicitDeny, _h.Aws.Authorize(session, "iam:CreateUser", Now));
        Assert.Equal(IamDecision.ExplicitDeny, _h.Aws.Authorize(session, "s3:GetObject", Now.AddMinutes(30)));
        var operations = _h.Aws.JsonOperations();
        Assert.True(operations.ToList().IndexOf("PutInlinePolicyToPermissionSet") > operations.ToList().LastIndexOf("DescribeAccountAssignmentDeletionStatus"), string.Join(", ", operations));
        Assert.Contains("DescribePermissionSetProvisioningStatus", operations);
        var provision = _h.Aws.JsonCalls.Single(c => c.Target == "SWBExternalService.ProvisionPermissionSet").Body;
        Assert.Equal(("AWS_ACCOUNT", FakeAws.AccountId), (provision["TargetType"]!.GetValue<string>(), provision["TargetId"]!.GetValue<string>()));
        var ended = Assert.Single(await _h.Audit.ListAsync("ps-1"), e => e.Type == "grant.sessionsEnded");
        Assert.Contains(userId, ended.Detail, StringComparison.Ordinal);
        Assert.Contains("lapses at", ended.Detail, StringComparison.Ordinal);

        // Granted again: the new session works although the deny is still in the policy.
        _h.Time.Shift += TimeSpan.FromSeconds(2);
        await _h.Grants.GrantAsync(Grant("ps-2", _admin));
        var fresh = _h.Aws.IssueSession(FakeAws.AccountId, _admin, userId, Now);
        Assert.Equal(IamDecision.Allow, _h.Aws.Authorize(fresh, "iam:CreateUser", Now));
        Assert.Equal(IamDecision.ExplicitDeny, _h.Aws.Authorize(session, "iam:CreateUser", Now));
        Assert.Empty(_h.Aws.Rejections);
    }

    [Fact]
    public async Task Other_users_and_the_same_user_in_another_account_keep_their_sessions()
    {
        var alice = await _h.Grants.GrantAsync(Grant("ps-a", _admin));
        var bob = await _h.Grants.GrantAsync(Grant("ps-b", _admin, Bob));
        _h.Aws.Assignments.Add((OtherAccount, _admin, "USER", alice)); // assigned there by hand, not ours
        var bobs = _h.Aws.IssueSession(FakeAws.AccountId, _admin, bob, Now);
        var alicesElsewhere = _h.Aws.IssueSession(OtherAccount, _admin, alice, Now);
        var alices = _h.Aws.IssueSession(FakeAws.AccountId, _admin, alice, Now);

        await _h.Grants.ReleaseAsync(Grant("ps-a", _admin) with { UserName = alice });

        Assert.Equal(IamDecision.ExplicitDeny, _h.Aws.Authorize(alices, "ec2:RunInstances", Now));
        Assert.Equal(IamDecision.Allow, _h.Aws.Authorize(bobs, "ec2:RunInstances", Now));
        _h.Aws.ProvisionedInlinePolicies[(OtherAccount, _admin)] = _h.Aws.InlinePolicies[_admin]; // even once provisioned there
        Assert.Equal(IamDecision.Allow, _h.Aws.Authorize(alicesElsewhere, "ec2:RunInstances", Now));
    }

    [Fact]
    public async Task The_permission_sets_own_inline_policy_is_kept_and_restored_exactly_when_the_deny_lapses()
    {
        const string own = """{"Version":"2012-10-17","Statement":{"Sid":"NoLeaving","Effect":"Deny","Action":"organizations:LeaveOrganization","Resource":"*"}}""";
        _h.Aws.InlinePolicies[_admin] = own;
        _h.Aws.SessionDurations[_admin] = "PT2H";
        var userId = await _h.Grants.GrantAsync(Grant("ps-own", _admin));
        var session = _h.Aws.IssueSession(FakeAws.AccountId, _admin, userId, Now);
        var releasedAt = Now;

        await _h.Grants.ReleaseAsync(Grant("ps-own", _admin) with { UserName = userId });

        var written = JsonNode.Parse(_h.Aws.InlinePolicies[_admin])!["Statement"]!.AsArray();
        Assert.Equal(2, written.Count);
        Assert.Equal(JsonNode.Parse(own)!["Statement"]!.ToJsonString(), written[0]!.ToJsonString());
        Assert.Equal(SessionDenyPolicy.Sid(FakeAws.AccountId, userId), written[1]!["Sid"]!.GetValue<string>());
        var lapses = DateTimeOffset.Parse(written[1]!["Condition"]!["DateLessThan"]!["aws:CurrentTime"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(lapses, releasedAt + TimeSpan.FromHours(2), releasedAt + TimeSpan.FromHours(2) + TimeSpan.FromMinutes(6));

        // A sweep before the deny lapses keeps it; one after removes it and provisions the account again.
        _h.Time.Shift += TimeSpan.FromHours(1);
        await _h.Provisioner.InventoryAsync(AwsHarness.Account());
        Assert.Equal(2, JsonNode.Parse(_h.Aws.InlinePolicies[_admin])!["Statement"]!.AsArray().Count);
        Assert.Equal(IamDecision.ExplicitDeny, _h.Aws.Authorize(session, "iam:CreateUser", Now));

        _h.Time.Shift += TimeSpan.FromHours(1) + TimeSpan.FromMinutes(6);
        Assert.Equal(IamDecision.ImplicitDeny, _h.Aws.Authorize(session, "iam:CreateUser", Now)); // expired by then anyway
        await _h.Provisioner.InventoryAsync(AwsHarness.Account());
        Assert.Equal(JsonNode.Parse(own)!["Statement"]!.ToJsonString(), JsonNode.Parse(_h.Aws.InlinePolicies[_admin])!["Statement"]![0]!.ToJsonString());
        Assert.Single(JsonNode.Parse(_h.Aws.InlinePolicies[_admin])!["Statement"]!.AsArray());
        Assert.Equal(_h.Aws.InlinePolicies[_admin], _h.Aws.ProvisionedInlinePolicies[(FakeAws.AccountId, _admin)]);
    }

    [Fact]
    public async Task A_permission_set_with_no_inline_policy_has_none_again_once_the_deny_is_removed()
    {
        var userId = await _h.Grants.GrantAsync(Grant("ps-none", _admin));
        await _h.Grants.ReleaseAsync(Grant("ps-none", _admin) with { UserName = userId });
        Assert.True(_h.Aws.InlinePolicies.ContainsKey(_admin));

        _h.Time.Shift += TimeSpan.FromHours(1) + TimeSpan.FromMinutes(6);
        await _h.Provisioner.InventoryAsync(AwsHarness.Account());

        Assert.False(_h.Aws.InlinePolicies.ContainsKey(_admin));
        Assert.Contains("DeleteInlinePolicyFromPermissionSet", _h.Aws.JsonOperations());
        Assert.Equal(string.Empty, _h.Aws.ProvisionedInlinePolicies[(FakeAws.AccountId, _admin)]);
    }

    [Fact]
    public async Task A_sweep_lists_the_permission_sets_once_for_both_its_inventory_and_the_lapsed_denies()
    {
        var userId = await _h.Grants.GrantAsync(Grant("ps-once", _admin));
        var holding = await _h.Grants.GrantAsync(Grant("ps-held", _admin, Bob));
        await _h.Grants.ReleaseAsync(Grant("ps-once", _admin) with { UserName = userId });
        _h.Time.Shift += TimeSpan.FromHours(1) + TimeSpan.FromMinutes(6);
        var before = _h.Aws.JsonOperations().ToList();

        var inventory = await _h.Provisioner.InventoryAsync(AwsHarness.Account());

        var sweep = _h.Aws.JsonOperations().Skip(before.Count).ToList();
        Assert.Equal(1, sweep.Count(o => o == "ListPermissionSets"));
        Assert.Equal([_admin], Assert.Single(inventory.Users, u => u.UserName == holding).PermissionSets); // the inventory used it
        Assert.Contains("DeleteInlinePolicyFromPermissionSet", sweep); // and so did the housekeeping
    }

    [Fact]
    public async Task A_sweep_removes_only_its_own_accounts_lapsed_denies_and_never_creates_a_role()
    {
        var userId = await _h.Grants.GrantAsync(Grant("ps-sweep", _admin));
        await _h.Grants.ReleaseAsync(Grant("ps-sweep", _admin) with { UserName = userId });
        var past = Now - TimeSpan.FromHours(3);
        _h.Aws.InlinePolicies[_admin] = SessionDenyPolicy.WithDeny(_h.Aws.InlinePolicies[_admin], OtherAccount, _bob.UserId, past, past + TimeSpan.FromHours(1), past);
        _h.Aws.ProvisionedInlinePolicies.Remove((FakeAws.AccountId, _admin)); // Identity Center removed the role with its last assignment
        var provisions = _h.Aws.JsonOperations().Count(o => o == "ProvisionPermissionSet");
        _h.Time.Shift += TimeSpan.FromHours(1) + TimeSpan.FromMinutes(6);

        await _h.Provisioner.InventoryAsync(AwsHarness.Account());

        var left = Assert.Single(JsonNode.Parse(_h.Aws.InlinePolicies[_admin])!["Statement"]!.AsArray());
        Assert.Equal(SessionDenyPolicy.Sid(OtherAccount, _bob.UserId), left!["Sid"]!.GetValue<string>()); // the other account's, for its own sweep
        Assert.Equal(provisions, _h.Aws.JsonOperations().Count(o => o == "ProvisionPermissionSet")); // no role created
        Assert.False(_h.Aws.ProvisionedInlinePolicies.ContainsKey((FakeAws.AccountId, _admin)));
    }

    [Fact]
    public async Task A_repeated_release_keeps_one_deny_per_user_and_account_and_throttling_is_retried()
    {
        var userId = await _h.Grants.GrantAsync(Grant("ps-rep", _admin));
        var session = _h.Aws.IssueSession(FakeAws.AccountId, _admin, userId, Now);
        _h.Aws.Fail("PutInlinePolicyToPermissionSet", 1, 400);
        _h.Aws.Fail("ProvisionPermissionSet", 1, 409);

        await _h.Grants.ReleaseAsync(Grant("ps-rep", _admin) with { UserName = userId });
        await _h.Grants.ReleaseAsync(Grant("ps-rep", _admin) with { UserName = userId });

        Assert.Single(JsonNode.Parse(_h.Aws.InlinePolicies[_admin])!["Statement"]!.AsArray());
        Assert.Equal(IamDecision.ExplicitDeny, _h.Aws.Authorize(session, "iam:CreateUser", Now));
        Assert.Single(await _h.Audit.ListAsync("ps-rep"), e => e.Type == "grant.sessionsEnded");
    }

    [Fact]
    public async Task A_concurrent_writer_that_drops_the_deny_makes_the_removal_fail_as_transient_and_the_retry_restores_it()
    {
        var userId = await _h.Grants.GrantAsync(Grant("ps-race", _admin));
        var session = _h.Aws.IssueSession(FakeAws.AccountId, _admin, userId, Now);
        _h.Aws.ConcurrentWriteAfterNextPut = """{"Version":"2012-10-17","Statement":[{"Sid":"Theirs","Effect":"Deny","Action":"account:CloseAccount","Resource":"*"}]}""";

        var failure = await Assert.ThrowsAsync<IamException>(() => _h.Grants.ReleaseAsync(Grant("ps-race", _admin) with { UserName = userId }));
        Assert.True(failure.IsTransient);
        Assert.Equal(IamDecision.Allow, _h.Aws.Authorize(session, "iam:CreateUser", Now));

        await _h.Grants.ReleaseAsync(Grant("ps-race", _admin) with { UserName = userId }); // the activity's retry

        Assert.Equal(IamDecision.ExplicitDeny, _h.Aws.Authorize(session, "iam:CreateUser", Now));
        var statements = JsonNode.Parse(_h.Aws.InlinePolicies[_admin])!["Statement"]!.AsArray();
        Assert.Equal(["Theirs", SessionDenyPolicy.Sid(FakeAws.AccountId, userId)], statements.Select(s => s!["Sid"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_role_that_may_not_end_sessions_does_not_hold_the_revocation_back_and_the_audit_says_why()
    {
        var rules = _h.Services.GetRequiredService<AccessRules>();
        var template = new IdentityCenterRoleTemplate(rules, new ProvisionerTrust("chain", PrincipalArn: "arn:aws:iam::111111111111:role/AccessWorkflows", ExternalId: "ext-1"));
        var older = template.PermissionsPolicy();
        older["Statement"]!.AsArray().RemoveAt(older["Statement"]!.AsArray().ToList().FindIndex(s => s!["Sid"]!.GetValue<string>().StartsWith("EndSessions", StringComparison.Ordinal)));
        _h.Aws.AuthorizeIdentityCenter(older.ToJsonString()); // a role set up before this release
        var userId = await _h.Grants.GrantAsync(Grant("ps-old", _admin));
        var session = _h.Aws.IssueSession(FakeAws.AccountId, _admin, userId, Now);

        await _h.Grants.ReleaseAsync(Grant("ps-old", _admin) with { UserName = userId });

        Assert.False(_h.Aws.IsAssigned(FakeAws.AccountId, _admin, userId));
        Assert.Equal(IamDecision.Allow, _h.Aws.Authorize(session, "iam:CreateUser", Now)); // what the audit warns of
        var notEnded = Assert.Single(await _h.Audit.ListAsync("ps-old"), e => e.Type == "grant.sessionsNotEnded");
        Assert.Contains("aws-setup --identity-center", notEnded.Detail, StringComparison.Ordinal);
        Assert.Contains("AccessDeniedException", notEnded.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_provisioning_that_ends_FAILED_is_audited_with_AWS_reason_and_the_assignment_stays_deleted()
    {
        var userId = await _h.Grants.GrantAsync(Grant("ps-fail", _admin));
        _h.Aws.FailNextProvisioning("The role AWSReservedSSO_AdministratorAccess could not be updated.");

        await _h.Grants.ReleaseAsync(Grant("ps-fail", _admin) with { UserName = userId });

        Assert.False(_h.Aws.IsAssigned(FakeAws.AccountId, _admin, userId));
        var notEnded = Assert.Single(await _h.Audit.ListAsync("ps-fail"), e => e.Type == "grant.sessionsNotEnded");
        Assert.Contains("could not be updated", notEnded.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_role_aws_setup_generates_allows_ending_and_lifting_sessions_only_on_the_rules_permission_sets()
    {
        var rules = _h.Services.GetRequiredService<AccessRules>();
        var template = new IdentityCenterRoleTemplate(rules, new ProvisionerTrust("chain", PrincipalArn: "arn:aws:iam::111111111111:role/AccessWorkflows", ExternalId: "ext-1"));
        _h.Aws.AuthorizeIdentityCenter(template.PermissionsPolicy().ToJsonString());
        var userId = await _h.Grants.GrantAsync(Grant("ps-lp", _admin));

        await _h.Grants.ReleaseAsync(Grant("ps-lp", _admin) with { UserName = userId });
        _h.Time.Shift += TimeSpan.FromHours(2);
        await _h.Provisioner.InventoryAsync(AwsHarness.Account());

        Assert.Empty(_h.Aws.Rejections);
        Assert.Single(await _h.Audit.ListAsync("ps-lp"), e => e.Type == "grant.sessionsEnded");
        Assert.Contains("DeleteInlinePolicyFromPermissionSet", _h.Aws.JsonOperations());

        // A permission set outside the rules' globs: its inline policy cannot be written.
        var policy = template.PermissionsPolicy().ToJsonString();
        var foreign = "arn:aws:sso:::permissionSet/ssoins-0000000000000000/ps-0000000000000000";
        Assert.NotEqual(IamDecision.Allow, IamPolicyEvaluator.Evaluate(policy, new IamCall("sso:PutInlinePolicyToPermissionSet", foreign)));
        Assert.NotEqual(IamDecision.Allow, IamPolicyEvaluator.Evaluate(policy, new IamCall("sso:ProvisionPermissionSet", "arn:aws:sso:::account/999988887777")));
    }
}
