using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Aws.Tests;

public sealed class CatalogTests
{
    [Fact]
    public async Task Policies_and_groups_are_listed_across_pages_without_generated_policies_and_cached()
    {
        await using var h = await AwsHarness.StartAsync();
        h.Aws.PageSize = 2;
        h.Aws.AddPolicy(Policies.ReadOnlyArn, Policies.ReadOnly);
        h.Aws.AddPolicy(Policies.S3ReadOnlyArn, Policies.S3ReadOnly);
        h.Aws.AddPolicy("arn:aws:iam::444455556666:policy/team/DeployAccess", Policies.S3ReadOnly);
        h.Aws.AddPolicy("arn:aws:iam::444455556666:policy/access-workflows/access-workflows-r1", Policies.S3ReadOnly);
        h.Aws.AddGroup("Developers");
        h.Aws.AddGroup("Auditors");
        h.Aws.AddGroup("Ops");
        var catalog = h.Services.GetRequiredService<AwsAccessCatalog>();
        var account = AwsHarness.Account();

        Assert.Equal(
            ["arn:aws:iam::444455556666:policy/team/DeployAccess", Policies.S3ReadOnlyArn, Policies.ReadOnlyArn],
            await catalog.ListPolicyArnsAsync(account));
        Assert.Equal(["Auditors", "Developers", "Ops"], await catalog.ListGroupNamesAsync(account));
        Assert.Equal("All", h.Aws.Calls.First(c => c.Action == "ListPolicies").Parameters["Scope"]);
        var calls = h.Aws.Calls.Count;
        Assert.Equal(4, calls); // two pages each

        await catalog.ListPolicyArnsAsync(account);
        await catalog.ListGroupNamesAsync(account);
        Assert.Equal(calls, h.Aws.Calls.Count);

        h.Time.Shift = TimeSpan.FromMinutes(6);
        await catalog.ListGroupNamesAsync(account);
        Assert.Equal(calls + 2, h.Aws.Calls.Count);
    }
}
