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

/// <summary>
/// Renders the provisioner role of one account: a CloudFormation template and the equivalent AWS CLI commands. The
/// role is trusted by this deployment only, may make exactly the IAM calls the provisioner makes, on users, groups
/// and the <c>/access-workflows/</c> policies of its own account, and is explicitly denied every change to roles
/// (its own included), to policies outside <c>/access-workflows/</c>, and any further role assumption.
/// </summary>
public sealed partial class ProvisionerRoleTemplate
{
    public const string DefaultRoleName = "AccessWorkflowsProvisioner";

    public ProvisionerRoleTemplate(string accountId, ProvisionerTrust trust, string roleName = DefaultRoleName)
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

        AccountId = accountId;
        Trust = trust;
        RoleName = roleName;
    }

    public string AccountId { get; }

    public ProvisionerTrust Trust { get; }

    public string RoleName { get; }

    public string RoleArn => $"arn:aws:iam::{AccountId}:role/{RoleName}";

    private bool IsAzure => string.Equals(Trust.Mode, TrustModes.Azure, StringComparison.OrdinalIgnoreCase);

    private string OidcIssuerHost => $"sts.windows.net/{Trust.TenantId}/";

    private string OidcProviderArn => $"arn:aws:iam::{AccountId}:oidc-provider/{OidcIssuerHost}";

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

    public JsonObject PermissionsPolicy()
    {
        var account = AccountId;
        var users = $"arn:aws:iam::{account}:user/*";
        var groups = $"arn:aws:iam::{account}:group/*";
        var generated = $"arn:aws:iam::{account}:policy{AwsProvisioner.GeneratedPolicyPath}*";
        return new JsonObject
        {
            ["Version"] = "2012-10-17",
            ["Statement"] = new JsonArray(
                Statement("ReadUsers", "Allow", ["iam:GetUser", "iam:ListUsers", "iam:ListUserTags", "iam:ListAttachedUserPolicies", "iam:ListGroupsForUser"], [users]),
                Statement("AttachAndDetachUserPolicies", "Allow", ["iam:AttachUserPolicy", "iam:DetachUserPolicy"], [users]),
                Statement("GroupMembership", "Allow", ["iam:AddUserToGroup", "iam:RemoveUserFromGroup"], [groups]),
                Statement("ListForAutocomplete", "Allow", ["iam:ListPolicies", "iam:ListGroups"], ["*"]),

                // Base policies of resource requests may be AWS managed (arn:aws:iam::aws:policy/...): read-only.
                Statement("ReadBasePolicies", "Allow", ["iam:GetPolicy", "iam:GetPolicyVersion"], [$"arn:aws:iam::{account}:policy/*", "arn:aws:iam::aws:policy/*"]),
                Statement(
                    "ManageGeneratedPoliciesOnly",
                    "Allow",
                    ["iam:CreatePolicy", "iam:TagPolicy", "iam:DeletePolicy", "iam:ListPolicyVersions", "iam:DeletePolicyVersion", "iam:ListEntitiesForPolicy"],
                    [generated]),
                Statement(
                    "DenyRoleChangesIncludingItsOwn",
                    "Deny",
                    ["iam:*Role*", "iam:*RolePolicy*", "iam:UpdateAssumeRolePolicy", "iam:PassRole"],
                    ["*"]),
                Statement(
                    "DenyAnythingOnItsOwnRole",
                    "Deny",
                    ["iam:*"],
                    [RoleArn]),
                Statement(
                    "DenyPolicyChangesOutsideAccessWorkflowsPath",
                    "Deny",
                    ["iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:TagPolicy", "iam:UntagPolicy"],
                    null,
                    notResource: [generated]),
                Statement(
                    "DenyInlineAndBoundaryChanges",
                    "Deny",
                    ["iam:PutUserPolicy", "iam:DeleteUserPolicy", "iam:PutUserPermissionsBoundary", "iam:DeleteUserPermissionsBoundary", "iam:PutGroupPolicy", "iam:AttachGroupPolicy", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile"],
                    ["*"]),
                Statement("DenyHoppingToOtherRoles", "Deny", ["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML"], ["*"]),
                Statement(
                    "DenyChangesOutsideThisAccount",
                    "Deny",
                    ["iam:Add*", "iam:Attach*", "iam:Create*", "iam:Delete*", "iam:Detach*", "iam:Put*", "iam:Remove*", "iam:Set*", "iam:Tag*", "iam:Untag*", "iam:Update*"],
                    null,
                    notResource: [$"arn:aws:iam::{account}:*"])),
        };
    }

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

        var role = new JsonObject
        {
            ["Type"] = "AWS::IAM::Role",
            ["Properties"] = new JsonObject
            {
                [nameof(RoleName)] = RoleName,
                ["Description"] = "AccessWorkflows just-in-time provisioner: attaches and detaches user policies, manages group membership and its own /access-workflows/ policies.",
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
        if (IsAzure)
        {
            text.AppendLine($"aws iam create-open-id-connect-provider --url https://{OidcIssuerHost} --client-id-list {Trust.Audience}");
        }

        text.AppendLine($"aws iam create-role --role-name {RoleName} --max-session-duration 3600 --assume-role-policy-document file://trust-policy.json");
        text.AppendLine($"aws iam put-role-policy --role-name {RoleName} --policy-name {RoleName} --policy-document file://permissions-policy.json");
        return text.ToString();
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private static JsonObject Statement(string sid, string effect, string[] actions, string[]? resources, string[]? notResource = null)
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
}
