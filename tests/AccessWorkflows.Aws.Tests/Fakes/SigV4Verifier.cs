using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace AccessWorkflows.Aws.Tests.Fakes;

/// <summary>
/// Checks an AWS Signature Version 4 the way AWS does, written from the documented algorithm (canonical request,
/// string to sign, derived signing key) independently of the SDK's signer, so a wrong signature is caught.
/// </summary>
public static partial class SigV4Verifier
{
    public sealed record Result(bool Ok, string? ErrorCode, string? Message, string? AccessKeyId);

    /// <param name="secretFor">The secret key and the session token (null for long-term keys) of an access key id; null when unknown.</param>
    public static Result Verify(HttpRequest request, byte[] body, string expectedService, string expectedRegion, Func<string, (string Secret, string? Token)?> secretFor, DateTimeOffset now)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(authorization))
        {
            return Fail("MissingAuthenticationToken", "Request is missing Authentication Token");
        }

        var match = AuthorizationRegex().Match(authorization);
        if (!match.Success)
        {
            return Fail("IncompleteSignature", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.");
        }

        var accessKeyId = match.Groups["ak"].Value;
        var date = match.Groups["date"].Value;
        var region = match.Groups["region"].Value;
        var service = match.Groups["service"].Value;
        var signedHeaders = match.Groups["signed"].Value.Split(';');
        var signature = match.Groups["sig"].Value;

        var key = secretFor(accessKeyId);
        if (key is null)
        {
            return Fail("InvalidClientTokenId", "The security token included in the request is invalid.");
        }

        if (service != expectedService || region != expectedRegion)
        {
            return Fail("SignatureDoesNotMatch", $"Credential should be scoped to correct service: '{expectedService}' and region '{expectedRegion}'.");
        }

        if (!signedHeaders.Contains("host") || !signedHeaders.Contains("x-amz-date"))
        {
            return Fail("IncompleteSignature", "host and x-amz-date must be signed.");
        }

        var amzDate = request.Headers["X-Amz-Date"].ToString();
        if (!DateTime.TryParseExact(amzDate, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var signedAt)
            || !amzDate.StartsWith(date, StringComparison.Ordinal))
        {
            return Fail("IncompleteSignature", "X-Amz-Date is missing or does not match the credential scope.");
        }

        if (Math.Abs((now.UtcDateTime - signedAt).TotalMinutes) > 15)
        {
            return Fail("SignatureDoesNotMatch", "Signature expired: the request time is more than 15 minutes from the server's.");
        }

        if (key.Value.Token is { } token)
        {
            if (!signedHeaders.Contains("x-amz-security-token") || request.Headers["X-Amz-Security-Token"].ToString() != token)
            {
                return Fail("InvalidClientTokenId", "The security token included in the request is invalid.");
            }
        }

        var bodyHash = Hex(SHA256.HashData(body));
        var declaredHash = request.Headers["X-Amz-Content-SHA256"].ToString();
        if (declaredHash.Length > 0 && declaredHash != bodyHash)
        {
            return Fail("SignatureDoesNotMatch", "The provided 'x-amz-content-sha256' header does not match what was computed.");
        }

        var canonical = new StringBuilder()
            .Append(request.Method).Append('\n')
            .Append(CanonicalPath(request.Path.Value)).Append('\n')
            .Append(CanonicalQuery(request.QueryString.Value)).Append('\n');
        foreach (var name in signedHeaders)
        {
            var value = name == "host" ? request.Host.Value : string.Join(",", request.Headers[name].Select(v => v ?? string.Empty));
            canonical.Append(name).Append(':').Append(SpacesRegex().Replace((value ?? string.Empty).Trim(), " ")).Append('\n');
        }

        canonical.Append('\n').Append(string.Join(';', signedHeaders)).Append('\n').Append(bodyHash);

        var scope = $"{date}/{region}/{service}/aws4_request";
        var stringToSign = $"AWS4-HMAC-SHA256\n{amzDate}\n{scope}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())))}";
        var signingKey = Hmac(Hmac(Hmac(Hmac(Encoding.UTF8.GetBytes("AWS4" + key.Value.Secret), date), region), service), "aws4_request");
        var expected = Hex(Hmac(signingKey, stringToSign));
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature)))
        {
            return Fail("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.");
        }

        return new Result(true, null, null, accessKeyId);
    }

    private static Result Fail(string code, string message) => new(false, code, message, null);

    private static string CanonicalPath(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return "/";
        }

        return string.Join('/', path.Split('/').Select(Uri.EscapeDataString));
    }

    private static string CanonicalQuery(string? query)
    {
        if (string.IsNullOrEmpty(query) || query == "?")
        {
            return string.Empty;
        }

        return string.Join('&', query.TrimStart('?').Split('&')
            .Select(p => p.Split('=', 2))
            .Select(p => (Key: Uri.EscapeDataString(Uri.UnescapeDataString(p[0])), Value: p.Length > 1 ? Uri.EscapeDataString(Uri.UnescapeDataString(p[1])) : string.Empty))
            .OrderBy(p => p.Key, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => $"{p.Key}={p.Value}"));
    }

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);

    [GeneratedRegex(@"^AWS4-HMAC-SHA256 Credential=(?<ak>[A-Z0-9]+)/(?<date>\d{8})/(?<region>[a-z0-9-]+)/(?<service>[a-z0-9-]+)/aws4_request,\s*SignedHeaders=(?<signed>[a-z0-9;-]+),\s*Signature=(?<sig>[0-9a-f]{64})$")]
    private static partial Regex AuthorizationRegex();

    [GeneratedRegex(" +")]
    private static partial Regex SpacesRegex();
}
