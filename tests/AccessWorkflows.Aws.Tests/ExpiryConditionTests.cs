using System.Text.Json;
using AccessWorkflows.Aws.Tests.Fakes;
using AccessWorkflows.Grants;
using AccessWorkflows.Requests;

namespace AccessWorkflows.Aws.Tests;

/// <summary>Defense in depth: a generated policy ends itself at the grant's expiry, so AWS denies even if revocation
/// is late; an extension moves that instant.</summary>
public sealed class ExpiryConditionTests : IAsyncLifetime
{
    private const string Alice = "alice@example.com";
    private const string Generated = "arn:aws:iam::444455556666:policy/access-workflows/access-workflows-req-1";
    private static readonly AccessSpec Bucket = AccessSpec.Resource("arn:aws:s3:::team-data", Policies.S3ReadOnlyArn);
    private AwsHarness _h = null!;

    public async Task InitializeAsync()
    {
        _h = await AwsHarness.StartAsync();
        _h.Aws.AddUser(Alice);
        _h.Aws.AddPolicy(Policies.S3ReadOnlyArn, Policies.S3ReadOnly);
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private static IamCall GetObject(DateTimeOffset at) =>
        new IamCall("s3:GetObject", "arn:aws:s3:::team-data/report.csv").With("aws:CurrentTime", at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture));

    private string DefaultDocument() => _h.Aws.Policies[Generated].Versions.Single(v => v.IsDefault).Document;

    [Fact]
    public async Task The_generated_policy_allows_until_the_grant_expiry_and_denies_after_it()
    {
        var request = AwsHarness.Request("req-1", RequestStatus.Approved, Bucket, Alice);
        request.GrantedDuration = TimeSpan.FromHours(2);
        await _h.Requests.TryCreateAsync(request);
        var before = _h.Time.GetUtcNow();

        await _h.Grants.GrantAsync(AwsHarness.Grant("req-1", Bucket, Alice));

        var document = DefaultDocument();
        using (var json = JsonDocument.Parse(document))
        {
            foreach (var statement in json.RootElement.GetProperty("Statement").EnumerateArray())
            {
                var until = DateTimeOffset.Parse(statement.GetProperty("Condition").GetProperty("DateLessThan").GetProperty("aws:CurrentTime").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
                var expected = before + TimeSpan.FromHours(2) + GrantService.ExpiryConditionSlack;
                Assert.InRange(until, expected - TimeSpan.FromSeconds(1), expected + TimeSpan.FromSeconds(30));
            }
        }

        Assert.Equal(IamDecision.Allow, IamPolicyEvaluator.Evaluate(document, GetObject(before + TimeSpan.FromHours(1))));
        Assert.Equal(IamDecision.ImplicitDeny, IamPolicyEvaluator.Evaluate(document, GetObject(before + TimeSpan.FromHours(2) + GrantService.ExpiryConditionSlack + TimeSpan.FromMinutes(1))));
    }

    [Fact]
    public async Task Extending_a_grant_moves_the_expiry_in_a_new_default_version_and_drops_the_old_one()
    {
        var request = AwsHarness.Request("req-1", RequestStatus.Active, Bucket, Alice);
        var expires = new DateTimeOffset(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);
        request.ExpiresAt = expires;
        await _h.Requests.TryCreateAsync(request);
        var grant = AwsHarness.Grant("req-1", Bucket, Alice);
        await _h.Grants.GrantAsync(grant);
        Assert.Contains("2030-01-01T12:05:00Z", DefaultDocument(), StringComparison.Ordinal);

        await _h.Grants.ExtendAsync(grant, expires + TimeSpan.FromHours(1));
        await _h.Grants.ExtendAsync(grant, expires + TimeSpan.FromHours(1)); // repeated: nothing more changes

        var policy = _h.Aws.Policies[Generated];
        var version = Assert.Single(policy.Versions);
        Assert.True(version.IsDefault);
        Assert.Equal("v2", version.Id);
        Assert.Contains("2030-01-01T13:05:00Z", version.Document, StringComparison.Ordinal);
        Assert.DoesNotContain("2030-01-01T12:05:00Z", version.Document, StringComparison.Ordinal);
        Assert.Single(_h.Aws.CallNames(), c => c == "CreatePolicyVersion");
        Assert.Contains(Generated, _h.Aws.Users[Alice].Attached);
    }

    [Fact]
    public async Task The_sweep_moves_a_stale_expiry_condition_to_the_recorded_expiry()
    {
        var request = AwsHarness.Request("req-1", RequestStatus.Active, Bucket, Alice);
        request.ExpiresAt = new DateTimeOffset(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);
        await _h.Requests.TryCreateAsync(request);
        await _h.Grants.GrantAsync(AwsHarness.Grant("req-1", Bucket, Alice));

        // Extended by a path that did not update the policy: the store says 14:00, the policy still 12:05.
        request.ExpiresAt = new DateTimeOffset(2030, 1, 1, 14, 0, 0, TimeSpan.Zero);
        var report = await _h.Reconciler.ReconcileAsync(AwsHarness.Account());

        Assert.Empty(report.Errors);
        Assert.Contains("2030-01-01T14:05:00Z", DefaultDocument(), StringComparison.Ordinal);
        Assert.Single(_h.Aws.Policies[Generated].Versions);
    }
}
