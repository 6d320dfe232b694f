using AccessWorkflows.Aws.Reconciliation;
using AccessWorkflows.Requests;
using AccessWorkflows.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Aws.Tests;

public sealed class ReconcilerTests : IAsyncLifetime
{
    private const string Alice = "alice@example.com";
    private const string Bob = "bob@example.com";
    private AwsHarness _h = null!;

    public async Task InitializeAsync()
    {
        _h = await AwsHarness.StartAsync();
        _h.Aws.AddUser(Alice);
        _h.Aws.AddUser(Bob);
        _h.Aws.AddGroup("Developers");
        _h.Aws.AddPolicy(Policies.ReadOnlyArn, Policies.ReadOnly);
        _h.Aws.AddPolicy(Policies.S3ReadOnlyArn, Policies.S3ReadOnly);
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private async Task GrantAsync(string id, RequestStatus status, AccessSpec access, string user)
    {
        await _h.Requests.TryCreateAsync(AwsHarness.Request(id, status, access, user));
        await _h.Provisioner.ApplyAsync(AwsHarness.Account(), user, access, id);
        await _h.Ledger.AddHolderAsync(new GrantKey(AwsHarness.Account().Id, user, access.PermissionKey(id)), id);
    }

    [Fact]
    public async Task Orphans_are_removed_with_an_audit_event_and_what_an_active_grant_explains_stays()
    {
        var readOnly = AccessSpec.Policy(Policies.ReadOnlyArn);
        var developers = AccessSpec.Group("Developers");
        var bucket = AccessSpec.Resource("arn:aws:s3:::team-data", Policies.S3ReadOnlyArn);
        await GrantAsync("live-policy", RequestStatus.Active, readOnly, Alice);
        await GrantAsync("dead-policy", RequestStatus.Expired, readOnly, Bob);       // orphan: its workflow died before revoking
        await GrantAsync("dead-group", RequestStatus.Relinquished, developers, Bob); // orphan
        await GrantAsync("live-bucket", RequestStatus.Active, bucket, Alice);
        await GrantAsync("dead-bucket", RequestStatus.Failed, bucket, Bob);          // orphan generated policy
        _h.Aws.AddUser("manual").Attached.Add(Policies.ReadOnlyArn);               // not ours: no ledger entry
        _h.Aws.AddPolicy("arn:aws:iam::444455556666:policy/access-workflows/untagged", Policies.S3ReadOnly); // not ours to judge

        var report = await _h.Services.GetRequiredService<AwsReconciler>().ReconcileAsync(AwsHarness.Account());

        Assert.Equal(["arn:aws:iam::444455556666:policy/access-workflows/access-workflows-live-bucket", Policies.ReadOnlyArn], _h.Aws.Users[Alice].Attached.Order(StringComparer.Ordinal));
        Assert.Empty(_h.Aws.Users[Bob].Attached);
        Assert.DoesNotContain(Bob, _h.Aws.Groups["Developers"]);
        Assert.Contains(Policies.ReadOnlyArn, _h.Aws.Users["manual"].Attached);
        Assert.True(_h.Aws.Policies.ContainsKey("arn:aws:iam::444455556666:policy/access-workflows/access-workflows-live-bucket"));
        Assert.False(_h.Aws.Policies.ContainsKey("arn:aws:iam::444455556666:policy/access-workflows/access-workflows-dead-bucket"));
        Assert.True(_h.Aws.Policies.ContainsKey("arn:aws:iam::444455556666:policy/access-workflows/untagged"));

        Assert.Equal(3, report.Removed.Count);
        Assert.Contains(report.Removed, r => r.Kind == "policy" && r.UserName == Bob && r.Target == Policies.ReadOnlyArn);
        Assert.Contains(report.Removed, r => r.Kind == "group" && r.UserName == Bob && r.Target == "Developers");
        Assert.Contains(report.Removed, r => r.Kind == ReconciledKinds.GeneratedPolicy && r.RequestIds.SequenceEqual(["dead-bucket"]));
        Assert.Contains(report.Found, f => f.Target.EndsWith("/untagged", StringComparison.Ordinal) && f.RequestIds.Count == 0);
        Assert.Empty(report.Errors);

        var audit = await _h.Audit.ListAsync($"account:{AwsHarness.Account().Id}");
        Assert.Equal(3, audit.Count);
        Assert.All(audit, e => Assert.Equal("reconcile.removed", e.Type));
        Assert.Contains(audit, e => e.Detail!.Contains("dead-bucket", StringComparison.Ordinal));

        var holdings = await _h.Ledger.ListAsync(AwsHarness.Account().Id);
        Assert.DoesNotContain(holdings, h => h.RequestIds.Any(id => id.StartsWith("dead", StringComparison.Ordinal)));

        // A second sweep finds nothing more to do.
        var again = await _h.Services.GetRequiredService<AwsReconciler>().ReconcileAsync(AwsHarness.Account());
        Assert.Empty(again.Removed);
        Assert.Equal(3, (await _h.Audit.ListAsync($"account:{AwsHarness.Account().Id}")).Count);
    }

    [Fact]
    public async Task An_overlapping_grant_keeps_the_permission_while_a_dead_holder_is_dropped()
    {
        var readOnly = AccessSpec.Policy(Policies.ReadOnlyArn);
        await GrantAsync("a-live", RequestStatus.Active, readOnly, Alice);
        await GrantAsync("a-dead", RequestStatus.Revoked, readOnly, Alice);

        var report = await _h.Services.GetRequiredService<AwsReconciler>().ReconcileAsync(AwsHarness.Account());

        Assert.Contains(Policies.ReadOnlyArn, _h.Aws.Users[Alice].Attached);
        Assert.Empty(report.Removed);
        Assert.Equal(["a-live"], await _h.Ledger.GetHoldersAsync(new GrantKey(AwsHarness.Account().Id, Alice, readOnly.PermissionKey("a-live"))));
    }
}
