using System.Text.Json;
using AccessWorkflows.Aws.Install;
using AccessWorkflows.Aws.Tests.Fakes;

namespace AccessWorkflows.Aws.Tests;

public sealed class InstallTests
{
    private static List<JsonElement> Statements(JsonElement policy) => policy.GetProperty("Statement").EnumerateArray().ToList();

    private static List<string> Strings(JsonElement statement, string name) =>
        statement.TryGetProperty(name, out var value) ? value.EnumerateArray().Select(v => v.GetString()!).ToList() : [];

    private const string Account = "444455556666";
    private static readonly string RulesPath = Path.Combine(AppContext.BaseDirectory, "aws-rules.yaml");
    private const string Generated = "arn:aws:iam::444455556666:policy/access-workflows/access-workflows-r1";
    private const string Deployer = "arn:aws:iam::444455556666:user/deployer";

    private static ProvisionerRoleTemplate Template(string userPath = "/", string? userTag = null, string principal = Deployer) => new(
        Account,
        new ProvisionerTrust("chain", PrincipalArn: principal, ExternalId: "ext-123"),
        ProvisionerScope.FromRules(Rules.RulesLoader.Parse(AwsHarness.RulesYaml), Account, "prod-eu", userPath, userTag));

    private static IamCall User(string action, string user, string? policyArn = null)
    {
        var call = new IamCall("iam:" + action, $"arn:aws:iam::{Account}:user/{user}");
        return policyArn is null ? call : call.With("iam:PolicyARN", policyArn);
    }

    private static IamCall CreateGenerated(params (string Key, string Value)[] tags)
    {
        var call = new IamCall("iam:CreatePolicy", Generated).With("aws:TagKeys", [.. tags.Select(t => t.Key)]);
        return tags.Aggregate(call, (c, t) => c.With("aws:RequestTag/" + t.Key, t.Value));
    }

    private static IamDecision Evaluate(ProvisionerRoleTemplate template, IamCall call) =>
        IamPolicyEvaluator.Evaluate(template.PermissionsPolicy().ToJsonString(), call, template.BoundaryPolicy().ToJsonString());

    public static TheoryData<string, IamCall> AllowedCalls() => new()
    {
        { "attach a policy a rule names", User("AttachUserPolicy", "alice@example.com", Policies.ReadOnlyArn) },
        { "attach a policy a rule's glob matches", User("AttachUserPolicy", "alice@example.com", Policies.S3ReadOnlyArn) },
        { "attach this account's generated policy", User("AttachUserPolicy", "alice@example.com", Generated) },
        { "detach a policy a rule names", User("DetachUserPolicy", "alice@example.com", Policies.ReadOnlyArn) },
        { "add to a group a rule names", new IamCall("iam:AddUserToGroup", $"arn:aws:iam::{Account}:group/Developers") },
        { "remove from a group a rule names", new IamCall("iam:RemoveUserFromGroup", $"arn:aws:iam::{Account}:group/Developers") },
        { "read a user", User("GetUser", "alice@example.com") },
        { "list a user's policies", User("ListAttachedUserPolicies", "alice@example.com") },
        { "list users", new IamCall("iam:ListUsers", "*") },
        { "read a base policy a rule names", new IamCall("iam:GetPolicy", Policies.S3ReadOnlyArn) },
        { "create a generated policy tagged for this deployment", CreateGenerated(("access-workflows:request-id", "r1"), ("access-workflows:deployment-id", "prod-eu")) },
        { "tag it at creation", CreateGenerated(("access-workflows:request-id", "r1"), ("access-workflows:deployment-id", "prod-eu")) with { Action = "iam:TagPolicy" } },
        { "delete a generated policy of this deployment", new IamCall("iam:DeletePolicy", Generated).With("aws:ResourceTag/access-workflows:deployment-id", "prod-eu") },
        { "move the expiry of a generated policy of this deployment", new IamCall("iam:CreatePolicyVersion", Generated).With("aws:ResourceTag/access-workflows:deployment-id", "prod-eu") },
    };

    public static TheoryData<string, IamCall> ForbiddenCalls() => new()
    {
        { "attach AdministratorAccess", User("AttachUserPolicy", "alice@example.com", Policies.AdminArn) },
        { "attach a customer policy no rule names", User("AttachUserPolicy", "alice@example.com", $"arn:aws:iam::{Account}:policy/Everything") },
        { "attach anything to the principal that assumes the role", User("AttachUserPolicy", "deployer", Policies.ReadOnlyArn) },
        { "attach to its own role", new IamCall("iam:AttachRolePolicy", $"arn:aws:iam::{Account}:role/AccessWorkflowsProvisioner").With("iam:PolicyARN", Policies.ReadOnlyArn) },
        { "remove its own permissions boundary", new IamCall("iam:DeleteRolePermissionsBoundary", $"arn:aws:iam::{Account}:role/AccessWorkflowsProvisioner") },
        { "add to a group no rule names", new IamCall("iam:AddUserToGroup", $"arn:aws:iam::{Account}:group/Admins") },
        { "attach to a user of another account", new IamCall("iam:AttachUserPolicy", "arn:aws:iam::999999999999:user/alice").With("iam:PolicyARN", Policies.ReadOnlyArn) },
        { "create a policy outside /access-workflows/", new IamCall("iam:CreatePolicy", $"arn:aws:iam::{Account}:policy/Escalate").With("aws:RequestTag/access-workflows:deployment-id", "prod-eu").With("aws:TagKeys", "access-workflows:deployment-id") },
        { "create a generated policy without the deployment tag", CreateGenerated(("access-workflows:request-id", "r1")) },
        { "create a generated policy for another deployment", CreateGenerated(("access-workflows:request-id", "r1"), ("access-workflows:deployment-id", "staging")) },
        { "create a generated policy with an extra tag", CreateGenerated(("access-workflows:request-id", "r1"), ("access-workflows:deployment-id", "prod-eu"), ("owner", "me")) },
        { "delete another deployment's generated policy", new IamCall("iam:DeletePolicy", Generated).With("aws:ResourceTag/access-workflows:deployment-id", "staging") },
        { "change a policy outside /access-workflows/", new IamCall("iam:CreatePolicyVersion", $"arn:aws:iam::{Account}:policy/AccessWorkflowsProvisionerBoundary") },
        { "write an inline user policy", User("PutUserPolicy", "alice@example.com") },
        { "mint credentials", User("CreateAccessKey", "alice@example.com") },
        { "assume another role", new IamCall("sts:AssumeRole", $"arn:aws:iam::{Account}:role/Admin") },
    };

    [Theory]
    [MemberData(nameof(AllowedCalls))]
    public void The_generated_provisioner_policy_allows_what_the_rules_grant(string what, IamCall call) =>
        Assert.True(Evaluate(Template(), call) == IamDecision.Allow, what);

    [Theory]
    [MemberData(nameof(ForbiddenCalls))]
    public void The_generated_provisioner_policy_refuses_everything_else(string what, IamCall call) =>
        Assert.True(Evaluate(Template(), call) != IamDecision.Allow, what);

    [Fact]
    public void Users_are_scoped_by_path_and_tag_when_configured()
    {
        var template = Template(userPath: "/people/", userTag: "jit=allowed");
        var inScope = new IamCall("iam:AttachUserPolicy", $"arn:aws:iam::{Account}:user/people/alice").With("iam:PolicyARN", Policies.ReadOnlyArn);

        Assert.Equal(IamDecision.Allow, Evaluate(template, inScope.With("aws:ResourceTag/jit", "allowed")));
        Assert.NotEqual(IamDecision.Allow, Evaluate(template, inScope));                                            // no tag
        Assert.NotEqual(IamDecision.Allow, Evaluate(template, inScope.With("aws:ResourceTag/jit", "denied")));     // other value
        var breakGlass = new IamCall("iam:DetachUserPolicy", $"arn:aws:iam::{Account}:user/break-glass").With("iam:PolicyARN", Policies.ReadOnlyArn).With("aws:ResourceTag/jit", "allowed");
        Assert.NotEqual(IamDecision.Allow, Evaluate(template, breakGlass));                                        // outside the path
    }

    [Fact]
    public void A_rule_without_groups_or_resources_leaves_out_membership_and_policy_creation()
    {
        var rules = Rules.RulesLoader.Parse(AwsHarness.RulesYaml.Replace("      groups: [Developers]\n", string.Empty, StringComparison.Ordinal).Replace("      resources: [\"arn:aws:s3:::team-*\"]\n", string.Empty, StringComparison.Ordinal));
        var template = new ProvisionerRoleTemplate(Account, new ProvisionerTrust("chain", PrincipalArn: Deployer, ExternalId: "ext-123"), ProvisionerScope.FromRules(rules, Account));

        Assert.NotEqual(IamDecision.Allow, Evaluate(template, new IamCall("iam:AddUserToGroup", $"arn:aws:iam::{Account}:group/Developers")));
        Assert.NotEqual(IamDecision.Allow, Evaluate(template, CreateGenerated(("access-workflows:request-id", "r1"), ("access-workflows:deployment-id", "access-workflows"))));
        Assert.NotEqual(IamDecision.Allow, Evaluate(template, User("AttachUserPolicy", "alice@example.com", Generated)));
        Assert.Equal(IamDecision.Allow, Evaluate(template, User("AttachUserPolicy", "alice@example.com", Policies.ReadOnlyArn)));
    }

    [Fact]
    public void The_chain_template_parses_trusts_only_the_principal_and_puts_a_permissions_boundary_on_the_role()
    {
        var template = Template(principal: "arn:aws:iam::111111111111:role/AccessWorkflows");

        using var json = JsonDocument.Parse(template.CloudFormation());
        var resources = json.RootElement.GetProperty("Resources");
        var role = resources.GetProperty("ProvisionerRole");
        Assert.Equal("AWS::IAM::Role", role.GetProperty("Type").GetString());
        var properties = role.GetProperty("Properties");
        Assert.Equal("ProvisionerBoundary", properties.GetProperty("PermissionsBoundary").GetProperty("Ref").GetString());
        Assert.Equal("AccessWorkflowsProvisionerBoundary", resources.GetProperty("ProvisionerBoundary").GetProperty("Properties").GetProperty("ManagedPolicyName").GetString());

        var trust = Assert.Single(Statements(properties.GetProperty("AssumeRolePolicyDocument")));
        Assert.Equal("arn:aws:iam::111111111111:role/AccessWorkflows", trust.GetProperty("Principal").GetProperty("AWS").GetString());
        Assert.Equal("ext-123", trust.GetProperty("Condition").GetProperty("StringEquals").GetProperty("sts:ExternalId").GetString());

        // Every allowed resource is in this account, except the base policies the rules name and the list calls.
        var allows = Statements(properties.GetProperty("Policies")[0].GetProperty("PolicyDocument")).Where(s => s.GetProperty("Effect").GetString() == "Allow").ToList();
        foreach (var resource in allows.SelectMany(s => Strings(s, "Resource")))
        {
            Assert.True(resource.StartsWith("arn:aws:iam::444455556666:", StringComparison.Ordinal) || resource.StartsWith("arn:aws:iam::aws:policy/", StringComparison.Ordinal) || resource == "*", resource);
        }

        // Only listings and CloudTrail's LookupEvents (read-only, and without resource-level permissions in AWS) on "*".
        Assert.All(allows.Where(s => Strings(s, "Resource").Contains("*")), s => Assert.All(Strings(s, "Action"), a => Assert.True(a.StartsWith("iam:List", StringComparison.Ordinal) || a == "cloudtrail:LookupEvents", a)));
    }

    [Fact]
    public void The_azure_template_federates_only_the_managed_identity()
    {
        var tenant = Guid.NewGuid().ToString();
        var principal = Guid.NewGuid().ToString();
        var template = new ProvisionerRoleTemplate("444455556666", new ProvisionerTrust("azure", TenantId: tenant, ManagedIdentityObjectId: principal), ProvisionerScope.FromRules(Rules.RulesLoader.Parse(AwsHarness.RulesYaml), Account));

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

        var code = AwsSetupCommand.Run(["aws-setup", "--account", "444455556666", "--principal", "arn:aws:iam::111111111111:role/AccessWorkflows", "--external-id", "ext-1", "--rules", RulesPath, "--deployment-id", "prod-eu"], output);

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

        // The permissions come from aws-rules.yaml: exactly its two policies (and generated ones) may be attached.
        var role = json.RootElement.GetProperty("Resources").GetProperty("ProvisionerRole").GetProperty("Properties");
        var attach = Statements(role.GetProperty("Policies")[0].GetProperty("PolicyDocument")).Single(s => s.GetProperty("Sid").GetString() == "AttachOnlyWhatTheRulesGrant");
        Assert.Equal(
            [Policies.ReadOnlyArn, Policies.S3ReadOnlyArn, "arn:aws:iam::444455556666:policy/access-workflows/*"],
            attach.GetProperty("Condition").GetProperty("ArnLike").GetProperty("iam:PolicyARN").EnumerateArray().Select(v => v.GetString()));
        Assert.Contains("AccessWorkflows__Aws__DeploymentId=prod-eu", text, StringComparison.Ordinal);
        Assert.Contains("--permissions-boundary arn:aws:iam::444455556666:policy/AccessWorkflowsProvisionerBoundary", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("111122223333", "not a real AWS account")]
    [InlineData("999999999999", "not a real AWS account")]
    public void The_setup_command_refuses_an_account_the_rules_do_not_name_as_real(string account, string reason)
    {
        var output = new StringWriter();
        Assert.Equal(2, AwsSetupCommand.Run(["aws-setup", "--account", account, "--principal", "arn:aws:iam::111111111111:role/AccessWorkflows", "--rules", RulesPath], output));
        Assert.Contains(reason, output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_identity_center_setup_prints_the_management_account_role_limited_to_the_rules_permission_sets()
    {
        var output = new StringWriter();

        var code = AwsSetupCommand.Run(["aws-setup", "--identity-center", "--principal", "arn:aws:iam::111111111111:role/AccessWorkflows", "--external-id", "ext-1", "--rules", RulesPath], output);

        Assert.Equal(0, code);
        var text = output.ToString();
        Assert.Contains("aws iam create-role --role-name AccessWorkflowsIdentityCenter", text, StringComparison.Ordinal);
        Assert.Contains("\"sso:CreateAccountAssignment\"", text, StringComparison.Ordinal);
        Assert.Contains("arn:aws:sso:::account/444455556666", text, StringComparison.Ordinal);
        Assert.Contains("arn:aws:sso:::permissionSet/ssoins-72230000aaaabbbb/*", text, StringComparison.Ordinal);
        // It may write the inline policy of the rules' permission sets (to end sessions), and edit them in no other way.
        Assert.Contains("\"sso:PutInlinePolicyToPermissionSet\"", text, StringComparison.Ordinal);
        foreach (var edit in new[] { "sso:UpdatePermissionSet", "sso:AttachManagedPolicyToPermissionSet", "sso:AttachCustomerManagedPolicyReferenceToPermissionSet", "sso:PutPermissionsBoundaryToPermissionSet", "sso:CreatePermissionSet", "sso:*" })
        {
            Assert.DoesNotContain($"\"{edit}\"", text, StringComparison.Ordinal);
        }
        Assert.Contains("roleArn: arn:aws:iam::111111111111:role/AccessWorkflowsIdentityCenter, externalId: ext-1", text, StringComparison.Ordinal);

        var noCenter = new StringWriter();
        var rules = Path.Combine(Path.GetTempPath(), $"no-center-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(rules, "accounts:\n  - id: \"111122223333\"\n    name: sandbox\n    provider: sandbox\n");
        try
        {
            Assert.Equal(2, AwsSetupCommand.Run(["aws-setup", "--identity-center", "--principal", "arn:aws:iam::111111111111:role/AccessWorkflows", "--rules", rules], noCenter));
            Assert.Contains("names no identityCenter", noCenter.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(rules);
        }
    }

    [Fact]
    public void The_setup_command_names_a_broken_rules_file()
    {
        var output = new StringWriter();
        Assert.Equal(2, AwsSetupCommand.Run(["aws-setup", "--account", "444455556666", "--principal", "arn:aws:iam::111111111111:role/AccessWorkflows", "--rules", Path.Combine(AppContext.BaseDirectory, "missing.yaml")], output));
        Assert.Contains("missing.yaml", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_setup_command_generates_an_external_id_when_none_is_given()
    {
        var output = new StringWriter();
        Assert.Equal(0, AwsSetupCommand.Run(["--account", "444455556666", "--trust", "chain", "--principal", "arn:aws:iam::111111111111:role/AccessWorkflows", "--rules", RulesPath], output));
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
        Assert.Equal(2, AwsSetupCommand.Run([.. args, "--rules", RulesPath], output));
        Assert.Contains(reason, output.ToString(), StringComparison.Ordinal);
        Assert.Contains("usage:", output.ToString(), StringComparison.Ordinal);
    }
}
