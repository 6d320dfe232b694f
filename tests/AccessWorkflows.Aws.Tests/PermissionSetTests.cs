using AccessWorkflows.Aws.Iam;
using AccessWorkflows.Aws.Install;
using AccessWorkflows.Aws.Tests.Fakes;
using AccessWorkflows.Grants;
using AccessWorkflows.Grants.Reconciliation;
using AccessWorkflows.Requests;
using AccessWorkflows.Rules;
using AccessWorkflows.Workflow;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Aws.Tests;

/// <summary>Permission-set grants through the grant service, the provisioner and the reconciler, against the strict
/// sso-admin/identitystore fake: asynchronous assignments, FAILED states, throttling, conflicts, paging.</summary>
public sealed class PermissionSetTests : IAsyncLifetime
{
    private const string Alice = "alice@example.com";
    private const string Bob = "bob@example.com";
    private AwsHarness _h = null!;
    private string _admin = null!;
    private string _readOnly = null!;
    private FakeIdentityCenterUser _alice = null!;
    private FakeIdentityCenterUser _bob = null!;

    public async Task InitializeAsync()
    {
        _h = await AwsHarness.StartAsync();
        _admin = _h.Aws.AddPermissionSet("AdministratorAccess");
        _readOnly = _h.Aws.AddPermissionSet("ReadOnly");
        _alice = _h.Aws.AddIdentityCenterUser("alice", Alice);
        _bob = _h.Aws.AddIdentityCenterUser("bob", Bob);
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private static GrantInput Grant(string requestId, string permissionSet, string email = Alice) =>
        new(requestId, FakeAws.AccountId, email, AccessSpec.PermissionSet(permissionSet));

    [Fact]
    public async Task A_grant_returns_only_once_the_assignment_is_in_place_and_a_release_only_once_it_is_deleted()
    {
        _h.Aws.AssignmentPolls = 3;

        var userId = await _h.Grants.GrantAsync(Grant("ps-1", _admin));

        Assert.Equal(_alice.UserId, userId);
        Assert.True(_h.Aws.IsAssigned(FakeAws.AccountId, _admin, _alice.UserId));
        Assert.Equal(
            ["GetUserId", "ListAccountAssignments", "CreateAccountAssignment", "DescribeAccountAssignmentCreationStatus", "DescribeAccountAssignmentCreationStatus", "DescribeAccountAssignmentCreationStatus"],
            _h.Aws.JsonOperations());
        var create = _h.Aws.JsonCalls.Single(c => c.Target == "SWBExternalService.CreateAccountAssignment").Body;
        Assert.Equal(FakeAws.InstanceArn, create["InstanceArn"]!.GetValue<string>());
        Assert.Equal("USER", create["PrincipalType"]!.GetValue<string>());
        Assert.Equal("AWS_ACCOUNT", create["TargetType"]!.GetValue<string>());
        Assert.Equal(FakeAws.AccountId, create["TargetId"]!.GetValue<string>());
        var lookup = _h.Aws.JsonCalls.Single(c => c.Target == "AWSIdentityStore.GetUserId").Body;
        Assert.Equal("emails.value", lookup["AlternateIdentifier"]!["UniqueAttribute"]!["AttributePath"]!.GetValue<string>());
        var assigned = Assert.Single(await _h.Audit.ListAsync("ps-1"), e => e.Type == "grant.assigned");
        Assert.Contains("in place after", assigned.Detail, StringComparison.Ordinal);

        await _h.Grants.ReleaseAsync(Grant("ps-1", _admin) with { UserName = userId });

        Assert.False(_h.Aws.IsAssigned(FakeAws.AccountId, _admin, _alice.UserId));
        Assert.Equal(
            ["ListAccountAssignments", "DeleteAccountAssignment", "DescribeAccountAssignmentDeletionStatus", "DescribeAccountAssignmentDeletionStatus", "DescribeAccountAssignmentDeletionStatus"],
            _h.Aws.JsonOperations().Skip(6).Take(5));

        // Then the sessions already issued are ended (PermissionSetSessionTests): an inline deny, provisioned to the account.
        string[] endSessions = ["ListPermissionSetsProvisionedToAccount", "DescribePermissionSet", "GetInlinePolicyForPermissionSet", "PutInlinePolicyToPermissionSet", "ProvisionPermissionSet", "DescribePermissionSetProvisioningStatus", "DescribePermissionSetProvisioningStatus", "DescribePermissionSetProvisioningStatus", "GetInlinePolicyForPermissionSet"];
        Assert.Equal(endSessions, _h.Aws.JsonOperations().Skip(11));

        // A repeat of the release finds nothing to delete, and makes sure the deny is in force.
        var before = _h.Aws.JsonOperations().Count;
        await _h.Grants.ReleaseAsync(Grant("ps-1", _admin) with { UserName = userId });
        Assert.Equal(["ListAccountAssignments", .. endSessions], _h.Aws.JsonOperations().Skip(before));
        Assert.DoesNotContain("AccessDeniedException", _h.Aws.Rejections);
    }

    [Fact]
    public async Task Overlapping_grants_share_the_assignment_and_it_goes_only_with_the_last_one()
    {
        var first = await _h.Grants.GrantAsync(Grant("ps-a", _readOnly));
        await _h.Grants.GrantAsync(Grant("ps-b", _readOnly));

        await _h.Grants.ReleaseAsync(Grant("ps-a", _readOnly) with { UserName = first });
        Assert.True(_h.Aws.IsAssigned(FakeAws.AccountId, _readOnly, _alice.UserId));
        Assert.DoesNotContain("DeleteAccountAssignment", _h.Aws.JsonOperations());

        await _h.Grants.ReleaseAsync(Grant("ps-b", _readOnly) with { UserName = first });
        Assert.False(_h.Aws.IsAssigned(FakeAws.AccountId, _readOnly, _alice.UserId));
    }

    [Fact]
    public async Task An_assignment_the_user_already_had_is_standing_access_and_is_never_deleted()
    {
        _h.Aws.Assignments.Add((FakeAws.AccountId, _admin, "USER", _bob.UserId));

        var userId = await _h.Grants.GrantAsync(Grant("ps-standing", _admin, Bob));
        await _h.Grants.ReleaseAsync(Grant("ps-standing", _admin, Bob) with { UserName = userId });

        Assert.True(_h.Aws.IsAssigned(FakeAws.AccountId, _admin, _bob.UserId));
        Assert.DoesNotContain("DeleteAccountAssignment", _h.Aws.JsonOperations());
        Assert.Contains(await _h.Audit.ListAsync("ps-standing"), e => e.Type == "grant.kept");
    }

    [Fact]
    public async Task A_FAILED_creation_is_a_permanent_failure_that_names_AWS_reason_and_leaves_nothing_assigned()
    {
        _h.Aws.FailNextAssignment("Received a 404 status error: Not supported policy arn:aws:iam::aws:policy/Nope.");

        var failure = await Assert.ThrowsAsync<PermanentProvisioningException>(() => _h.Grants.GrantAsync(Grant("ps-failed", _admin)));

        Assert.Contains("Not supported policy", failure.Message, StringComparison.Ordinal);
        Assert.False(_h.Aws.IsAssigned(FakeAws.AccountId, _admin, _alice.UserId));

        // The workflow's cleanup then releases it: nothing was provisioned to the account, so no role is created there.
        await _h.Grants.ReleaseAsync(Grant("ps-failed", _admin) with { UserName = _alice.UserId });
        Assert.DoesNotContain("ProvisionPermissionSet", _h.Aws.JsonOperations());
        Assert.DoesNotContain(_h.Aws.ProvisionedInlinePolicies.Keys, k => k.PermissionSetArn == _admin);
        Assert.Contains("no role in account", Assert.Single(await _h.Audit.ListAsync("ps-failed"), e => e.Type == "grant.sessionsEnded").Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Throttling_and_conflicts_are_retried_with_backoff_until_the_assignment_is_made()
    {
        _h.Aws.Fail("CreateAccountAssignment", 2, 400);
        _h.Aws.Fail("DescribeAccountAssignmentCreationStatus", 1, 409);
        _h.Aws.Fail("GetUserId", 1, 500);

        await _h.Grants.GrantAsync(Grant("ps-throttled", _admin));

        Assert.True(_h.Aws.IsAssigned(FakeAws.AccountId, _admin, _alice.UserId));
        Assert.Equal(3, _h.Aws.JsonOperations().Count(o => o == "CreateAccountAssignment"));
        Assert.Equal(2, _h.Aws.JsonOperations().Count(o => o == "GetUserId"));
    }

    [Fact]
    public async Task A_deletion_that_ends_FAILED_is_not_taken_for_done_and_the_next_attempt_deletes()
    {
        var userId = await _h.Grants.GrantAsync(Grant("ps-del", _admin));
        _h.Aws.FailNextDeletion("Internal failure deleting the role.");

        var failure = await Assert.ThrowsAsync<IamException>(() => _h.Grants.ReleaseAsync(Grant("ps-del", _admin) with { UserName = userId }));
        Assert.True(failure.IsTransient);
        Assert.True(_h.Aws.IsAssigned(FakeAws.AccountId, _admin, _alice.UserId));

        await _h.Grants.ReleaseAsync(Grant("ps-del", _admin) with { UserName = userId });
        Assert.False(_h.Aws.IsAssigned(FakeAws.AccountId, _admin, _alice.UserId));
    }

    [Fact]
    public async Task A_person_without_an_Identity_Center_user_is_refused_permanently()
    {
        var failure = await Assert.ThrowsAsync<PermanentProvisioningException>(() => _h.Grants.GrantAsync(Grant("ps-nobody", _admin, "nobody@example.com")));
        Assert.Contains("nobody@example.com", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Calls_signed_for_another_region_are_refused_by_the_fake_as_AWS_would()
    {
        _h.Aws.IdentityCenterRegion = "us-east-1"; // the rules say eu-west-1

        await Assert.ThrowsAsync<PermanentProvisioningException>(() => _h.Grants.GrantAsync(Grant("ps-region", _admin)));

        Assert.Contains("SignatureDoesNotMatch", _h.Aws.Rejections);
        Assert.Empty(_h.Aws.Assignments);
    }

    [Fact]
    public async Task The_identity_center_role_aws_setup_generates_allows_every_step_and_nothing_beyond_the_rules()
    {
        var rules = _h.Services.GetRequiredService<AccessRules>();
        var template = new IdentityCenterRoleTemplate(rules, new ProvisionerTrust("chain", PrincipalArn: "arn:aws:iam::111111111111:role/AccessWorkflows", ExternalId: "ext-1"));
        Assert.Equal(FakeAws.IdentityCenterRoleArn, template.RoleArn);
        Assert.Equal([FakeAws.AccountId], template.Accounts);
        _h.Aws.AuthorizeIdentityCenter(template.PermissionsPolicy().ToJsonString());
        await _h.Requests.TryCreateAsync(AwsHarness.Request("ps-lp", RequestStatus.Active, AccessSpec.PermissionSet(_admin)));

        var userId = await _h.Grants.GrantAsync(Grant("ps-lp", _admin));
        var sweep = await _h.Reconciler.ReconcileAsync(AwsHarness.Account());
        await new AccessOptions(rules, _h.Services.GetServices<IAccessCatalog>()).SuggestAsync(Alice, FakeAws.AccountId, AccessKind.PermissionSet, null);
        await _h.Grants.ReleaseAsync(Grant("ps-lp", _admin) with { UserName = userId });

        Assert.Empty(sweep.Errors);
        Assert.Empty(_h.Aws.Rejections);
        Assert.False(_h.Aws.IsAssigned(FakeAws.AccountId, _admin, _alice.UserId));

        // An account no rule grants permission sets in: refused by AWS's authorization, so nothing is assigned there.
        var elsewhere = new AccountConfig { Id = "999988887777", Name = "elsewhere", RoleArn = "arn:aws:iam::999988887777:role/AccessWorkflowsProvisioner" };
        await Assert.ThrowsAsync<PermanentProvisioningException>(() => _h.Provisioner.ApplyAsync(elsewhere, _alice.UserId, AccessSpec.PermissionSet(_admin), "ps-x"));
        Assert.Contains("AccessDeniedException", _h.Aws.Rejections);
        Assert.DoesNotContain(_h.Aws.Assignments, a => a.AccountId == "999988887777");
    }

    [Fact]
    public async Task Autocomplete_lists_the_instance_permission_sets_across_pages()
    {
        _h.Aws.PageSize = 1;
        var third = _h.Aws.AddPermissionSet("Billing");
        var rules = _h.Services.GetRequiredService<AccessRules>();
        var options = new AccessOptions(rules, _h.Services.GetServices<IAccessCatalog>());

        var found = await options.SuggestAsync(Alice, FakeAws.AccountId, AccessKind.PermissionSet, null);

        Assert.Equal(new[] { _admin, _readOnly, third }.Order(StringComparer.Ordinal), found);
        Assert.Equal(3, _h.Aws.JsonOperations().Count(o => o == "ListPermissionSets"));
        Assert.Empty(await options.SuggestAsync("mallory@elsewhere.example", FakeAws.AccountId, AccessKind.PermissionSet, null));
    }

    [Fact]
    public async Task Reconciliation_removes_an_assignment_only_dead_requests_explain_and_reports_one_made_by_hand_as_drift()
    {
        _h.Aws.PageSize = 1;
        await _h.Requests.TryCreateAsync(AwsHarness.Request("ps-dead", RequestStatus.Active, AccessSpec.PermissionSet(_admin)));
        await _h.Requests.TryCreateAsync(AwsHarness.Request("ps-live", RequestStatus.Active, AccessSpec.PermissionSet(_readOnly)));
        await _h.Grants.GrantAsync(Grant("ps-dead", _admin));
        await _h.Grants.GrantAsync(Grant("ps-live", _readOnly));
        (await _h.Requests.GetAsync("ps-dead"))!.Status = RequestStatus.Expired; // its workflow died before revoking
        _h.Aws.Assignments.Add((FakeAws.AccountId, _admin, "USER", _bob.UserId)); // assigned by hand
        _h.Aws.Assignments.Add((FakeAws.AccountId, _admin, "GROUP", "group-1")); // group assignments are not ours

        var report = await _h.Reconciler.ReconcileAsync(AwsHarness.Account());

        Assert.Empty(report.Errors);
        Assert.False(_h.Aws.IsAssigned(FakeAws.AccountId, _admin, _alice.UserId));
        Assert.True(_h.Aws.IsAssigned(FakeAws.AccountId, _readOnly, _alice.UserId));
        Assert.True(_h.Aws.IsAssigned(FakeAws.AccountId, _admin, _bob.UserId));
        Assert.Contains((FakeAws.AccountId, _admin, "GROUP", "group-1"), _h.Aws.Assignments);
        var removed = Assert.Single(report.Removed);
        Assert.Equal((ReconciledKinds.PermissionSet, _alice.UserId, _admin), (removed.Kind, removed.UserName, removed.Target));
        var drift = Assert.Single(report.Drift);
        Assert.Equal((ReconciledKinds.PermissionSet, _bob.UserId, _admin), (drift.Kind, drift.UserName, drift.Target));
    }
}
