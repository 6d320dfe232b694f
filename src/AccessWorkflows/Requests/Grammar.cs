using System.Text.RegularExpressions;

namespace AccessWorkflows.Requests;

/// <summary>
/// The grammars every identifier from outside is checked against before it is used (SPEC 12). Whatever passes
/// here is safe to place in an IAM API parameter; none of it is ever placed in a policy document except a
/// resource ARN, which this grammar confines to ARN characters.
/// </summary>
public static partial class Grammar
{
    public const int MaxReasonLength = 1000;

    public static bool IsAccountId(string? value) => value is not null && AccountIdRegex().IsMatch(value);

    public static bool IsPolicyArn(string? value) => value is { Length: <= 2048 } && PolicyArnRegex().IsMatch(value);

    public static bool IsGroupName(string? value) => value is not null && GroupNameRegex().IsMatch(value);

    public static bool IsResourceArn(string? value) => value is { Length: <= 2048 } && ResourceArnRegex().IsMatch(value);

    /// <summary>AWS's own pattern for a permission set ARN (sso-admin API reference), in the three partitions.</summary>
    public static bool IsPermissionSetArn(string? value) => value is not null && PermissionSetArnRegex().IsMatch(value);

    /// <summary>AWS's pattern for an Identity Center instance ARN.</summary>
    public static bool IsInstanceArn(string? value) => value is not null && InstanceArnRegex().IsMatch(value);

    public static bool IsEmail(string? value) => value is { Length: <= 254 } && EmailRegex().IsMatch(value);

    /// <summary>Emails are compared and stored lower-case.</summary>
    public static string NormalizeEmail(string email) => email.Trim().ToLowerInvariant();

    [GeneratedRegex(@"^\d{12}$")]
    private static partial Regex AccountIdRegex();

    [GeneratedRegex(@"^arn:aws(-cn|-us-gov)?:iam::(aws|\d{12}):policy/([\w+=,.@-]+/)*[\w+=,.@-]{1,128}$")]
    private static partial Regex PolicyArnRegex();

    [GeneratedRegex(@"^[\w+=,.@-]{1,128}$")]
    private static partial Regex GroupNameRegex();

    // partition:service:region:account:resource — resource part restricted to ARN characters, no wildcards.
    [GeneratedRegex(@"^arn:aws(-cn|-us-gov)?:[a-z0-9-]{2,32}:[a-z0-9-]*:(\d{12})?:[A-Za-z0-9_+=,.@:/-]{1,1024}$")]
    private static partial Regex ResourceArnRegex();

    [GeneratedRegex(@"^arn:aws(-cn|-us-gov)?:sso:::permissionSet/(sso)?ins-[a-zA-Z0-9-.]{16}/ps-[a-zA-Z0-9-./]{16}$")]
    private static partial Regex PermissionSetArnRegex();

    [GeneratedRegex(@"^arn:aws(-cn|-us-gov)?:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}$")]
    private static partial Regex InstanceArnRegex();

    [GeneratedRegex(@"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")]
    private static partial Regex EmailRegex();
}
