using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace AccessWorkflows.Storage;

/// <summary>
/// An opaque continuation token: the (UTC ticks, key) position of the last item a listing served, bound to the
/// listing it came from. Base64url of <c>[format][ticks][key as UTF-8]</c> plus a checksum over that and the listing's
/// binding (its filter), so a truncated, edited or foreign token, or one reused with another filter, is refused with an
/// <see cref="ArgumentException"/> (the HTTP layer's 400) instead of silently paging from somewhere else.
/// </summary>
/// <remarks>The checksum is not a secret: a forged token can only move the position, and every store applies the
/// listing's filter on every page, so it never shows a caller anything the listing would not.</remarks>
internal static class PositionToken
{
    private const int ChecksumLength = 8;
    private const int MaxTokenLength = 2048;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static string Encode(byte format, long utcTicks, string key, string binding)
    {
        var keyBytes = StrictUtf8.GetBytes(key);
        var payload = new byte[1 + 8 + keyBytes.Length];
        payload[0] = format;
        BinaryPrimitives.WriteInt64BigEndian(payload.AsSpan(1, 8), utcTicks);
        keyBytes.CopyTo(payload, 9);
        return Base64Url.EncodeToString([.. payload, .. Checksum(payload, binding)]);
    }

    /// <exception cref="ArgumentException">The token is not one this listing produced.</exception>
    public static (long UtcTicks, string Key) Decode(byte format, string token, string binding, string parameterName)
    {
        if (token.Length is 0 or > MaxTokenLength)
        {
            throw Invalid(parameterName);
        }

        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(token);
        }
        catch (FormatException)
        {
            throw Invalid(parameterName);
        }

        if (bytes.Length < 1 + 8 + 1 + ChecksumLength || bytes[0] != format)
        {
            throw Invalid(parameterName);
        }

        var payload = bytes.AsSpan(0, bytes.Length - ChecksumLength);
        if (!CryptographicOperations.FixedTimeEquals(Checksum(payload, binding), bytes.AsSpan(payload.Length)))
        {
            throw Invalid(parameterName);
        }

        try
        {
            return (BinaryPrimitives.ReadInt64BigEndian(payload[1..9]), StrictUtf8.GetString(payload[9..]));
        }
        catch (DecoderFallbackException)
        {
            throw Invalid(parameterName);
        }
    }

    public static ArgumentException Invalid(string parameterName) =>
        new("The continuation token is not valid for this query.", parameterName);

    private static byte[] Checksum(ReadOnlySpan<byte> payload, string binding)
    {
        // The binding as part of the checksum: a token only continues the listing it came from.
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(payload);
        hash.AppendData(StrictUtf8.GetBytes(binding));
        return hash.GetHashAndReset()[..ChecksumLength];
    }
}
