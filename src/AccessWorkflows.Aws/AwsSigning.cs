using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Signing;

namespace AccessWorkflows.Aws;

/// <summary>SigV4 for the hand-written AWS clients (IAM's Query API, the JSON 1.1 services), signed the same way.</summary>
internal static class AwsSigning
{
    /// <summary>
    /// Signs a POST of <paramref name="body"/> to <paramref name="endpoint"/> with <paramref name="headers"/> (each is
    /// signed, so the request must send them unchanged) and returns the headers of the signed request. Session
    /// credentials add their token.
    /// </summary>
    public static async Task<IEnumerable<KeyValuePair<string, string>>> SignPostAsync(
        Uri endpoint,
        byte[] body,
        IEnumerable<KeyValuePair<string, string>> headers,
        ImmutableCredentials credentials,
        RegionEndpoint region,
        string service,
        CancellationToken cancellationToken)
    {
        var signingRequest = new AWSSigningRequest { HttpMethod = HttpMethod.Post, RequestUri = endpoint, Content = body };
        foreach (var (name, value) in headers)
        {
            signingRequest.Headers[name] = value;
        }

        var signed = await AWSSigV4Signer.SignAsync(
            signingRequest,
            new AWSSigV4Parameters
            {
                Credentials = credentials.UseToken
                    ? new SessionAWSCredentials(credentials.AccessKey, credentials.SecretKey, credentials.Token)
                    : new BasicAWSCredentials(credentials.AccessKey, credentials.SecretKey),
                Region = region,
                Service = service,
                SignPayload = true,
            },
            cancellationToken);
        return signed.Headers;
    }
}
