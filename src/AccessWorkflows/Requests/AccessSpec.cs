using System.Text.Json.Serialization;

namespace AccessWorkflows.Requests;

/// <summary>The kind of AWS access a request asks for (SPEC 4).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AccessKind>))]
public enum AccessKind
{
    /// <summary>Attach a managed policy to the user.</summary>
    [JsonStringEnumMemberName("policy")]
    Policy,

    /// <summary>Add the user to an IAM group.</summary>
    [JsonStringEnumMemberName("group")]
    Group,

    /// <summary>A generated policy: the base policy's actions that apply to one resource, scoped to it.</summary>
    [JsonStringEnumMemberName("resource")]
    Resource,

    /// <summary>An IAM Identity Center account assignment of a permission set to the user's Identity Center user
    /// (SPEC 13); the instance comes from the rules file's <c>identityCenter</c>.</summary>
    [JsonStringEnumMemberName("permissionSet")]
    PermissionSet,
}

/// <summary>What is granted. Which members are set depends on <see cref="Type"/>; <see cref="Validate"/> checks the grammar.</summary>
public sealed record AccessSpec
{
    public AccessKind Type { get; init; }

    public string? PolicyArn { get; init; }

    public string? GroupName { get; init; }

    public string? ResourceArn { get; init; }

    public string? PermissionSetArn { get; init; }

    public static AccessSpec Policy(string policyArn) => new() { Type = AccessKind.Policy, PolicyArn = policyArn };

    public static AccessSpec Group(string groupName) => new() { Type = AccessKind.Group, GroupName = groupName };

    public static AccessSpec Resource(string resourceArn, string policyArn) => new() { Type = AccessKind.Resource, ResourceArn = resourceArn, PolicyArn = policyArn };

    public static AccessSpec PermissionSet(string permissionSetArn) => new() { Type = AccessKind.PermissionSet, PermissionSetArn = permissionSetArn };

    /// <summary>
    /// The permission this access holds on the IAM user, the unit overlapping grants are counted in: two requests
    /// for the same policy share one attachment; a generated resource policy belongs to its request alone.
    /// </summary>
    public string PermissionKey(string requestId) => Type switch
    {
        AccessKind.Policy => $"policy:{PolicyArn}",
        AccessKind.Group => $"group:{GroupName}",
        AccessKind.Resource => $"resource-policy:{requestId}",

        // One account assignment (account, permission set, Identity Center user) shared by overlapping grants.
        AccessKind.PermissionSet => $"permission-set:{PermissionSetArn}",
        _ => throw new InvalidOperationException($"Unknown access type {Type}."),
    };

    /// <summary>Field errors of this access by grammar (SPEC 12), keyed by JSON path.</summary>
    public IReadOnlyDictionary<string, string> Validate()
    {
        var errors = new Dictionary<string, string>();
        switch (Type)
        {
            case AccessKind.Policy:
                if (!Grammar.IsPolicyArn(PolicyArn))
                {
                    errors["access.policyArn"] = "must be an IAM policy ARN such as arn:aws:iam::aws:policy/ReadOnlyAccess";
                }

                break;
            case AccessKind.Group:
                if (!Grammar.IsGroupName(GroupName))
                {
                    errors["access.groupName"] = "must be an IAM group name (1-128 of letters, digits and +=,.@_-)";
                }

                break;
            case AccessKind.Resource:
                if (!Grammar.IsResourceArn(ResourceArn))
                {
                    errors["access.resourceArn"] = "must be the ARN of one resource (no wildcards)";
                }

                if (!Grammar.IsPolicyArn(PolicyArn))
                {
                    errors["access.policyArn"] = "must be the IAM policy ARN whose actions to scope to the resource";
                }

                break;
            case AccessKind.PermissionSet:
                if (!Grammar.IsPermissionSetArn(PermissionSetArn))
                {
                    errors["access.permissionSetArn"] = "must be an IAM Identity Center permission set ARN such as arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-0123456789abcdef";
                }

                break;
            default:
                errors["access.type"] = "must be policy, group, resource or permissionSet";
                break;
        }

        return errors;
    }

    /// <summary>A short human description, e.g. "policy ReadOnlyAccess". Contains request data: escape before rendering.</summary>
    public string Describe() => Type switch
    {
        AccessKind.Policy => $"policy {PolicyArn}",
        AccessKind.Group => $"group {GroupName}",
        AccessKind.Resource => $"{PolicyArn} on {ResourceArn}",
        AccessKind.PermissionSet => $"permission set {PermissionSetArn}",
        _ => Type.ToString(),
    };
}
