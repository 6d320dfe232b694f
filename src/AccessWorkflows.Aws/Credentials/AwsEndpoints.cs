namespace AccessWorkflows.Aws.Credentials;

/// <summary>
/// Endpoint overrides the way the AWS SDKs read them: <c>AWS_ENDPOINT_URL_&lt;SERVICE&gt;</c> wins over
/// <c>AWS_ENDPOINT_URL</c>; <c>AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true</c> turns both off.
/// </summary>
public sealed class AwsEndpoints
{
    public static readonly Uri DefaultIamEndpoint = new("https://iam.amazonaws.com/");

    private readonly Func<string, string?> _lookup;

    /// <param name="lookup">Reads a variable: configuration first (hosts map environment variables into it), then the
    /// process environment.</param>
    public AwsEndpoints(Func<string, string?> lookup)
    {
        _lookup = lookup;
    }

    public static AwsEndpoints FromEnvironment() => new(Environment.GetEnvironmentVariable);

    /// <summary>The configured endpoint of a service (<c>IAM</c>, <c>STS</c>), or null for the SDK default.</summary>
    public Uri? Configured(string serviceId)
    {
        if (string.Equals(_lookup("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")?.Trim(), "true", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var value = _lookup("AWS_ENDPOINT_URL_" + serviceId.ToUpperInvariant());
        if (string.IsNullOrWhiteSpace(value))
        {
            value = _lookup("AWS_ENDPOINT_URL");
        }

        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        if (!Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            throw new InvalidOperationException($"The AWS endpoint for {serviceId} is not an http(s) URL.");
        }

        return uri;
    }

    public Uri Iam => Configured("IAM") ?? DefaultIamEndpoint;

    public Uri? Sts => Configured("STS");
}
