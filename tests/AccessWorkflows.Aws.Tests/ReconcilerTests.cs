using AccessWorkflows.Aws.Tests.Fakes;
using AccessWorkflows.Grants.Reconciliation;
using AccessWorkflows.Requests;
using AccessWorkflows.Storage;

namespace AccessWorkflows.Aws.Tests;

public sealed class ReconcilerTests : IAsyncLifetime
{
    private const string Alice = "alice@example.com";
    private const string Bob = "bob@example.com";
    private static readonly string AccountAuditKey = AccountAudit.Key(FakeAws.AccountId);
    private AwsHarness _h = null!;

    public async Task InitializeAsync()
    {
        _h = await AwsHarness.StartAsync();
        _h.Aws.AddUser(Alice);
        _h.Aws.AddUser(Bob);
        _h.Aws.AddGroup("Developers");
        _h.Aws.AddGroup("Admins");
        _h.Aws.AddPolicy(Policies.ReadOnlyArn, Policies.ReadOnly);
        _h.Aws.AddPolicy(Policies.S3ReadOnlyArn, Policies.S3ReadOnly);
        _h.Aws.AddPolicy(Policies.AdminArn, Policies.Admin);
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private async Task GrantAsync(string id, RequestStatus status, AccessSpec access, string user)
    {
        await _h.Requests.TryCreateAsync(AwsHarness.Request(id, status, access, user));
        await _h.Grants.GrantAsync(AwsHarness.Grant(id, access, user));
    }

    private async Task<IReadOnlyList<AuditEvent>> AccountEventsAsync(string type) =>
        [.. (await _h.Audit.ListAsync(AccountAuditKey)).Where(e => e.Type == type)];

    [Fact]
    public async Task Orphans_are_removed_with_an_account_audit_event_and_what_an_active_grant_explains_stays()
    {
        var readOnly = AccessSpec.Policy(Policies.ReadOnlyArn);
        var developers = AccessSpec.Group("Developers");
        var bucket = AccessSpec.Resource("arn:aws:s3:::team-data", Policies.S3ReadOnlyArn);
        await GrantAsync("live-policy", RequestStatus.Active, readOnly, Alice);
        await GrantAsync("dead-policy", RequestStatus.Active, readOnly, Bob);
        await GrantAsync("dead-group", RequestStatus.Active, developers, Bob);
        await GrantAsync("live-bucket", RequestStatus.Active, bucket, Alice);
        await GrantAsync("dead-bucket", RequestStatus.Active, bucket, Bob);

        // Their workflows died before revoking.
        foreach (var id in new[] { "dead-policy", "dead-group", "dead-bucket" })
        {
            (await _h.Requests.GetAsync(id))!.Status = RequestStatus.Expired;
        }

        var report = await _h.Reconciler.ReconcileAsync(AwsHarness.Account());

        Assert.Equal(["arn:aws:iam::444455556666:policy/access-workflows/access-workflows-live-bucket", Policies.ReadOnlyArn], _h.Aws.Users[Alice].Attached.Order(StringComparer.Ordinal));
        Assert.Empty(_h.Aws.Users[Bob].Attached);
        Assert.DoesNotContain(Bob, _h.Aws.Groups["Developers"]);
        Assert.False(_h.Aws.Policies.ContainsKey("arn:aws:iam::444455556666:policy/access-workflows/access-workflows-dead-bucket"));
        Assert.Equal(3, report.Removed.Count);
        Assert.Contains(report.Removed, r => r.Kind == "policy" && r.UserName == Bob && r.Target == Policies.ReadOnlyArn);
        Assert.Contains(report.Removed, r => r.Kind == "group" && r.UserName == Bob && r.Target == "Developers");
        Assert.Contains(report.Removed, r => r.Kind == ReconciledKinds.GeneratedPolicy && r.RequestIds.SequenceEqual(["dead-bucket"]));
        Assert.Empty(report.Errors);
        Assert.Equal(3, (await AccountEventsAsync(AccountAudit.Removed)).Count);

        var again = await _h.Reconciler.ReconcileAsync(AwsHarness.Account());
        Assert.Empty(again.Removed);
        Assert.Equal(3, (await AccountEventsAsync(AccountAudit.Removed)).Count);
    }

    [Fact]
    public async Task Attachments_the_rules_could_grant_that_no_live_grant_explains_are_reported_as_drift_and_left_alone()
    {
        _h.Aws.AddUser("manual").Attached.Add(Policies.ReadOnlyArn);              // by hand, grantable: drift
        _h.Aws.Users["manual"].Attached.Add(Policies.AdminArn);                   // by hand, no rule grants it: not ours to judge
        _h.Aws.Groups["Developers"].Add(Bob);                                      // by hand, grantable group: drift
        _h.Aws.Groups["Admins"].Add(Bob);                                          // no rule grants it
        await GrantAsync("live", RequestStatus.Active, AccessSpec.Policy(Policies.ReadOnlyArn), Alice); // explained

        var report = await _h.Reconciler.ReconcileAsync(AwsHarness.Account());

        Assert.Equal(2, report.Drift.Count);
        Assert.Contains(report.Drift, d => d.UserName == "manual" && d.Kind == "policy" && d.Target == Policies.ReadOnlyArn);
        Assert.Contains(report.Drift, d => d.UserName == Bob && d.Kind == "group" && d.Target == "Developers");
        Assert.Empty(report.Removed);
        Assert.Equal([Policies.AdminArn, Policies.ReadOnlyArn], _h.Aws.Users["manual"].Attached.Order(StringComparer.Ordinal));
        Assert.Contains(Bob, _h.Aws.Groups["Developers"]);
        Assert.DoesNotContain(_h.Aws.CallNames(), c => c is "DetachUserPolicy" or "RemoveUserFromGroup");

        var drift = await AccountEventsAsync(AccountAudit.Drift);
        Assert.Equal(2, drift.Count);
        Assert.Contains(drift, e => e.Detail!.Contains("manual", StringComparison.Ordinal) && e.Detail.Contains("Left in place", StringComparison.Ordinal));

        // The next sweep finds the same drift and does not repeat it in the audit the same day.
        await _h.Reconciler.ReconcileAsync(AwsHarness.Account());
        Assert.Equal(2, (await AccountEventsAsync(AccountAudit.Drift)).Count);
    }

    [Fact]
    public async Task Only_users_in_the_configured_scope_are_swept()
    {
        await using var scoped = await AwsHarness.StartAsync(settingsOverride: new() { ["AccessWorkflows:Aws:UserPath"] = "/people/" });
        scoped.Aws.AddPolicy(Policies.ReadOnlyArn, Policies.ReadOnly);
        scoped.Aws.AddUserAt("/people/", Alice).Attached.Add(Policies.ReadOnlyArn);
        scoped.Aws.AddUserAt("/", "break-glass").Attached.Add(Policies.ReadOnlyArn);

        var report = await scoped.Reconciler.ReconcileAsync(AwsHarness.Account());

        Assert.Equal(Alice, Assert.Single(report.Drift).UserName);
        Assert.DoesNotContain(scoped.Aws.Calls, c => c.Parameters.GetValueOrDefault("UserName") == "break-glass");
        Assert.Contains(Policies.ReadOnlyArn, scoped.Aws.Users["break-glass"].Attached);
    }

    [Fact]
    public async Task Another_deployments_generated_policies_are_never_judged_or_deleted()
    {
        var theirs = _h.Aws.AddPolicy("arn:aws:iam::444455556666:policy/access-workflows/access-workflows-their-request", Policies.S3ReadOnly);
        theirs.Tags.Add(new("access-workflows:request-id", "their-request"));
        theirs.Tags.Add(new("access-workflows:deployment-id", "staging"));
        _h.Aws.Users[Bob].Attached.Add(theirs.Arn);
        var ours = _h.Aws.AddPolicy("arn:aws:iam::444455556666:policy/access-workflows/access-workflows-gone", Policies.S3ReadOnly);
        ours.Tags.Add(new("access-workflows:request-id", "gone"));
        ours.Tags.Add(new("access-workflows:deployment-id", "access-workflows"));

        var report = await _h.Reconciler.ReconcileAsync(AwsHarness.Account());

        Assert.True(_h.Aws.Policies.ContainsKey(theirs.Arn));
        Assert.Contains(theirs.Arn, _h.Aws.Users[Bob].Attached);
        Assert.False(_h.Aws.Policies.ContainsKey(ours.Arn));
        Assert.Equal(ours.Arn, Assert.Single(report.Removed).Target);
        Assert.DoesNotContain(report.Found, f => f.Target == theirs.Arn);
    }

    [Fact]
    public async Task An_active_grants_attachment_removed_by_hand_is_reapplied_and_the_repair_is_audited()
    {
        var readOnly = AccessSpec.Policy(Policies.ReadOnlyArn);
        var bucket = AccessSpec.Resource("arn:aws:s3:::team-data", Policies.S3ReadOnlyArn);
        var developers = AccessSpec.Group("Developers");
        await GrantAsync("policy-1", RequestStatus.Active, readOnly, Alice);
        await GrantAsync("bucket-1", RequestStatus.Active, bucket, Alice);
        await GrantAsync("group-1", RequestStatus.Active, developers, Alice);
        const string generated = "arn:aws:iam::444455556666:policy/access-workflows/access-workflows-bucket-1";

        // Someone cleans up by hand: detaches the policy and the generated policy, and removes the membership.
        _h.Aws.Users[Alice].Attached.Clear();
        _h.Aws.Groups["Developers"].Remove(Alice);

        var report = await _h.Reconciler.ReconcileAsync(AwsHarness.Account());

        Assert.Equal([generated, Policies.ReadOnlyArn], _h.Aws.Users[Alice].Attached.Order(StringComparer.Ordinal));
        Assert.Contains(Alice, _h.Aws.Groups["Developers"]);
        Assert.Equal(3, report.Repaired.Count);
        Assert.Equal(3, (await AccountEventsAsync(AccountAudit.Repair)).Count);
        Assert.Contains(await _h.Audit.ListAsync("policy-1"), e => e.Type == "grant.repaired");
        Assert.Empty(report.Drift);
    }

    [Fact]
    public async Task An_overlapping_grant_keeps_the_permission_while_a_dead_holder_is_dropped()
    {
        var readOnly = AccessSpec.Policy(Policies.ReadOnlyArn);
        await GrantAsync("a-live", RequestStatus.Active, readOnly, Alice);
        await GrantAsync("a-dead", RequestStatus.Revoked, readOnly, Alice);

        var report = await _h.Reconciler.ReconcileAsync(AwsHarness.Account());

        Assert.Contains(Policies.ReadOnlyArn, _h.Aws.Users[Alice].Attached);
        Assert.Empty(report.Removed);
        Assert.Equal(["a-live"], await _h.Ledger.GetHoldersAsync(new GrantKey(FakeAws.AccountId, Alice, readOnly.PermissionKey("a-live"))));
    }

    [Fact]
    public async Task Standing_access_is_never_removed_by_reconciliation_and_is_reported_as_drift()
    {
        var readOnly = AccessSpec.Policy(Policies.ReadOnlyArn);
        _h.Aws.Users[Alice].Attached.Add(Policies.ReadOnlyArn); // held long before any grant
        await GrantAsync("jit", RequestStatus.Active, readOnly, Alice);
        (await _h.Requests.GetAsync("jit"))!.Status = RequestStatus.Expired; // its workflow died before revoking

        var report = await _h.Reconciler.ReconcileAsync(AwsHarness.Account());

        Assert.Contains(Policies.ReadOnlyArn, _h.Aws.Users[Alice].Attached);
        Assert.Empty(report.Removed);
        var drift = Assert.Single(report.Drift);
        Assert.Equal([GrantHolders.Standing], drift.RequestIds);
        Assert.Equal([GrantHolders.Standing], await _h.Ledger.GetHoldersAsync(new GrantKey(FakeAws.AccountId, Alice, readOnly.PermissionKey("jit"))));
    }

    [Fact]
    public async Task Standing_access_removed_by_hand_during_a_grant_is_repaired_for_the_grant_and_then_revoked_with_it()
    {
        var readOnly = AccessSpec.Policy(Policies.ReadOnlyArn);
        _h.Aws.Users[Alice].Attached.Add(Policies.ReadOnlyArn);
        await GrantAsync("jit", RequestStatus.Active, readOnly, Alice);
        _h.Aws.Users[Alice].Attached.Clear(); // an admin removes the standing access while the grant is live

        var report = await _h.Reconciler.ReconcileAsync(AwsHarness.Account());
        Assert.Single(report.Repaired);
        Assert.Contains(Policies.ReadOnlyArn, _h.Aws.Users[Alice].Attached);

        await _h.Grants.ReleaseAsync(AwsHarness.Grant("jit", readOnly, Alice));
        Assert.Empty(_h.Aws.Users[Alice].Attached);
    }

    [Fact]
    public async Task Sandbox_accounts_are_reconciled_by_the_same_sweep()
    {
        var sandbox = AwsHarness.SandboxAccount();
        var readOnly = AccessSpec.Policy(Policies.ReadOnlyArn);
        var bucket = AccessSpec.Resource("arn:aws:s3:::team-data", Policies.S3ReadOnlyArn);
        await _h.Requests.TryCreateAsync(AwsHarness.Request("sb-dead", RequestStatus.Active, readOnly, Bob, sandbox.Id));
        await _h.Grants.GrantAsync(AwsHarness.Grant("sb-dead", readOnly, Bob, sandbox.Id));
        await _h.Requests.TryCreateAsync(AwsHarness.Request("sb-bucket", RequestStatus.Active, bucket, Bob, sandbox.Id));
        await _h.Grants.GrantAsync(AwsHarness.Grant("sb-bucket", bucket, Bob, sandbox.Id));
        (await _h.Requests.GetAsync("sb-dead"))!.Status = RequestStatus.Expired;
        (await _h.Requests.GetAsync("sb-bucket"))!.Status = RequestStatus.Failed;
        await _h.Sandbox.UpdateUserAsync(sandbox.Id, "carol@example.com", u => u with { Groups = ["Developers"] }); // by hand

        var report = await _h.Reconciler.ReconcileAsync(sandbox);

        Assert.Empty((await _h.Sandbox.GetUserAsync(sandbox.Id, Bob))!.AttachedPolicies);
        Assert.Equal(2, report.Removed.Count);
        var drift = Assert.Single(report.Drift);
        Assert.Equal(("carol@example.com", "Developers"), (drift.UserName, drift.Target));
        Assert.Equal(["Developers"], (await _h.Sandbox.GetUserAsync(sandbox.Id, "carol@example.com"))!.Groups);
        Assert.Equal(2, (await _h.Audit.ListAsync(AccountAudit.Key(sandbox.Id))).Count(e => e.Type == AccountAudit.Removed));
        Assert.Empty(_h.Aws.CallNames());
    }
}
