using System.Text.Json;
using AccessWorkflows.Aws.Tests.Fakes;
using AccessWorkflows.Grants;
using AccessWorkflows.Requests;
using AccessWorkflows.Rules;

namespace AccessWorkflows.Aws.Tests;

public sealed class ProvisionerTests : IAsyncLifetime
{
    private const string Alice = "alice@example.com";
    private AwsHarness _h = null!;

    public async Task InitializeAsync()
    {
        _h = await AwsHarness.StartAsync();
        _h.Aws.AddUser(Alice);
        _h.Aws.AddGroup("Developers");
        _h.Aws.AddPolicy(Policies.ReadOnlyArn, Policies.ReadOnly);
        _h.Aws.AddPolicy(Policies.S3ReadOnlyArn, Policies.S3ReadOnly);
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task Policy_is_attached_then_detached_and_repeats_change_nothing()
    {
        var account = AwsHarness.Account();
        var access = AccessSpec.Policy(Policies.ReadOnlyArn);
        var user = await _h.Provisioner.ResolveUserNameAsync(account, Alice);

        await _h.Provisioner.ApplyAsync(account, user, access, "req-1");
        await _h.Provisioner.ApplyAsync(account, user, access, "req-1");
        Assert.Equal([Policies.ReadOnlyArn], _h.Aws.Users[Alice].Attached);

        await _h.Provisioner.RemoveAsync(account, user, access, "req-1");
        await _h.Provisioner.RemoveAsync(account, user, access, "req-1"); // NoSuchEntity on detach counts as done
        Assert.Empty(_h.Aws.Users[Alice].Attached);
        Assert.Equal(["GetUser", "AttachUserPolicy", "AttachUserPolicy", "DetachUserPolicy", "DetachUserPolicy"], _h.Aws.CallNames());
        Assert.Equal(Policies.ReadOnlyArn, _h.Aws.Calls[1].Parameters["PolicyArn"]);
        Assert.Equal(Alice, _h.Aws.Calls[1].Parameters["UserName"]);
    }

    [Fact]
    public async Task Group_membership_is_added_then_removed_idempotently()
    {
        var account = AwsHarness.Account();
        var access = AccessSpec.Group("Developers");

        await _h.Provisioner.ApplyAsync(account, Alice, access, "req-2");
        await _h.Provisioner.ApplyAsync(account, Alice, access, "req-2");
        Assert.Contains(Alice, _h.Aws.Groups["Developers"]);

        await _h.Provisioner.RemoveAsync(account, Alice, access, "req-2");
        await _h.Provisioner.RemoveAsync(account, Alice, access, "req-2");
        Assert.Empty(_h.Aws.Groups["Developers"]);
        Assert.Equal(["AddUserToGroup", "AddUserToGroup", "RemoveUserFromGroup", "RemoveUserFromGroup"], _h.Aws.CallNames());
    }

    [Fact]
    public async Task Resource_access_creates_a_tagged_scoped_policy_attaches_it_and_removes_it_with_its_versions()
    {
        var account = AwsHarness.Account();
        var access = AccessSpec.Resource("arn:aws:s3:::p0-sensitive-data", Policies.S3ReadOnlyArn);
        const string arn = "arn:aws:iam::444455556666:policy/access-workflows/access-workflows-req-3";

        await _h.Provisioner.ApplyAsync(account, Alice, access, "req-3");

        var created = _h.Aws.Policies[arn];
        Assert.Equal("/access-workflows/", created.Path);
        Assert.Contains(new KeyValuePair<string, string>("access-workflows:request-id", "req-3"), created.Tags);
        Assert.Contains(arn, _h.Aws.Users[Alice].Attached);
        using (var document = JsonDocument.Parse(created.Versions[0].Document))
        {
            var resources = document.RootElement.GetProperty("Statement").EnumerateArray().Select(s => s.GetProperty("Resource").GetString()).ToList();
            Assert.Equal(["arn:aws:s3:::p0-sensitive-data", "arn:aws:s3:::p0-sensitive-data/*"], resources);
        }

        Assert.Contains(new KeyValuePair<string, string>("access-workflows:deployment-id", "access-workflows"), created.Tags);

        // IAM is eventually consistent: the policy created a moment ago is NoSuchEntity to the first attachment.
        Assert.Equal(["GetPolicy", "GetPolicyVersion", "CreatePolicy", "AttachUserPolicy", "AttachUserPolicy"], _h.Aws.CallNames());

        // A second version (say an admin edited it) must go too: IAM refuses to delete a policy that still has one.
        created.Versions.Add(new FakeVersion("v2", created.Versions[0].Document, false));
        _h.Aws.ClearCalls();
        await _h.Provisioner.RemoveAsync(account, Alice, access, "req-3");
        Assert.False(_h.Aws.Policies.ContainsKey(arn));
        Assert.Empty(_h.Aws.Users[Alice].Attached);
        Assert.Equal(["DetachUserPolicy", "ListPolicyVersions", "DeletePolicyVersion", "DeletePolicy"], _h.Aws.CallNames());

        await _h.Provisioner.RemoveAsync(account, Alice, access, "req-3");
        Assert.False(_h.Aws.Policies.ContainsKey(arn));
    }

    [Fact]
    public async Task Resource_apply_repeated_adopts_its_own_existing_policy()
    {
        var account = AwsHarness.Account();
        var access = AccessSpec.Resource("arn:aws:s3:::team-data", Policies.S3ReadOnlyArn);

        await _h.Provisioner.ApplyAsync(account, Alice, access, "req-4");
        _h.Aws.ClearCalls();
        await _h.Provisioner.ApplyAsync(account, Alice, access, "req-4");

        Assert.Equal(["GetPolicy", "GetPolicyVersion", "CreatePolicy", "GetPolicy", "AttachUserPolicy"], _h.Aws.CallNames());
        Assert.Single(_h.Aws.Policies.Keys, k => k.Contains("access-workflows-req-4", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Resource_apply_refuses_a_same_named_policy_of_another_request()
    {
        _h.Aws.AddPolicy("arn:aws:iam::444455556666:policy/access-workflows/access-workflows-req-5", Policies.S3ReadOnly);

        var ex = await Assert.ThrowsAsync<PermanentProvisioningException>(() =>
            _h.Provisioner.ApplyAsync(AwsHarness.Account(), Alice, AccessSpec.Resource("arn:aws:s3:::team-data", Policies.S3ReadOnlyArn), "req-5"));
        Assert.Contains("not created for request req-5", ex.Message, StringComparison.Ordinal);
        Assert.Empty(_h.Aws.Users[Alice].Attached);
    }

    [Fact]
    public async Task Throttling_and_server_failures_are_retried_until_the_call_succeeds()
    {
        _h.Aws.Fail("AttachUserPolicy", 2, 400);
        _h.Aws.Fail("AttachUserPolicy", 1, 500);

        await _h.Provisioner.ApplyAsync(AwsHarness.Account(), Alice, AccessSpec.Policy(Policies.ReadOnlyArn), "req-6");

        Assert.Equal(["AttachUserPolicy", "AttachUserPolicy", "AttachUserPolicy", "AttachUserPolicy"], _h.Aws.CallNames());
        Assert.Contains(Policies.ReadOnlyArn, _h.Aws.Users[Alice].Attached);
    }

    [Fact]
    public async Task Throttling_beyond_the_budget_surfaces_as_a_transient_error_not_a_permanent_one()
    {
        _h.Aws.Fail("AttachUserPolicy", 10, 400);

        var ex = await Assert.ThrowsAsync<Iam.IamException>(() =>
            _h.Provisioner.ApplyAsync(AwsHarness.Account(), Alice, AccessSpec.Policy(Policies.ReadOnlyArn), "req-7"));
        Assert.True(ex.IsTransient);
        Assert.Equal(5, _h.Aws.CallNames().Count); // MaxAttempts
    }

    [Fact]
    public async Task A_missing_user_policy_or_group_is_a_permanent_failure()
    {
        var account = AwsHarness.Account();
        var noUser = await Assert.ThrowsAsync<PermanentProvisioningException>(() => _h.Provisioner.ResolveUserNameAsync(account, "mallory@example.com"));
        Assert.Contains("no IAM user named mallory@example.com", noUser.Message, StringComparison.Ordinal);

        var noPolicy = await Assert.ThrowsAsync<PermanentProvisioningException>(() =>
            _h.Provisioner.ApplyAsync(account, Alice, AccessSpec.Policy("arn:aws:iam::aws:policy/DoesNotExist"), "req-8"));
        Assert.Contains("DoesNotExist", noPolicy.Message, StringComparison.Ordinal);

        await Assert.ThrowsAsync<PermanentProvisioningException>(() => _h.Provisioner.ApplyAsync(account, Alice, AccessSpec.Group("Nope"), "req-8"));
        await Assert.ThrowsAsync<PermanentProvisioningException>(() =>
            _h.Provisioner.ApplyAsync(account, Alice, AccessSpec.Resource("arn:aws:s3:::x", "arn:aws:iam::aws:policy/DoesNotExist"), "req-8"));
    }

    [Fact]
    public async Task Invalid_access_never_reaches_IAM()
    {
        await Assert.ThrowsAsync<PermanentProvisioningException>(() =>
            _h.Provisioner.ApplyAsync(AwsHarness.Account(), Alice, AccessSpec.Group("Dev\"elopers</GroupName>"), "req-9"));
        await Assert.ThrowsAsync<PermanentProvisioningException>(() =>
            _h.Provisioner.ApplyAsync(AwsHarness.Account(), Alice, AccessSpec.Resource("arn:aws:s3:::b", Policies.S3ReadOnlyArn), "../evil"));
        Assert.Empty(_h.Aws.CallNames());
    }

    [Fact]
    public async Task A_resource_of_another_account_is_refused()
    {
        var ex = await Assert.ThrowsAsync<PermanentProvisioningException>(() =>
            _h.Provisioner.ApplyAsync(AwsHarness.Account(), Alice, AccessSpec.Resource("arn:aws:sqs:us-east-1:999999999999:orders", Policies.ReadOnlyArn), "req-10"));
        Assert.Contains("999999999999", ex.Message, StringComparison.Ordinal);
        Assert.Empty(_h.Aws.CallNames());
    }

    [Fact]
    public async Task User_mapping_by_tag_finds_the_tagged_user_across_pages_and_caches_the_map()
    {
        _h.Aws.PageSize = 1;
        _h.Aws.AddUser("bob", ("Team", "x"));
        _h.Aws.AddUser("carol.smith", ("Email", "Carol@Example.com"));
        _h.Aws.AddUser("dave", ("email", "dave@example.com"));
        var account = AwsHarness.Account(new UserMapping(UserMapping.EmailTagKind, "Email"));

        Assert.Equal("carol.smith", await _h.Provisioner.ResolveUserNameAsync(account, "carol@example.com"));
        var firstLoad = _h.Aws.CallNames();
        Assert.Equal(4, firstLoad.Count(c => c == "ListUsers")); // 4 users, one per page
        Assert.Equal(4, firstLoad.Count(c => c == "ListUserTags"));

        Assert.Equal("dave", await _h.Provisioner.ResolveUserNameAsync(account, "dave@example.com"));
        Assert.Equal(firstLoad.Count, _h.Aws.CallNames().Count); // served from the cache

        var ex = await Assert.ThrowsAsync<PermanentProvisioningException>(() => _h.Provisioner.ResolveUserNameAsync(account, "erin@example.com"));
        Assert.Contains("Email=erin@example.com", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task User_mapping_by_tag_refuses_an_email_two_users_carry()
    {
        _h.Aws.AddUser("x1", ("Email", "twin@example.com"));
        _h.Aws.AddUser("x2", ("Email", "twin@example.com"));
        var account = AwsHarness.Account(new UserMapping(UserMapping.EmailTagKind, "Email"));

        var ex = await Assert.ThrowsAsync<PermanentProvisioningException>(() => _h.Provisioner.ResolveUserNameAsync(account, "twin@example.com"));
        Assert.Contains("x1, x2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_IAM_call_is_signed_with_the_assumed_session_not_the_base_key()
    {
        await _h.Provisioner.ApplyAsync(AwsHarness.Account(), Alice, AccessSpec.Policy(Policies.ReadOnlyArn), "req-11");

        var call = Assert.Single(_h.Aws.Calls);
        Assert.StartsWith("ASIA", call.AccessKeyId, StringComparison.Ordinal);
        var assume = Assert.Single(_h.Aws.StsCalls);
        Assert.Equal(FakeAws.ExternalId, assume.Parameters["ExternalId"]);
        Assert.Equal(FakeAws.RoleArn, assume.Parameters["RoleArn"]);
        Assert.Empty(_h.Aws.Rejections);
    }
}
