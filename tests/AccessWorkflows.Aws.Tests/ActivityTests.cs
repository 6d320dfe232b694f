using AccessWorkflows.Aws.Tests.Fakes;
using AccessWorkflows.Grants.Activity;
using AccessWorkflows.Requests;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Aws.Tests;

/// <summary>What a grant was used for, read from the strict CloudTrail fake through the collector the workflow's
/// activity uses: every region, every page, throttling retried, only the grantee and only the grant's window.</summary>
public sealed class ActivityTests : IAsyncLifetime
{
    private static readonly DateTimeOffset From = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset To = From.AddHours(1);
    private AwsHarness _h = null!;

    public async Task InitializeAsync() => _h = await AwsHarness.StartAsync();

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private ActivityCollector Collector => _h.Services.GetRequiredService<ActivityCollector>();

    [Fact]
    public async Task Events_of_the_grantee_in_the_window_are_counted_across_regions_and_pages_despite_throttling()
    {
        _h.Aws.PageSize = 2;
        _h.Aws.AddTrailEvent("us-east-1", "alice", "iam.amazonaws.com", "ListRoles", From.AddMinutes(1));
        _h.Aws.AddTrailEvent("eu-west-1", "alice", "s3.amazonaws.com", "ListBuckets", From.AddMinutes(2));
        _h.Aws.AddTrailEvent("eu-west-1", "alice", "s3.amazonaws.com", "ListBuckets", From.AddMinutes(3));
        _h.Aws.AddTrailEvent("eu-west-1", "alice", "s3.amazonaws.com", "DeleteBucket", From.AddMinutes(4), "AccessDenied");
        _h.Aws.AddTrailEvent("eu-west-1", "alice", "ec2.amazonaws.com", "DescribeInstances", From.AddMinutes(50));
        _h.Aws.AddTrailEvent("eu-west-1", "alice", "s3.amazonaws.com", "ListBuckets", To.AddMinutes(5));    // after the grant
        _h.Aws.AddTrailEvent("eu-west-1", "bob", "s3.amazonaws.com", "ListBuckets", From.AddMinutes(5));     // someone else
        _h.Aws.AddTrailEvent("ap-south-1", "alice", "s3.amazonaws.com", "ListBuckets", From.AddMinutes(5));  // a region not read
        _h.Aws.Fail("LookupEvents", 2, 400);

        var activity = await Collector.CollectAsync(FakeAws.AccountId, "alice", AccessKind.Policy, From, To);

        Assert.Equal(5, activity.Total);
        Assert.Equal((From, To), (activity.From, activity.To));
        Assert.Equal(From.AddMinutes(1), activity.First);
        Assert.Equal(From.AddMinutes(50), activity.Last);
        Assert.Equal(
            [("s3", "ListBuckets", 2, 0), ("ec2", "DescribeInstances", 1, 0), ("iam", "ListRoles", 1, 0), ("s3", "DeleteBucket", 1, 1)],
            activity.ByEvent.Select(e => (e.Service, e.EventName, e.Count, e.Errors)));
        var lookups = _h.Aws.JsonCalls.Where(c => c.Target.EndsWith(".LookupEvents", StringComparison.Ordinal)).ToList();
        Assert.Equal(2 + 1 + 2, lookups.Count); // two throttled, one page in us-east-1, two pages in eu-west-1
        Assert.All(lookups, c => Assert.Equal("Username", c.Body["LookupAttributes"]![0]!["AttributeKey"]!.GetValue<string>()));
        Assert.Contains(lookups, c => c.Body["NextToken"] is not null);
        Assert.Empty(_h.Aws.Rejections);
    }

    [Fact]
    public async Task A_permission_set_grant_is_looked_up_by_the_Identity_Center_user_name()
    {
        var user = _h.Aws.AddIdentityCenterUser("alice.idc", "alice@example.com");
        _h.Aws.AddTrailEvent("us-east-1", "alice.idc", "sts.amazonaws.com", "GetCallerIdentity", From.AddMinutes(1));

        var activity = await Collector.CollectAsync(FakeAws.AccountId, user.UserId, AccessKind.PermissionSet, From, To);

        Assert.Equal(1, activity.Total);
        Assert.Equal("sts", Assert.Single(activity.ByEvent).Service);
    }

    [Fact]
    public async Task A_sandbox_account_has_no_trail_and_reports_no_events_without_calling_AWS()
    {
        var activity = await Collector.CollectAsync(AwsHarness.SandboxAccountId, "alice@example.com", AccessKind.Policy, From, To);

        Assert.Equal(0, activity.Total);
        Assert.Null(activity.First);
        Assert.Empty(_h.Aws.JsonCalls);
    }
}
