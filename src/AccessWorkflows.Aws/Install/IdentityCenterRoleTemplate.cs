using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AccessWorkflows.Rules;

namespace AccessWorkflows.Aws.Install;

/// <summary>
/// The role in the management (or delegated-administrator) account that makes permission-set grants, generated from
/// the rules file like the provisioner role: trusted by this deployment only (the same trust statement), and allowed
/// exactly the sso-admin and identitystore calls of <c>PermissionSetAssignments</c>: create and delete account
/// assignments only of the permission sets the rules name, only in the accounts whose rules grant permission sets,
/// only in the configured instance; read assignment status and list/describe permission sets there; look users up by
/// email in the configured identity store; and, to end the sessions of a grant that ended, read and write the inline
/// policy of the rules' permission sets and provision them to the rules' accounts. Nothing else, so it cannot assign a
/// permission set the rules do not name, change one they do not name, or touch an account the rules do not grant in.
/// Writing the inline policy is power over what those permission sets allow: the product only ever adds and removes
/// its own deny statements there (<c>SessionDenyPolicy</c>), and README says so.
/// </summary>
public sealed class IdentityCenterRoleTemplate
{
    public const string DefaultRoleName = "AccessWorkflowsIdentityCenter";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private readonly ProvisionerRoleTemplate _trust;

    public IdentityCenterRoleTemplate(AccessRules rules, ProvisionerTrust trust, string roleName = DefaultRoleName)
    {
        Center = rules.IdentityCenter ?? throw new ArgumentException("The rules file names no identityCenter.", nameof(rules));
        AccountId = Center.RoleArn.Split(':')[4];
        Partition = Center.InstanceArn.Split(':')[1];
        var granting = rules.Rules.Where(r => r.PermissionSets.Count > 0).ToList();
        PermissionSets = [.. granting.SelectMany(r => r.PermissionSets).Distinct(StringComparer.Ordinal)];
        Accounts = [.. granting.SelectMany(r => r.Accounts).Distinct(StringComparer.Ordinal).Where(a => rules.FindAccount(a) is { IsSandbox: false })];
        if (Accounts.Count == 0)
        {
            throw new ArgumentException("No rule grants permission sets in a real AWS account.", nameof(rules));
        }

        // The trust statement is the provisioner role's, for this account and role name.
        _trust = new ProvisionerRoleTemplate(AccountId, trust, new ProvisionerScope([], [], false, Partition: Partition), roleName, trustOnly: true);
        RoleName = roleName;
    }

    public IdentityCenterConfig Center { get; }

    /// <summary>The management or delegated-administrator account the role lives in.</summary>
    public string AccountId { get; }

    public string Partition { get; }

    public string RoleName { get; }

    public IReadOnlyList<string> PermissionSets { get; }

    public IReadOnlyList<string> Accounts { get; }

    public string RoleArn => _trust.RoleArn;

    public JsonObject TrustPolicy() => _trust.TrustPolicy();

    public JsonObject PermissionsPolicy()
    {
        string[] targets = [Center.InstanceArn, .. PermissionSets, .. Accounts.Select(a => $"arn:{Partition}:sso:::account/{a}")];
        var statements = new JsonArray
        {
            Statement("AssignOnlyTheRulesPermissionSetsInTheRulesAccounts", ["sso:CreateAccountAssignment", "sso:DeleteAccountAssignment"], targets),
            Statement("ReadAssignmentsOfTheRulesPermissionSets", ["sso:ListAccountAssignments", "sso:DescribePermissionSet"], targets),
            Statement("EndSessionsWithAnInlineDenyOnTheRulesPermissionSets", ["sso:GetInlinePolicyForPermissionSet", "sso:PutInlinePolicyToPermissionSet", "sso:DeleteInlinePolicyFromPermissionSet"], [Center.InstanceArn, .. PermissionSets]),
            Statement("ProvisionTheRulesPermissionSetsToTheRulesAccounts", ["sso:ProvisionPermissionSet"], targets),
            Statement("SeeWhatIsProvisionedInTheRulesAccounts", ["sso:ListPermissionSetsProvisionedToAccount"], [Center.InstanceArn, .. Accounts.Select(a => $"arn:{Partition}:sso:::account/{a}")]),
            Statement("FollowAssignmentOperationsAndListPermissionSets", ["sso:DescribeAccountAssignmentCreationStatus", "sso:DescribeAccountAssignmentDeletionStatus", "sso:DescribePermissionSetProvisioningStatus", "sso:ListPermissionSets"], [Center.InstanceArn]),
            Statement("FindUsersByEmail", ["identitystore:GetUserId", "identitystore:DescribeUser"], [$"arn:{Partition}:identitystore::{AccountId}:identitystore/{Center.IdentityStoreId}", $"arn:{Partition}:identitystore:::user/*"]),
        };
        return new JsonObject { ["Version"] = "2012-10-17", ["Statement"] = statements };
    }

    public string CloudFormation()
    {
        var template = new JsonObject
        {
            ["AWSTemplateFormatVersion"] = "2010-09-09",
            ["Description"] = $"AccessWorkflows Identity Center role in account {AccountId}",
            ["Resources"] = new JsonObject
            {
                ["IdentityCenterRole"] = new JsonObject
                {
                    ["Type"] = "AWS::IAM::Role",
                    ["Properties"] = new JsonObject
                    {
                        [nameof(RoleName)] = RoleName,
                        ["Description"] = "AccessWorkflows just-in-time permission-set assignments of the rules file.",
                        ["MaxSessionDuration"] = 3600,
                        ["AssumeRolePolicyDocument"] = TrustPolicy(),
                        ["Policies"] = new JsonArray(new JsonObject { ["PolicyName"] = RoleName, ["PolicyDocument"] = PermissionsPolicy() }),
                        ["Tags"] = new JsonArray(new JsonObject { ["Key"] = "managed-by", ["Value"] = "access-workflows" }),
                    },
                },
            },
            ["Outputs"] = new JsonObject
            {
                [nameof(RoleArn)] = new JsonObject { ["Value"] = new JsonObject { ["Fn::GetAtt"] = new JsonArray("IdentityCenterRole", "Arn") } },
            },
        };
        return template.ToJsonString(Indented);
    }

    public string CliCommands()
    {
        var text = new StringBuilder();
        text.AppendLine("cat > trust-policy.json <<'EOF'").AppendLine(TrustPolicy().ToJsonString(Indented)).AppendLine("EOF");
        text.AppendLine("cat > permissions-policy.json <<'EOF'").AppendLine(PermissionsPolicy().ToJsonString(Indented)).AppendLine("EOF");
        text.AppendLine($"aws iam create-role --role-name {RoleName} --max-session-duration 3600 --assume-role-policy-document file://trust-policy.json");
        text.AppendLine($"aws iam put-role-policy --role-name {RoleName} --policy-name {RoleName} --policy-document file://permissions-policy.json");
        return text.ToString();
    }

    private static JsonObject Statement(string sid, string[] actions, string[] resources) => new()
    {
        ["Sid"] = sid,
        ["Effect"] = "Allow",
        ["Action"] = new JsonArray([.. actions.Select(a => (JsonNode)JsonValue.Create(a)!)]),
        ["Resource"] = new JsonArray([.. resources.Select(r => (JsonNode)JsonValue.Create(r)!)]),
    };
}
