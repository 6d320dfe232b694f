using System.Text.Json;
using AccessWorkflows.Aws.Install;

namespace AccessWorkflows.Aws.Tests;

public sealed class InstallTests
{
    private static List<JsonElement> Statements(JsonElement policy) => policy.GetProperty("Statement").EnumerateArray().ToList();

    private static List<string> Strings(JsonElement statement, string name) =>
        statement.TryGetProperty(name, out var value) ? value.EnumerateArray().Select(v => v.GetString()!).ToList() : [];

    [Fact]
    public void The_chain_template_parses_trusts_only_the_principal_and_denies_changing_itself()
    {
        var template = new ProvisionerRoleTemplate("444455556666", new ProvisionerTrust("chain", PrincipalArn: "arn:aws:iam::111111111111:role/AccessWorkflows", ExternalId: "ext-123"));

        using var json = JsonDocument.Parse(template.CloudFormation());
        var role = json.RootElement.GetProperty("Resources").GetProperty("ProvisionerRole");
        Assert.Equal("AWS::IAM::Role", role.GetProperty("Type").GetString());
        var properties = role.GetProperty("Properties");

        var trust = Assert.Single(Statements(properties.GetProperty("AssumeRolePolicyDocument")));
        Assert.Equal("arn:aws:iam::111111111111:role/AccessWorkflows", trust.GetProperty("Principal").GetProperty("AWS").GetString());
        Assert.Equal("ext-123", trust.GetProperty("Condition").GetProperty("StringEquals").GetProperty("sts:ExternalId").GetString());

        var permissions = Statements(properties.GetProperty("Policies")[0].GetProperty("PolicyDocument"));
        var allows = permissions.Where(s => s.GetProperty("Effect").GetString() == "Allow").ToList();
        var denies = permissions.Where(s => s.GetProperty("Effect").GetString() == "Deny").ToList();

        // Creating policies only under /access-workflows/ of this account.
        var create = Assert.Single(allows, s => Strings(s, "Action").Contains("iam:CreatePolicy"));
        Assert.Equal(["arn:aws:iam::444455556666:policy/access-workflows/*"], Strings(create, "Resource"));
        Assert.Contains(denies, s => Strings(s, "Action").Contains("iam:CreatePolicy") && Strings(s, "NotResource").SequenceEqual(["arn:aws:iam::444455556666:policy/access-workflows/*"]));

        // Deny-self: nothing on its own role, no role or role-policy change anywhere.
        Assert.Contains(denies, s => Strings(s, "Resource").SequenceEqual([template.RoleArn]) && Strings(s, "Action").Contains("iam:*"));
        Assert.Contains(denies, s => Strings(s, "Action").Contains("iam:*Role*") && Strings(s, "Action").Contains("iam:*RolePolicy*"));

        // Every allowed resource is in this account, except read-only access to AWS managed policies and the list calls.
        foreach (var resource in allows.SelectMany(s => Strings(s, "Resource")))
        {
            Assert.True(resource.StartsWith("arn:aws:iam::444455556666:", StringComparison.Ordinal) || resource == "arn:aws:iam::aws:policy/*" || resource == "*", resource);
        }

        Assert.All(allows.Where(s => Strings(s, "Resource").Contains("*")), s => Assert.All(Strings(s, "Action"), a => Assert.StartsWith("iam:List", a, StringComparison.Ordinal)));
        Assert.All(allows.Where(s => Strings(s, "Resource").Contains("arn:aws:iam::aws:policy/*")), s => Assert.All(Strings(s, "Action"), a => Assert.StartsWith("iam:Get", a, StringComparison.Ordinal)));

        // The exact calls the provisioner makes are allowed.
        var allowed = allows.SelectMany(s => Strings(s, "Action")).ToHashSet();
        foreach (var call in new[] { "GetUser", "ListUsers", "ListUserTags", "AttachUserPolicy", "DetachUserPolicy", "AddUserToGroup", "RemoveUserFromGroup", "GetPolicy", "GetPolicyVersion", "ListPolicies", "ListGroups", "CreatePolicy", "TagPolicy", "ListPolicyVersions", "DeletePolicyVersion", "DeletePolicy", "ListEntitiesForPolicy" })
        {
            Assert.Contains("iam:" + call, allowed);
        }
    }

    [Fact]
    public void The_azure_template_federates_only_the_managed_identity()
    {
        var tenant = Guid.NewGuid().ToString();
        var principal = Guid.NewGuid().ToString();
        var template = new ProvisionerRoleTemplate("444455556666", new ProvisionerTrust("azure", TenantId: tenant, ManagedIdentityObjectId: principal));

        using var json = JsonDocument.Parse(template.CloudFormation());
        var resources = json.RootElement.GetProperty("Resources");
        Assert.Equal($"https://sts.windows.net/{tenant}/", resources.GetProperty("EntraOidcProvider").GetProperty("Properties").GetProperty("Url").GetString());
        var trust = Assert.Single(Statements(resources.GetProperty("ProvisionerRole").GetProperty("Properties").GetProperty("AssumeRolePolicyDocument")));
        Assert.Equal("sts:AssumeRoleWithWebIdentity", trust.GetProperty("Action").GetString());
        Assert.Equal($"arn:aws:iam::444455556666:oidc-provider/sts.windows.net/{tenant}/", trust.GetProperty("Principal").GetProperty("Federated").GetString());
        var conditions = trust.GetProperty("Condition").GetProperty("StringEquals");
        Assert.Equal(principal, conditions.GetProperty($"sts.windows.net/{tenant}/:sub").GetString());
        Assert.Equal("api://AzureADTokenExchange", conditions.GetProperty($"sts.windows.net/{tenant}/:aud").GetString());
    }

    [Fact]
    public void The_setup_command_prints_template_cli_and_rules_lines()
    {
        var output = new StringWriter();

        var code = AwsSetupCommand.Run(["aws-setup", "--account", "444455556666", "--principal", "arn:aws:iam::111111111111:role/AccessWorkflows", "--external-id", "ext-1"], output);

        Assert.Equal(0, code);
        var text = output.ToString();
        Assert.Contains("\"AWSTemplateFormatVersion\": \"2010-09-09\"", text, StringComparison.Ordinal);
        Assert.Contains("aws iam create-role --role-name AccessWorkflowsProvisioner", text, StringComparison.Ordinal);
        Assert.Contains("aws iam put-role-policy", text, StringComparison.Ordinal);
        Assert.Contains("roleArn: arn:aws:iam::444455556666:role/AccessWorkflowsProvisioner", text, StringComparison.Ordinal);
        Assert.Contains("externalId: ext-1", text, StringComparison.Ordinal);

        // The template block between the first '{' line and the CLI part parses as JSON.
        var start = text.IndexOf("\n{", StringComparison.Ordinal) + 1;
        var end = text.IndexOf("\n}", start, StringComparison.Ordinal) + 2;
        using var json = JsonDocument.Parse(text[start..end]);
        Assert.True(json.RootElement.TryGetProperty("Resources", out _));
    }

    [Fact]
    public void The_setup_command_generates_an_external_id_when_none_is_given()
    {
        var output = new StringWriter();
        Assert.Equal(0, AwsSetupCommand.Run(["--account", "444455556666", "--trust", "chain", "--principal", "arn:aws:iam::111111111111:role/AccessWorkflows"], output));
        Assert.Matches(@"externalId: [0-9a-f]{32}   # generated", output.ToString());
    }

    [Theory]
    [InlineData(new[] { "aws-setup" }, "--account is required")]
    [InlineData(new[] { "aws-setup", "--account", "12345" }, "12 digits")]
    [InlineData(new[] { "aws-setup", "--account", "444455556666", "--principal", "*" }, "Chain trust needs")]
    [InlineData(new[] { "aws-setup", "--account", "444455556666", "--trust", "azure", "--tenant", "x", "--principal", "y" }, "GUIDs")]
    [InlineData(new[] { "aws-setup", "--account", "444455556666", "--trust", "saml" }, "chain or azure")]
    [InlineData(new[] { "aws-setup", "--account" }, "Unexpected argument")]
    public void The_setup_command_refuses_bad_input_with_a_reason(string[] args, string reason)
    {
        var output = new StringWriter();
        Assert.Equal(2, AwsSetupCommand.Run(args, output));
        Assert.Contains(reason, output.ToString(), StringComparison.Ordinal);
        Assert.Contains("usage:", output.ToString(), StringComparison.Ordinal);
    }
}
