using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AccessWorkflows.Requests;

namespace AccessWorkflows.Aws.Install;

/// <summary>How the provisioner role trusts this deployment (SPEC 9).</summary>
/// <param name="Mode"><see cref="TrustModes.Chain"/>: an AWS principal ARN assumes it with an external id;
/// <see cref="TrustModes.Azure"/>: the Entra managed identity (tenant + object id) through web identity federation.</param>
public sealed record ProvisionerTrust(string Mode, string? PrincipalArn = null, string? ExternalId = null, string? TenantId = null, string? ManagedIdentityObjectId = null, string Audience = "api://AzureADTokenExchange");

/// <summary>What the rules let the provisioner do in one account, and where: the policy ARN and group name patterns
/// of every rule naming the account, whether any rule grants resource access (generated policies), the deployment id
/// generated policies carry, and the users it may touch (an IAM path and, optionally, a <c>key=value</c> tag).</summary>
public sealed record ProvisionerScope(
    IReadOnlyList<string> Policies,
    IReadOnlyList<string> Groups,
    bool GeneratesPolicies,
    string DeploymentId = AwsOptions.DefaultDeploymentId,
    string UserPath = "/",
    string? UserTag = null,
    string Partition = "aws")
{
    /// <summary>The scope the rules give an account: the union of the access of every rule that names it.</summary>
    public static ProvisionerScope FromRules(Rules.AccessRules rules, string accountId, string deploymentId = AwsOptions.DefaultDeploymentId, string userPath = "/", string? userTag = null, string partition = "aws")
    {
        var applicable = rules.Rules.Where(r => r.Accounts.Contains(accountId)).ToList();
        return new ProvisionerScope(
            [.. applicable.SelectMany(r => r.Policies).Distinct(StringComparer.Ordinal)],
            [.. applicable.SelectMany(r => r.Groups).Distinct(StringComparer.Ordinal)],
            applicable.Any(r => r.Resources.Count > 0 && r.Policies.Count > 0),
            deploymentId,
            userPath,
            userTag,
            partition);
    }
}

/// <summary>
/// Renders the provisioner role of one account, generated from the rules file: a CloudFormation template and the
/// equivalent AWS CLI commands. The role is trusted by this deployment only and may make exactly the IAM calls the
/// provisioner makes, on exactly what the rules allow in that account:
/// <list type="bullet">
/// <item>attach and detach only the policy ARNs the rules name (and this deployment's generated policies), through an
/// <c>iam:PolicyARN</c> condition, and only to users under the configured path (and with the configured tag);</item>
/// <item>add to and remove from only the groups the rules name;</item>
/// <item>create policies only under <c>/access-workflows/</c>, tagged with a request id and this deployment's id, and
/// change or delete only policies tagged with this deployment's id;</item>
/// <item>nothing at all on its own role and on the principal that assumes it, no role changes, no inline policies,
/// boundaries or credentials, no role hopping, nothing outside the account;</item>
/// <item>and a permissions boundary on the role (the same allow statements), so a policy attached to it later by
/// someone else cannot widen it.</item>
/// </list>
/// </summary>
public sealed partial class ProvisionerRoleTemplate
{
    public const string DefaultRoleName = "AccessWorkflowsProvisioner";

    public ProvisionerRoleTemplate(string accountId, ProvisionerTrust trust, ProvisionerScope scope, string roleName = DefaultRoleName)
        : this(accountId, trust, scope, roleName, trustOnly: false)
    {
    }

    /// <param name="trustOnly">Only the trust statement is wanted (another role of this deployment, such as the
    /// Identity Center one, trusts it the same way): an empty scope is no error.</param>
    internal ProvisionerRoleTemplate(string accountId, ProvisionerTrust trust, ProvisionerScope scope, string roleName, bool trustOnly)
    {
        if (!Grammar.IsAccountId(accountId))
        {
            throw new ArgumentException("The account id must be 12 digits.", nameof(accountId));
        }

        if (!RoleNameRegex().IsMatch(roleName))
        {
            throw new ArgumentException("The role name must be 1-64 of letters, digits and +=,.@_-.", nameof(roleName));
        }

        if (string.Equals(trust.Mode, TrustModes.Azure, StringComparison.OrdinalIgnoreCase))
        {
            if (!Guid.TryParse(trust.TenantId, out _) || !Guid.TryParse(trust.ManagedIdentityObjectId, out _))
            {
                throw new ArgumentException("Azure trust needs the tenant id and the managed identity's object (principal) id, both GUIDs.", nameof(trust));
            }

            if (!AudienceRegex().IsMatch(trust.Audience))
            {
                throw new ArgumentException("The audience has characters a trust policy cannot hold.", nameof(trust));
            }
        }
        else if (string.Equals(trust.Mode, TrustModes.Chain, StringComparison.OrdinalIgnoreCase))
        {
            if (trust.PrincipalArn is null || !PrincipalArnRegex().IsMatch(trust.PrincipalArn))
            {
                throw new ArgumentException("Chain trust needs the ARN of the IAM role or user this deployment runs as (arn:aws:iam::123456789012:role/Name).", nameof(trust));
            }

            if (trust.ExternalId is null || !ExternalIdRegex().IsMatch(trust.ExternalId))
            {
                throw new ArgumentException("The external id must be 2-1224 of letters, digits and +=,.@:/-.", nameof(trust));
            }
        }
        else
        {
            throw new ArgumentException("Trust must be chain or azure.", nameof(trust));
        }

        if (!AwsPartition.IsUserPath(scope.UserPath))
        {
            throw new ArgumentException("The user path must start and end with '/' (for example /people/).", nameof(scope));
        }

        if (scope.UserTag is { Length: > 0 } && AwsPartition.ParseTag(scope.UserTag) is null)
        {
            throw new ArgumentException("The user tag must be key=value.", nameof(scope));
        }

        if (!DeploymentIdRegex().IsMatch(scope.DeploymentId))
        {
            throw new ArgumentException("The deployment id must be 1-128 of letters, digits and _.:/=+@-.", nameof(scope));
        }

        if (!trustOnly && scope.Policies.Count == 0 && scope.Groups.Count == 0)
        {
            throw new ArgumentException($"No rule of the rules file grants anything in account {accountId}; there is nothing for a provisioner role to do.", nameof(scope));
        }

        AccountId = accountId;
        Trust = trust;
        Scope = scope;
        RoleName = roleName;
    }

    public string AccountId { get; }

    public ProvisionerTrust Trust { get; }

    public ProvisionerScope Scope { get; }

    public string RoleName { get; }

    public string BoundaryName => RoleName + "Boundary";

    private string Arn(string resource) => $"arn:{Scope.Partition}:iam::{AccountId}:{resource}";

    public string RoleArn => Arn($"role/{RoleName}");

    public string BoundaryArn => Arn($"policy/{BoundaryName}");

    private bool IsAzure => string.Equals(Trust.Mode, TrustModes.Azure, StringComparison.OrdinalIgnoreCase);

    private string OidcIssuerHost => $"sts.windows.net/{Trust.TenantId}/";

    private string OidcProviderArn => Arn($"oidc-provider/{OidcIssuerHost}");

    public JsonObject TrustPolicy()
    {
        JsonObject statement = IsAzure
            ? new JsonObject
            {
                ["Sid"] = "OnlyThisDeploymentsManagedIdentity",
                ["Effect"] = "Allow",
                ["Principal"] = new JsonObject { ["Federated"] = OidcProviderArn },
                ["Action"] = "sts:AssumeRoleWithWebIdentity",
                ["Condition"] = new JsonObject
                {
                    ["StringEquals"] = new JsonObject
                    {
                        [$"{OidcIssuerHost}:aud"] = Trust.Audience,
                        [$"{OidcIssuerHost}:sub"] = Trust.ManagedIdentityObjectId,
                    },
                },
            }
            : new JsonObject
            {
                ["Sid"] = "OnlyThisDeployment",
                ["Effect"] = "Allow",
                ["Principal"] = new JsonObject { ["AWS"] = Trust.PrincipalArn },
                ["Action"] = "sts:AssumeRole",
                ["Condition"] = new JsonObject { ["StringEquals"] = new JsonObject { ["sts:ExternalId"] = Trust.ExternalId } },
            };
        return new JsonObject { ["Version"] = "2012-10-17", ["Statement"] = new JsonArray(statement) };
    }

    /// <summary>The users the role may grant to: the configured path, and the configured tag as a condition.</summary>
    private string Users => Arn($"user{Scope.UserPath}*");

    private string Generated => Arn($"policy{AwsProvisioner.GeneratedPolicyPath}*");

    /// <summary>What <c>iam:PolicyARN</c> may be on attach and detach: the rules' policy patterns (IAM's ArnLike
    /// takes the same <c>*</c> and <c>?</c> wildcards) and, when a rule grants resource access, this account's
    /// generated policies.</summary>
    private string[] AttachablePolicies => [.. Scope.Policies, .. Scope.GeneratesPolicies ? [Generated] : System.Array.Empty<string>()];

    /// <summary>The rules' group name patterns as group ARNs, with or without an IAM path.</summary>
    private string[] GroupArns => [.. Scope.Groups.SelectMany(g => new[] { Arn($"group/{g}"), Arn($"group/*/{g}") })];

    private JsonObject? UserTagCondition => Scope.UserTag is { Length: > 0 } tag && AwsPartition.ParseTag(tag) is { } t
        ? new JsonObject { ["StringEquals"] = new JsonObject { [$"aws:ResourceTag/{t.Key}"] = t.Value } }
        : null;

    /// <summary>The allow statements: the provisioner's calls, each on what the rules allow. They are also the
    /// role's permissions boundary.</summary>
    public JsonArray AllowStatements()
    {
        var statements = new JsonArray
        {
            Statement("ReadUsersInScope", "Allow", ["iam:GetUser", "iam:ListUserTags", "iam:ListAttachedUserPolicies", "iam:ListGroupsForUser"], [Users]),
            Statement("ListForLookupAndAutocomplete", "Allow", ["iam:ListUsers", "iam:ListPolicies", "iam:ListGroups"], ["*"]),

            // What a grant was used for (SPEC 13): LookupEvents has no resource-level permissions, and reads only.
            Statement("ReadWhatGrantsWereUsedFor", "Allow", ["cloudtrail:LookupEvents"], ["*"]),
            Statement(
                "AttachOnlyWhatTheRulesGrant",
                "Allow",
                ["iam:AttachUserPolicy", "iam:DetachUserPolicy"],
                [Users],
                condition: Merge(new JsonObject { ["ArnLike"] = new JsonObject { ["iam:PolicyARN"] = Array(AttachablePolicies) } }, UserTagCondition)),
        };
        if (Scope.Groups.Count > 0)
        {
            statements.Add(Statement("MembershipOfTheRulesGroupsOnly", "Allow", ["iam:AddUserToGroup", "iam:RemoveUserFromGroup"], GroupArns));
        }

        if (Scope.GeneratesPolicies)
        {
            statements.Add(Statement("ReadBasePoliciesTheRulesName", "Allow", ["iam:GetPolicy", "iam:GetPolicyVersion"], [.. Scope.Policies]));
            statements.Add(Statement("ReadGeneratedPolicies", "Allow", ["iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions", "iam:ListEntitiesForPolicy"], [Generated]));
            statements.Add(Statement(
                "CreateGeneratedPoliciesTaggedForThisDeployment",
                "Allow",
                ["iam:CreatePolicy", "iam:TagPolicy"],
                [Generated],
                condition: new JsonObject
                {
                    ["StringEquals"] = new JsonObject { [$"aws:RequestTag/{AwsProvisioner.DeploymentIdTag}"] = Scope.DeploymentId },
                    ["Null"] = new JsonObject { [$"aws:RequestTag/{AwsProvisioner.RequestIdTag}"] = "false" },
                    ["ForAllValues:StringEquals"] = new JsonObject { ["aws:TagKeys"] = Array([AwsProvisioner.RequestIdTag, AwsProvisioner.DeploymentIdTag]) },
                }));
            statements.Add(Statement(
                "ChangeOnlyThisDeploymentsGeneratedPolicies",
                "Allow",
                ["iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:DeletePolicy"],
                [Generated],
                condition: new JsonObject { ["StringEquals"] = new JsonObject { [$"aws:ResourceTag/{AwsProvisioner.DeploymentIdTag}"] = Scope.DeploymentId } }));
        }

        return statements;
    }

    public JsonObject PermissionsPolicy()
    {
        var statements = AllowStatements();
        statements.Add(Statement("DenyAttachingWhatNoRuleGrants", "Deny", ["iam:AttachUserPolicy"], ["*"], condition: new JsonObject { ["ArnNotLike"] = new JsonObject { ["iam:PolicyARN"] = Array(AttachablePolicies) } }));
        statements.Add(Scope.Groups.Count > 0
            ? Statement("DenyMembershipOfOtherGroups", "Deny", ["iam:AddUserToGroup"], null, notResource: GroupArns)
            : Statement("DenyAnyGroupMembership", "Deny", ["iam:AddUserToGroup"], ["*"]));
        statements.Add(Statement("DenyAnythingOnItsOwnRoleAndPrincipal", "Deny", ["iam:*"], [.. new[] { RoleArn, Trust.PrincipalArn }.OfType<string>().Distinct(StringComparer.Ordinal)]));
        statements.Add(Statement("DenyRoleChangesIncludingItsOwn", "Deny", ["iam:*Role*", "iam:UpdateAssumeRolePolicy", "iam:PassRole"], ["*"]));
        statements.Add(Statement(
            "DenyPolicyChangesOutsideAccessWorkflowsPath",
            "Deny",
            ["iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:TagPolicy", "iam:UntagPolicy"],
            null,
            notResource: [Generated]));
        statements.Add(Statement(
            "DenyInlineBoundaryAndCredentialChanges",
            "Deny",
            ["iam:PutUserPolicy", "iam:DeleteUserPolicy", "iam:PutUserPermissionsBoundary", "iam:DeleteUserPermissionsBoundary", "iam:PutGroupPolicy", "iam:AttachGroupPolicy", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile", "iam:CreateUser", "iam:DeleteUser", "iam:TagUser", "iam:UntagUser"],
            ["*"]));
        statements.Add(Statement("DenyHoppingToOtherRoles", "Deny", ["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML"], ["*"]));
        statements.Add(Statement(
            "DenyChangesOutsideThisAccount",
            "Deny",
            ["iam:Add*", "iam:Attach*", "iam:Create*", "iam:Delete*", "iam:Detach*", "iam:Put*", "iam:Remove*", "iam:Set*", "iam:Tag*", "iam:Untag*", "iam:Update*"],
            null,
            notResource: [Arn("*")]));
        return new JsonObject { ["Version"] = "2012-10-17", ["Statement"] = statements };
    }

    /// <summary>The role's permissions boundary: the allow statements alone, a ceiling nothing attached later can raise.</summary>
    public JsonObject BoundaryPolicy() => new() { ["Version"] = "2012-10-17", ["Statement"] = AllowStatements() };

    /// <summary>The CloudFormation template (JSON).</summary>
    public string CloudFormation()
    {
        var resources = new JsonObject();
        if (IsAzure)
        {
            resources["EntraOidcProvider"] = new JsonObject
            {
                ["Type"] = "AWS::IAM::OIDCProvider",
                ["Properties"] = new JsonObject
                {
                    ["Url"] = $"https://{OidcIssuerHost}",
                    ["ClientIdList"] = new JsonArray(Trust.Audience),
                },
            };
        }

        resources["ProvisionerBoundary"] = new JsonObject
        {
            ["Type"] = "AWS::IAM::ManagedPolicy",
            ["Properties"] = new JsonObject
            {
                ["ManagedPolicyName"] = BoundaryName,
                ["Description"] = "Permissions boundary of the AccessWorkflows provisioner role: the most it may ever do.",
                ["PolicyDocument"] = BoundaryPolicy(),
            },
        };
        var role = new JsonObject
        {
            ["Type"] = "AWS::IAM::Role",
            ["Properties"] = new JsonObject
            {
                [nameof(RoleName)] = RoleName,
                ["PermissionsBoundary"] = new JsonObject { ["Ref"] = "ProvisionerBoundary" },
                ["Description"] = $"AccessWorkflows just-in-time provisioner (deployment {Scope.DeploymentId}): attaches and detaches the policies and groups the rules grant, and its own /access-workflows/ policies.",
                ["MaxSessionDuration"] = 3600,
                ["AssumeRolePolicyDocument"] = TrustPolicy(),
                ["Policies"] = new JsonArray(new JsonObject { ["PolicyName"] = RoleName, ["PolicyDocument"] = PermissionsPolicy() }),
                ["Tags"] = new JsonArray(new JsonObject { ["Key"] = "managed-by", ["Value"] = "access-workflows" }),
            },
        };
        if (IsAzure)
        {
            role["DependsOn"] = "EntraOidcProvider";
        }

        resources["ProvisionerRole"] = role;
        var template = new JsonObject
        {
            ["AWSTemplateFormatVersion"] = "2010-09-09",
            ["Description"] = $"AccessWorkflows provisioner role for account {AccountId}",
            ["Resources"] = resources,
            ["Outputs"] = new JsonObject
            {
                [nameof(RoleArn)] = new JsonObject { ["Value"] = new JsonObject { ["Fn::GetAtt"] = new JsonArray("ProvisionerRole", "Arn") } },
            },
        };
        return template.ToJsonString(Indented);
    }

    /// <summary>The AWS CLI commands that create the same role without CloudFormation.</summary>
    public string CliCommands()
    {
        var text = new StringBuilder();
        text.AppendLine("cat > trust-policy.json <<'EOF'").AppendLine(TrustPolicy().ToJsonString(Indented)).AppendLine("EOF");
        text.AppendLine("cat > permissions-policy.json <<'EOF'").AppendLine(PermissionsPolicy().ToJsonString(Indented)).AppendLine("EOF");
        text.AppendLine("cat > boundary-policy.json <<'EOF'").AppendLine(BoundaryPolicy().ToJsonString(Indented)).AppendLine("EOF");
        if (IsAzure)
        {
            text.AppendLine($"aws iam create-open-id-connect-provider --url https://{OidcIssuerHost} --client-id-list {Trust.Audience}");
        }

        text.AppendLine($"aws iam create-policy --policy-name {BoundaryName} --policy-document file://boundary-policy.json");
        text.AppendLine($"aws iam create-role --role-name {RoleName} --max-session-duration 3600 --assume-role-policy-document file://trust-policy.json --permissions-boundary {BoundaryArn}");
        text.AppendLine($"aws iam put-role-policy --role-name {RoleName} --policy-name {RoleName} --policy-document file://permissions-policy.json");
        return text.ToString();
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private static JsonArray Array(IEnumerable<string> values) => new([.. values.Select(v => (JsonNode)JsonValue.Create(v)!)]);

    private static JsonObject Merge(JsonObject condition, JsonObject? more)
    {
        foreach (var (op, keys) in more ?? [])
        {
            condition[op] = keys!.DeepClone();
        }

        return condition;
    }

    private static JsonObject Statement(string sid, string effect, string[] actions, string[]? resources, string[]? notResource = null, JsonObject? condition = null)
    {
        var statement = new JsonObject
        {
            ["Sid"] = sid,
            ["Effect"] = effect,
            ["Action"] = new JsonArray(actions.Select(a => (JsonNode)JsonValue.Create(a)!).ToArray()),
        };
        if (resources is not null)
        {
            statement["Resource"] = new JsonArray(resources.Select(r => (JsonNode)JsonValue.Create(r)!).ToArray());
        }

        if (notResource is not null)
        {
            statement["NotResource"] = new JsonArray(notResource.Select(r => (JsonNode)JsonValue.Create(r)!).ToArray());
        }

        if (condition is not null)
        {
            statement["Condition"] = condition;
        }

        return statement;
    }

    [GeneratedRegex(@"^[\w+=,.@-]{1,64}$")]
    private static partial Regex RoleNameRegex();

    [GeneratedRegex(@"^arn:aws(-cn|-us-gov)?:(iam::\d{12}:(role|user)/([\w+=,.@-]+/)*[\w+=,.@-]{1,64}|iam::\d{12}:root)$")]
    private static partial Regex PrincipalArnRegex();

    [GeneratedRegex(@"^[\w+=,.@:/-]{2,1224}$")]
    private static partial Regex ExternalIdRegex();

    [GeneratedRegex(@"^[A-Za-z0-9:/._-]{1,255}$")]
    private static partial Regex AudienceRegex();

    [GeneratedRegex("^[A-Za-z0-9_.:/=+@-]{1,128}$")]
    private static partial Regex DeploymentIdRegex();
}
