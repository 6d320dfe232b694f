using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using AccessWorkflows.Http;
using Microsoft.AspNetCore.Http;

namespace AccessWorkflows.Slack.Http;

/// <summary>The outcome of verifying an inbound Slack request.</summary>
public enum SlackVerification
{
    Valid,
    MissingHeaders,
    StaleTimestamp,
    BadSignature,
    TooLarge,
}

/// <summary>
/// Slack's request signing (v0): hex HMAC-SHA256 of <c>v0:{X-Slack-Request-Timestamp}:{raw body}</c> with the
/// signing secret, compared in constant time with <c>X-Slack-Signature</c>, the timestamp within the tolerance
/// either way. The body is read raw, up to a cap, before anything parses it: nothing unverified is ever looked at.
/// </summary>
public sealed class SlackRequestVerifier
{
    private const string Version = "v0";
    private readonly byte[] _secret;
    private readonly TimeProvider _time;
    private readonly TimeSpan _tolerance;
    private readonly int _maxBodyBytes;

    public SlackRequestVerifier(string signingSecret, TimeProvider time, TimeSpan tolerance, int maxBodyBytes)
    {
        _secret = Encoding.UTF8.GetBytes(signingSecret);
        _time = time;
        _tolerance = tolerance;
        _maxBodyBytes = maxBodyBytes;
    }

    /// <summary>Reads the raw body (bounded) and verifies it. The body is returned only when valid.</summary>
    public async Task<(SlackVerification Result, byte[]? Body)> VerifyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > _maxBodyBytes)
        {
            return (SlackVerification.TooLarge, null);
        }

        var timestampHeader = request.Headers["X-Slack-Request-Timestamp"].ToString();
        var signatureHeader = request.Headers["X-Slack-Signature"].ToString();
        if (string.IsNullOrEmpty(timestampHeader) || string.IsNullOrEmpty(signatureHeader)
            || !long.TryParse(timestampHeader, NumberStyles.None, CultureInfo.InvariantCulture, out var timestamp))
        {
            return (SlackVerification.MissingHeaders, null);
        }

        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        if (Math.Abs(now - timestamp) > (long)_tolerance.TotalSeconds)
        {
            return (SlackVerification.StaleTimestamp, null);
        }

        var body = await HttpBodies.ReadCappedAsync(request, _maxBodyBytes, cancellationToken);
        if (body is null)
        {
            return (SlackVerification.TooLarge, null);
        }

        return IsValid(timestampHeader, body, signatureHeader) ? (SlackVerification.Valid, body) : (SlackVerification.BadSignature, null);
    }

    /// <summary>The signature Slack would send for this timestamp and body (tests and the load harness sign with it).</summary>
    public static string Sign(string signingSecret, string timestamp, ReadOnlySpan<byte> body)
    {
        using var hmac = new HMACSHA256(Encoding.UTF8.GetBytes(signingSecret));
        return Version + "=" + Convert.ToHexStringLower(hmac.ComputeHash(Concat(timestamp, body)));
    }

    private bool IsValid(string timestamp, byte[] body, string signatureHeader)
    {
        if (!signatureHeader.StartsWith(Version + "=", StringComparison.Ordinal))
        {
            return false;
        }

        byte[] presented;
        try
        {
            presented = Convert.FromHexString(signatureHeader.AsSpan(Version.Length + 1));
        }
        catch (FormatException)
        {
            return false;
        }

        var expected = HMACSHA256.HashData(_secret, Concat(timestamp, body));
        return CryptographicOperations.FixedTimeEquals(expected, presented);
    }

    private static byte[] Concat(string timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes($"{Version}:{timestamp}:");
        var all = new byte[prefix.Length + body.Length];
        prefix.CopyTo(all, 0);
        body.CopyTo(all.AsSpan(prefix.Length));
        return all;
    }
}
