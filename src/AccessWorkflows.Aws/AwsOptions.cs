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

    /// <summary>Signing region of IAM (global, signed for us-east-1 in the aws partition) and the STS region.</summary>
    public string Region { get; set; } = "us-east-1";

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
