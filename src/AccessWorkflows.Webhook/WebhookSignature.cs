using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace AccessWorkflows.Webhook;

/// <summary>How a signature check ended; anything but <see cref="Valid"/> is a 401.</summary>
public enum SignatureCheck
{
    Valid,
    MissingHeaders,
    MalformedTimestamp,
    StaleTimestamp,
    BadSignature,
}

/// <summary>
/// The signature scheme of both directions (SPEC 10): <c>X-AccessWorkflows-Signature: v1=&lt;hex HMAC-SHA256 of
/// "{timestamp}.{raw body}"&gt;</c> with <c>X-AccessWorkflows-Timestamp: &lt;unix seconds&gt;</c>. The timestamp is
/// inside the MAC, so a captured request cannot be replayed outside the tolerance window.
/// </summary>
public static class WebhookSignature
{
    public const string SignatureHeader = "X-AccessWorkflows-Signature";
    public const string TimestampHeader = "X-AccessWorkflows-Timestamp";
    public const string Version = "v1";

    public static string Sign(string secret, long unixSeconds, ReadOnlySpan<byte> body)
        => $"{Version}={Convert.ToHexStringLower(Mac(secret, unixSeconds, body))}";

    /// <summary>
    /// Checks the headers against the raw body. The signature header may carry several comma-separated
    /// <c>v1=</c> values (a sender rotating secrets); one match is enough. Compares in constant time.
    /// </summary>
    public static SignatureCheck Verify(string secret, string? timestampHeader, string? signatureHeader, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan tolerance)
    {
        var freshness = CheckTimestamp(timestampHeader, signatureHeader, now, tolerance, out var unixSeconds);
        if (freshness != SignatureCheck.Valid)
        {
            return freshness;
        }

        var expected = Mac(secret, unixSeconds, body);
        var matched = false;
        foreach (var part in signatureHeader!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!part.StartsWith($"{Version}=", StringComparison.Ordinal) || part.Length != Version.Length + 1 + (expected.Length * 2))
            {
                continue;
            }

            byte[] given;
            try
            {
                given = Convert.FromHexString(part.AsSpan(Version.Length + 1));
            }
            catch (FormatException)
            {
                continue;
            }

            // No early exit: every candidate is compared, each in constant time.
            matched |= CryptographicOperations.FixedTimeEquals(given, expected);
        }

        return matched ? SignatureCheck.Valid : SignatureCheck.BadSignature;
    }

    /// <summary>The checks that need no body: both headers present, the timestamp well-formed and within tolerance.</summary>
    public static SignatureCheck CheckTimestamp(string? timestampHeader, string? signatureHeader, DateTimeOffset now, TimeSpan tolerance, out long unixSeconds)
    {
        unixSeconds = 0;
        if (string.IsNullOrEmpty(timestampHeader) || string.IsNullOrEmpty(signatureHeader) || signatureHeader.Length > 1024)
        {
            return SignatureCheck.MissingHeaders;
        }

        if (timestampHeader.Length > 12 || !long.TryParse(timestampHeader, NumberStyles.None, CultureInfo.InvariantCulture, out unixSeconds))
        {
            return SignatureCheck.MalformedTimestamp;
        }

        var skew = now - DateTimeOffset.FromUnixTimeSeconds(unixSeconds);
        return skew.Duration() <= tolerance ? SignatureCheck.Valid : SignatureCheck.StaleTimestamp;
    }

    private static byte[] Mac(string secret, long unixSeconds, ReadOnlySpan<byte> body)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(secret));
        hmac.AppendData(Encoding.ASCII.GetBytes(unixSeconds.ToString(CultureInfo.InvariantCulture) + "."));
        hmac.AppendData(body);
        return hmac.GetHashAndReset();
    }
}
