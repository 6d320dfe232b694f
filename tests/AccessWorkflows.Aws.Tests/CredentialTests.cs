using AccessWorkflows.Aws.Credentials;
using AccessWorkflows.Aws.Iam;
using AccessWorkflows.Aws.Tests.Fakes;
using AccessWorkflows.Grants;
using AccessWorkflows.Requests;
using AccessWorkflows.Testing;
using Azure.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Aws.Tests;

public sealed class CredentialTests
{
    private const string Alice = "alice@example.com";

    private static async Task<AwsHarness> StartAsync(string trust = "chain", string secret = FakeAws.BaseSecretKey, IWebIdentityTokenSource? tokens = null, Func<FakeAws, Dictionary<string, string?>>? endpoints = null)
    {
        var h = await AwsHarness.StartAsync(trust, secret, tokens, endpoints);
        h.Aws.AddUser(Alice);
        h.Aws.AddPolicy(Policies.ReadOnlyArn, Policies.ReadOnly);
        return h;
    }

    [Theory]
    [InlineData("eu-west-1", "us-east-1")]
    [InlineData("us-east-1", "us-east-1")]
    [InlineData("cn-north-1", "cn-north-1")]
    [InlineData("cn-northwest-1", "cn-north-1")]
    [InlineData("us-gov-east-1", "us-gov-west-1")]
    public async Task Iam_is_signed_for_its_partitions_region_and_sts_for_the_configured_one(string region, string iamRegion)
    {
        await using var h = await AwsHarness.StartAsync(settingsOverride: new() { ["AccessWorkflows:Aws:Region"] = region });
        h.Aws.IamRegion = iamRegion;
        h.Aws.StsRegion = region;
        h.Aws.AddUser(Alice);
        h.Aws.AddPolicy(Policies.ReadOnlyArn, Policies.ReadOnly);

        await h.Provisioner.ApplyAsync(AwsHarness.Account(), Alice, AccessSpec.Policy(Policies.ReadOnlyArn), "r1");

        Assert.Empty(h.Aws.Rejections);
        Assert.Equal(1, h.Aws.AssumeRoleCount);
        Assert.Contains(Policies.ReadOnlyArn, h.Aws.Users[Alice].Attached);
    }

    [Fact]
    public void Without_an_endpoint_override_iam_goes_to_its_partitions_global_endpoint()
    {
        Assert.Equal("https://iam.amazonaws.com/", new AwsOptions { Region = "eu-west-1" }.Partition.IamEndpoint.ToString());
        Assert.Equal("https://iam.cn-north-1.amazonaws.com.cn/", new AwsOptions { Region = "cn-northwest-1" }.Partition.IamEndpoint.ToString());
        Assert.Equal("https://iam.us-gov.amazonaws.com/", new AwsOptions { Region = "us-gov-east-1" }.Partition.IamEndpoint.ToString());
    }

    [Fact]
    public async Task A_user_outside_the_configured_path_or_without_the_tag_is_refused_before_any_change()
    {
        await using var h = await AwsHarness.StartAsync(settingsOverride: new() { ["AccessWorkflows:Aws:UserPath"] = "/people/", ["AccessWorkflows:Aws:UserTag"] = "jit=allowed" });
        h.Aws.AddUserAt("/people/", Alice, ("jit", "allowed"));
        h.Aws.AddUserAt("/people/", "bob@example.com");
        h.Aws.AddUserAt("/", "break-glass@example.com", ("jit", "allowed"));

        Assert.Equal(Alice, await h.Provisioner.ResolveUserNameAsync(AwsHarness.Account(), Alice));
        var untagged = await Assert.ThrowsAsync<PermanentProvisioningException>(() => h.Provisioner.ResolveUserNameAsync(AwsHarness.Account(), "bob@example.com"));
        var outside = await Assert.ThrowsAsync<PermanentProvisioningException>(() => h.Provisioner.ResolveUserNameAsync(AwsHarness.Account(), "break-glass@example.com"));

        Assert.Contains("jit=allowed", untagged.Message, StringComparison.Ordinal);
        Assert.Contains("/people/", outside.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(h.Aws.CallNames(), c => c.StartsWith("Attach", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_tampered_secret_key_is_refused_by_the_signature_check()
    {
        await using var h = await StartAsync(secret: "not-the-right-secret");

        var ex = await Assert.ThrowsAsync<PermanentProvisioningException>(() => h.Provisioner.ResolveUserNameAsync(HarnessAccountWithoutRole(), Alice));

        Assert.Contains("SignatureDoesNotMatch", ex.Message, StringComparison.Ordinal);
        Assert.Contains("SignatureDoesNotMatch", h.Aws.Rejections);
        Assert.Empty(h.Aws.Calls);
    }

    [Fact]
    public async Task A_tampered_secret_key_cannot_assume_the_role_either()
    {
        await using var h = await StartAsync(secret: "not-the-right-secret");

        await Assert.ThrowsAnyAsync<Exception>(() => h.Provisioner.ResolveUserNameAsync(AwsHarness.Account(), Alice));

        Assert.Contains("SignatureDoesNotMatch", h.Aws.Rejections);
        Assert.Empty(h.Aws.Calls);
    }

    [Fact]
    public async Task Without_a_role_the_chain_identity_signs_IAM_calls_directly()
    {
        await using var h = await StartAsync();

        Assert.Equal(Alice, await h.Provisioner.ResolveUserNameAsync(HarnessAccountWithoutRole(), Alice));

        Assert.Equal(FakeAws.BaseAccessKey, Assert.Single(h.Aws.Calls).AccessKeyId);
        Assert.Equal(0, h.Aws.AssumeRoleCount);
    }

    [Fact]
    public async Task Session_credentials_are_reused_and_renewed_five_minutes_before_they_expire()
    {
        await using var h = await StartAsync();
        var account = AwsHarness.Account();

        await h.Provisioner.ResolveUserNameAsync(account, Alice);
        await h.Provisioner.ApplyAsync(account, Alice, AccessSpec.Policy(Policies.ReadOnlyArn), "r1");
        Assert.Equal(1, h.Aws.AssumeRoleCount);
        var firstKey = h.Aws.Calls[0].AccessKeyId;
        Assert.Equal(firstKey, h.Aws.Calls[1].AccessKeyId);

        h.Time.Shift = TimeSpan.FromMinutes(54); // 6 minutes left: still good
        await h.Provisioner.ResolveUserNameAsync(account, Alice);
        Assert.Equal(1, h.Aws.AssumeRoleCount);

        h.Time.Shift = TimeSpan.FromMinutes(56); // 4 minutes left: renew first
        await h.Provisioner.ResolveUserNameAsync(account, Alice);
        Assert.Equal(2, h.Aws.AssumeRoleCount);
        Assert.NotEqual(firstKey, h.Aws.Calls[^1].AccessKeyId);
    }

    [Fact]
    public async Task A_wrong_external_id_is_a_permanent_failure_naming_the_role()
    {
        await using var h = await StartAsync();
        var account = AwsHarness.Account() with { ExternalId = "wrong" };

        var ex = await Assert.ThrowsAsync<PermanentProvisioningException>(() => h.Provisioner.ResolveUserNameAsync(account, Alice));

        Assert.Contains(FakeAws.RoleArn, ex.Message, StringComparison.Ordinal);
        Assert.Empty(h.Aws.Calls);
    }

    [Fact]
    public async Task Azure_trust_assumes_the_role_with_the_managed_identity_token_and_no_aws_key()
    {
        var credential = new RecordingTokenCredential(FakeAws.WebIdentityToken);
        await using var h = await StartAsync("azure", tokens: new AzureWebIdentityTokenSource(credential, "api://AzureADTokenExchange/.default"));

        Assert.Equal(Alice, await h.Provisioner.ResolveUserNameAsync(AwsHarness.Account(), Alice));

        var assume = Assert.Single(h.Aws.StsCalls);
        Assert.Equal("AssumeRoleWithWebIdentity", assume.Action);
        Assert.Equal(FakeAws.RoleArn, assume.Parameters["RoleArn"]);
        Assert.Equal(["api://AzureADTokenExchange/.default"], credential.Scopes);
        Assert.StartsWith("ASIA", Assert.Single(h.Aws.Calls).AccessKeyId, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Azure_trust_with_a_token_the_provider_rejects_is_permanent()
    {
        await using var h = await StartAsync("azure", tokens: new AzureWebIdentityTokenSource(new RecordingTokenCredential("forged"), "api://AzureADTokenExchange/.default"));

        var ex = await Assert.ThrowsAsync<PermanentProvisioningException>(() => h.Provisioner.ResolveUserNameAsync(AwsHarness.Account(), Alice));
        Assert.Contains("InvalidIdentityToken", ex.Message, StringComparison.Ordinal);
        Assert.Empty(h.Aws.Calls);
    }

    [Fact]
    public async Task The_generic_endpoint_variable_serves_both_services()
    {
        await using var h = await StartAsync(endpoints: aws => new() { ["AWS_ENDPOINT_URL"] = aws.BaseAddress.ToString() });

        Assert.Equal(Alice, await h.Provisioner.ResolveUserNameAsync(AwsHarness.Account(), Alice));
        Assert.Single(h.Aws.Calls);
        Assert.Single(h.Aws.StsCalls);
    }

    [Fact]
    public async Task The_service_specific_endpoint_variable_wins_over_the_generic_one()
    {
        var elsewhereHits = 0;
        await using var elsewhere = await LoopbackServer.StartAsync(app => app.MapPost("/{**path}", (HttpContext _) =>
        {
            Interlocked.Increment(ref elsewhereHits);
            return Results.StatusCode(500);
        }));
        await using var h = await StartAsync(endpoints: aws => new()
        {
            ["AWS_ENDPOINT_URL"] = elsewhere.BaseAddress.ToString(),
            ["AWS_ENDPOINT_URL_IAM"] = aws.BaseAddress.ToString(),
            ["AWS_ENDPOINT_URL_STS"] = aws.BaseAddress.ToString(),
        });

        Assert.Equal(Alice, await h.Provisioner.ResolveUserNameAsync(AwsHarness.Account(), Alice));
        Assert.Equal(0, elsewhereHits);
        Assert.Single(h.Aws.Calls);
    }

    [Fact]
    public void Endpoint_resolution_follows_the_sdk_rules()
    {
        var env = new Dictionary<string, string?> { ["AWS_ENDPOINT_URL"] = "http://127.0.0.1:1/", ["AWS_ENDPOINT_URL_STS"] = "http://127.0.0.1:2/" };
        var endpoints = new AwsEndpoints(n => env.GetValueOrDefault(n));
        Assert.Equal("http://127.0.0.1:1/", endpoints.Iam.ToString());
        Assert.Equal("http://127.0.0.1:2/", endpoints.Sts!.ToString());

        env["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true";
        Assert.Equal(AwsEndpoints.DefaultIamEndpoint, endpoints.Iam);
        Assert.Null(endpoints.Sts);

        Assert.Throws<InvalidOperationException>(() => new AwsEndpoints(_ => "file:///etc/passwd").Configured("IAM"));
    }

    [Fact]
    public async Task Process_environment_variables_are_honoured_when_configuration_has_none()
    {
        // Only tests of this class (which run one at a time) build a harness without the service-specific keys.
        await using var aws = await FakeAws.StartAsync();
        Environment.SetEnvironmentVariable("AWS_ENDPOINT_URL_IAM", aws.BaseAddress.ToString());
        Environment.SetEnvironmentVariable("AWS_ENDPOINT_URL_STS", aws.BaseAddress.ToString());
        try
        {
            await using var h = await StartAsync(endpoints: _ => []);
            aws.AddUser(Alice);

            Assert.Equal(Alice, await h.Provisioner.ResolveUserNameAsync(AwsHarness.Account(), Alice));
            Assert.Single(aws.Calls);
            Assert.Single(aws.StsCalls);
            Assert.Empty(h.Aws.Calls);
        }
        finally
        {
            Environment.SetEnvironmentVariable("AWS_ENDPOINT_URL_IAM", null);
            Environment.SetEnvironmentVariable("AWS_ENDPOINT_URL_STS", null);
        }
    }

    private static Rules.AccountConfig HarnessAccountWithoutRole() => AwsHarness.Account() with { RoleArn = null, ExternalId = null };

    private sealed class RecordingTokenCredential(string token) : TokenCredential
    {
        public List<string> Scopes { get; } = [];

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            Scopes.AddRange(requestContext.Scopes);
            return new AccessToken(token, DateTimeOffset.UtcNow.AddHours(1));
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }
}
