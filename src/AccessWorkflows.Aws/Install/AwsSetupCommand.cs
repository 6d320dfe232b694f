using AccessWorkflows.Requests;
using System.Security.Cryptography;

namespace AccessWorkflows.Aws.Install;

/// <summary>
/// <c>aws-setup --account 444455556666 [--rules access-rules.yaml] [--trust chain --principal ARN [--external-id ID]]
/// [--trust azure --tenant GUID --principal OBJECT-ID [--audience AUD]] [--role-name NAME] [--deployment-id ID]
/// [--user-path /people/] [--user-tag key=value] [--region REGION]</c>: prints the CloudFormation template and the AWS
/// CLI commands that create the provisioner role — its permissions generated from what the rules file grants in that
/// account — and the rules-file lines that use it. The server's Program dispatches its <c>aws-setup</c> verb here.
/// </summary>
public static class AwsSetupCommand
{
    public const string Verb = "aws-setup";

    /// <returns>0 when printed, 2 on a usage error (the reason is printed).</returns>
    public static int Run(string[] args, TextWriter output)
    {
        var options = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var rest = args.SkipWhile(a => string.Equals(a, Verb, StringComparison.OrdinalIgnoreCase)).ToArray();
        var identityCenter = rest.Contains(IdentityCenterFlag, StringComparer.OrdinalIgnoreCase);
        rest = [.. rest.Where(a => !string.Equals(a, IdentityCenterFlag, StringComparison.OrdinalIgnoreCase))];
        for (var i = 0; i < rest.Length; i++)
        {
            if (!rest[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= rest.Length)
            {
                return Usage(output, $"Unexpected argument '{rest[i]}'.");
            }

            options[rest[i][2..]] = rest[++i];
        }

        if (identityCenter)
        {
            return RunIdentityCenter(options, output);
        }

        if (!options.TryGetValue("account", out var account))
        {
            return Usage(output, "--account is required.");
        }

        if (!Grammar.IsAccountId(account))
        {
            return Usage(output, "The account id must be 12 digits.");
        }

        var mode = options.GetValueOrDefault("trust", TrustModes.Chain).ToLowerInvariant();
        var generatedExternalId = false;
        ProvisionerTrust trust;
        if (mode == TrustModes.Azure)
        {
            trust = new ProvisionerTrust(
                TrustModes.Azure,
                TenantId: options.GetValueOrDefault("tenant"),
                ManagedIdentityObjectId: options.GetValueOrDefault("principal"),
                Audience: options.GetValueOrDefault("audience", "api://AzureADTokenExchange"));
        }
        else
        {
            var externalId = options.GetValueOrDefault("external-id");
            if (externalId is null)
            {
                externalId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
                generatedExternalId = true;
            }

            trust = new ProvisionerTrust(mode, PrincipalArn: options.GetValueOrDefault("principal"), ExternalId: externalId);
        }

        var rulesPath = options.GetValueOrDefault("rules", "access-rules.yaml");
        Rules.AccessRules rules;
        try
        {
            rules = Rules.RulesLoader.Load(rulesPath);
        }
        catch (Rules.RulesFileException ex)
        {
            return Usage(output, ex.Message);
        }

        if (rules.FindAccount(account) is not { IsSandbox: false })
        {
            return Usage(output, $"Account {account} is not a real AWS account of {rulesPath}; add it there first (the role's permissions come from the rules).");
        }

        var scope = ProvisionerScope.FromRules(
            rules,
            account,
            options.GetValueOrDefault("deployment-id", AwsOptions.DefaultDeploymentId),
            options.GetValueOrDefault("user-path", "/"),
            options.GetValueOrDefault("user-tag"),
            AwsPartition.ForRegion(options.GetValueOrDefault("region", "us-east-1")).Name);
        ProvisionerRoleTemplate template;
        try
        {
            template = new ProvisionerRoleTemplate(account, trust, scope, options.GetValueOrDefault("role-name", ProvisionerRoleTemplate.DefaultRoleName));
        }
        catch (ArgumentException ex)
        {
            return Usage(output, ex.Message[..(ex.Message.IndexOf(" (Parameter", StringComparison.Ordinal) is var cut and >= 0 ? cut : ex.Message.Length)]);
        }

        output.WriteLine($"# AccessWorkflows provisioner role for AWS account {template.AccountId} (trust: {mode})");
        output.WriteLine("#");
        output.WriteLine("# Either deploy this CloudFormation template (save it as access-workflows-provisioner.json):");
        output.WriteLine($"#   aws cloudformation deploy --stack-name access-workflows-provisioner --template-file access-workflows-provisioner.json --capabilities CAPABILITY_NAMED_IAM");
        output.WriteLine();
        output.WriteLine(template.CloudFormation());
        output.WriteLine();
        output.WriteLine("# Or run these AWS CLI commands in that account:");
        output.WriteLine();
        output.Write(template.CliCommands());
        output.WriteLine();
        output.WriteLine("# Then add the account to the rules file:");
        output.WriteLine("accounts:");
        output.WriteLine($"  - id: \"{template.AccountId}\"");
        output.WriteLine("    name: <name>");
        output.WriteLine($"    roleArn: {template.RoleArn}");
        if (mode != TrustModes.Azure)
        {
            output.WriteLine($"    externalId: {trust.ExternalId}{(generatedExternalId ? "   # generated now; keep it with the role" : string.Empty)}");
        }

        output.WriteLine("    userMapping: { kind: user-name-is-email }   # or { kind: email-tag, tagKey: Email }");
        output.WriteLine(mode == TrustModes.Azure
            ? "# and set AccessWorkflows__Aws__Trust=azure on the deployment."
            : "# and leave AccessWorkflows__Aws__Trust unset (chain) on the deployment.");
        output.WriteLine($"# The deployment must run with AccessWorkflows__Aws__DeploymentId={scope.DeploymentId}, AccessWorkflows__Aws__UserPath={scope.UserPath}"
            + (scope.UserTag is { Length: > 0 } ? $" and AccessWorkflows__Aws__UserTag={scope.UserTag}." : "."));
        output.WriteLine("# The role's permissions follow the rules file: re-run aws-setup and update the stack whenever the rules for this account change.");
        return 0;
    }

    /// <summary><c>--identity-center</c>: the role for permission-set grants in the management or delegated-administrator
    /// account of the rules file's <c>identityCenter</c>.</summary>
    public const string IdentityCenterFlag = "--identity-center";

    private static int RunIdentityCenter(Dictionary<string, string> options, TextWriter output)
    {
        var rulesPath = options.GetValueOrDefault("rules", "access-rules.yaml");
        Rules.AccessRules rules;
        try
        {
            rules = Rules.RulesLoader.Load(rulesPath);
        }
        catch (Rules.RulesFileException ex)
        {
            return Usage(output, ex.Message);
        }

        var mode = options.GetValueOrDefault("trust", TrustModes.Chain).ToLowerInvariant();
        var trust = mode == TrustModes.Azure
            ? new ProvisionerTrust(TrustModes.Azure, TenantId: options.GetValueOrDefault("tenant"), ManagedIdentityObjectId: options.GetValueOrDefault("principal"), Audience: options.GetValueOrDefault("audience", "api://AzureADTokenExchange"))
            : new ProvisionerTrust(mode, PrincipalArn: options.GetValueOrDefault("principal"), ExternalId: options.GetValueOrDefault("external-id") ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
        IdentityCenterRoleTemplate template;
        try
        {
            template = new IdentityCenterRoleTemplate(rules, trust, options.GetValueOrDefault("role-name", IdentityCenterRoleTemplate.DefaultRoleName));
        }
        catch (ArgumentException ex)
        {
            return Usage(output, ex.Message[..(ex.Message.IndexOf(" (Parameter", StringComparison.Ordinal) is var cut and >= 0 ? cut : ex.Message.Length)]);
        }

        output.WriteLine($"# AccessWorkflows Identity Center role in account {template.AccountId} (the management or delegated-administrator account; trust: {mode})");
        output.WriteLine("# It may assign only the rules' permission sets, only in the accounts they name: " + string.Join(", ", template.Accounts));
        output.WriteLine();
        output.WriteLine(template.CloudFormation());
        output.WriteLine();
        output.WriteLine("# Or run these AWS CLI commands in that account:");
        output.WriteLine();
        output.Write(template.CliCommands());
        output.WriteLine();
        output.WriteLine("# Then point the rules file's identityCenter at it:");
        output.WriteLine($"#   identityCenter: {{ roleArn: {template.RoleArn}" + (mode != TrustModes.Azure ? $", externalId: {trust.ExternalId} }}" : " }"));
        output.WriteLine("# Re-run aws-setup --identity-center whenever the rules' permission sets or their accounts change.");
        return 0;
    }

    private static int Usage(TextWriter output, string problem)
    {
        output.WriteLine($"aws-setup: {problem}");
        output.WriteLine("usage: aws-setup --account 123456789012 --trust chain --principal arn:aws:iam::111111111111:role/AccessWorkflows [--external-id ID] [--role-name NAME]");
        output.WriteLine("       aws-setup --account 123456789012 --trust azure --tenant <tenant-guid> --principal <managed-identity-object-id> [--audience api://AzureADTokenExchange] [--role-name NAME]");
        output.WriteLine("       aws-setup --identity-center --trust chain --principal arn:aws:iam::111111111111:role/AccessWorkflows [--external-id ID] [--role-name NAME] [--rules access-rules.yaml]");
        output.WriteLine("       common: [--rules access-rules.yaml] [--deployment-id access-workflows] [--user-path /] [--user-tag key=value] [--region us-east-1]");
        return 2;
    }
}
