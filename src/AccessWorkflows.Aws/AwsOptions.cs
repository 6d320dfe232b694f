namespace AccessWorkflows.Aws;

/// <summary>
/// <c>AccessWorkflows:Aws:*</c>. Every key is optional; the defaults suit a deployment whose own identity comes from
/// the standard AWS credentials chain.
/// </summary>
public sealed class AwsOptions
{
    public const string Section = "AccessWorkflows:Aws";

    /// <summary><c>chain</c> (default): AssumeRole into each account's roleArn with the credentials chain's identity
    /// (and the account's externalId). <c>azure</c>: AssumeRoleWithWebIdentity with an Entra token of the managed
    /// identity, so no AWS key exists anywhere.</summary>
    public string Trust { get; set; } = TrustModes.Chain;

    /// <summary>The deployment's region: STS is called on its regional endpoint and signed for it. IAM is global and
    /// is always signed for its partition's region (<see cref="AwsPartition.IamSigningRegion"/>), whatever this says.</summary>
    public string Region { get; set; } = "us-east-1";

    /// <summary>Names this deployment on every generated policy (tag <c>access-workflows:deployment-id</c>).
    /// Reconciliation judges and deletes only generated policies carrying this deployment's id, so two deployments
    /// sharing an AWS account must set different values; aws-setup's <c>--deployment-id</c> must be the same.</summary>
    public string DeploymentId { get; set; } = DefaultDeploymentId;

    /// <summary>IAM path of the users the provisioner may grant to (aws-setup's <c>--user-path</c>); <c>/</c>: any.
    /// A requester whose IAM user is outside it is refused before any IAM change.</summary>
    public string UserPath { get; set; } = "/";

    /// <summary><c>key=value</c> tag the users the provisioner may grant to must carry (aws-setup's
    /// <c>--user-tag</c>); empty: no tag needed.</summary>
    public string? UserTag { get; set; }

    public const string DefaultDeploymentId = "access-workflows";

    /// <summary>The partition of <see cref="Region"/>.</summary>
    public AwsPartition Partition => AwsPartition.ForRegion(Region);

    /// <summary>Refuses values that cannot be an IAM tag value, a path or a tag; called at registration.</summary>
    public void Validate()
    {
        if (!System.Text.RegularExpressions.Regex.IsMatch(DeploymentId, "^[A-Za-z0-9_.:/=+@-]{1,128}$"))
        {
            throw new InvalidOperationException($"{Section}:DeploymentId must be 1-128 of letters, digits and _.:/=+@-.");
        }

        if (!AwsPartition.IsUserPath(UserPath))
        {
            throw new InvalidOperationException($"{Section}:UserPath must start and end with '/' (for example /people/).");
        }

        if (UserTag is { Length: > 0 } && AwsPartition.ParseTag(UserTag) is null)
        {
            throw new InvalidOperationException($"{Section}:UserTag must be key=value.");
        }
    }

    /// <summary>The Entra scope requested for the web identity token (azure trust).</summary>
    public string AzureTokenScope { get; set; } = "api://AzureADTokenExchange/.default";

    /// <summary>Client id of a user-assigned managed identity (azure trust); empty: DefaultAzureCredential.</summary>
    public string? ManagedIdentityClientId { get; set; }

    public string RoleSessionName { get; set; } = "access-workflows";

    /// <summary>Requested lifetime of assumed-role sessions. Sessions are reused until 5 minutes before they expire.</summary>
    public TimeSpan SessionDuration { get; set; } = TimeSpan.FromHours(1);

    public AwsRetryOptions Retry { get; set; } = new();

    /// <summary>How long the email→IAM user map of an <c>email-tag</c> account is reused.</summary>
    public TimeSpan UserCacheDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often the reconciliation sweep runs over every real AWS account; zero turns it off.</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The first pause between polls of an Identity Center assignment's creation or deletion status (doubling
    /// up to eight times this).</summary>
    public TimeSpan AssignmentPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long one provisioning or revocation attempt waits for an assignment to leave IN_PROGRESS before
    /// the attempt fails as transient and the workflow's durable retry takes over.</summary>
    public TimeSpan AssignmentTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>The regions whose CloudTrail is read for what a grant was used for (<c>AccessWorkflows:Aws:ActivityRegions:0</c>,
    /// <c>:1</c>, ...); empty: <see cref="Region"/> and us-east-1, where global services such as IAM record.</summary>
    public List<string> ActivityRegions { get; set; } = [];

    /// <summary><see cref="ActivityRegions"/>, or the default when none is configured.</summary>
    public IReadOnlyList<string> ActivityRegionsOrDefault =>
        ActivityRegions.Count > 0 ? ActivityRegions : [.. new[] { Region, "us-east-1" }.Distinct(StringComparer.Ordinal)];

    /// <summary>How long autocomplete reuses an account's policy and group lists.</summary>
    public TimeSpan CatalogCacheDuration { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>Retries of transient IAM failures (Throttling, 5xx, network) inside one call: jittered exponential backoff,
/// bounded in attempts and in total time. What is still failing after that surfaces to the workflow, whose activity
/// retry takes over.</summary>
public sealed class AwsRetryOptions
{
    public int MaxAttempts { get; set; } = 6;

    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(300);

    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The whole budget of one call, retries included.</summary>
    public TimeSpan Budget { get; set; } = TimeSpan.FromSeconds(60);
}

public static class TrustModes
{
    public const string Chain = "chain";
    public const string Azure = "azure";
}

/// <summary>The AWS partition of a region: its ARN prefix and the endpoint and signing region of IAM, which is global
/// per partition (us-east-1 in <c>aws</c>, cn-north-1 in <c>aws-cn</c>, us-gov-west-1 in <c>aws-us-gov</c>).</summary>
public sealed record AwsPartition(string Name, string IamSigningRegion, Uri IamEndpoint)
{
    public static readonly AwsPartition Aws = new("aws", "us-east-1", new Uri("https://iam.amazonaws.com/"));
    public static readonly AwsPartition China = new("aws-cn", "cn-north-1", new Uri("https://iam.cn-north-1.amazonaws.com.cn/"));
    public static readonly AwsPartition GovCloud = new("aws-us-gov", "us-gov-west-1", new Uri("https://iam.us-gov.amazonaws.com/"));

    public static AwsPartition ForRegion(string region) =>
        region.StartsWith("cn-", StringComparison.Ordinal) ? China
        : region.StartsWith("us-gov-", StringComparison.Ordinal) ? GovCloud
        : Aws;

    public static bool IsUserPath(string path) =>
        System.Text.RegularExpressions.Regex.IsMatch(path, @"^/([\x21-\x7E]{1,510}/)?$") && !path.Contains('*', StringComparison.Ordinal);

    /// <summary><c>key=value</c> → the pair; null when it is not one.</summary>
    public static (string Key, string Value)? ParseTag(string tag)
    {
        var eq = tag.IndexOf('=', StringComparison.Ordinal);
        return eq > 0 && eq < tag.Length - 1 ? (tag[..eq], tag[(eq + 1)..]) : null;
    }
}
