using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using AccessWorkflows.Requests;

namespace AccessWorkflows.Storage;

/// <summary>
/// The opaque continuation token of a newest-first request listing: the (created-at, id) position of the last item
/// served, bound to the query's filter. Base64url of <c>[format][created-at UTC ticks][id]</c> plus a checksum over
/// that and the filter, so a truncated, edited or foreign token, or one reused with another filter, is refused with
/// an <see cref="ArgumentException"/> (the HTTP layer's 400) instead of silently paging from somewhere else.
/// </summary>
/// <remarks>The checksum is not a secret: a forged token can only move the position, and the filter is applied on
/// every page, so it never shows a caller anything the query would not.</remarks>
internal static class RequestContinuationToken
{
    private const byte Format = 1;
    private const int ChecksumLength = 8;
    private const int MaxTokenLength = 2048;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static string Encode(long createdAtUtcTicks, string id, RequestQuery query)
    {
        var idBytes = StrictUtf8.GetBytes(id);
        var payload = new byte[1 + 8 + idBytes.Length];
        payload[0] = Format;
        BinaryPrimitives.WriteInt64BigEndian(payload.AsSpan(1, 8), createdAtUtcTicks);
        idBytes.CopyTo(payload, 9);
        return Base64Url.EncodeToString([.. payload, .. Checksum(payload, query)]);
    }

    /// <exception cref="ArgumentException">The token is not one this query produced.</exception>
    public static (long CreatedAtUtcTicks, string Id) Decode(string token, RequestQuery query)
    {
        if (token.Length is 0 or > MaxTokenLength)
        {
            throw Invalid();
        }

        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(token);
        }
        catch (FormatException)
        {
            throw Invalid();
        }

        if (bytes.Length < 1 + 8 + 1 + ChecksumLength || bytes[0] != Format)
        {
            throw Invalid();
        }

        var payload = bytes.AsSpan(0, bytes.Length - ChecksumLength);
        if (!CryptographicOperations.FixedTimeEquals(Checksum(payload, query), bytes.AsSpan(payload.Length)))
        {
            throw Invalid();
        }

        try
        {
            return (BinaryPrimitives.ReadInt64BigEndian(payload[1..9]), StrictUtf8.GetString(payload[9..]));
        }
        catch (DecoderFallbackException)
        {
            throw Invalid();
        }
    }

    private static byte[] Checksum(ReadOnlySpan<byte> payload, RequestQuery query)
    {
        // The filter as part of the checksum: a token only continues the listing it came from.
        var filter = StrictUtf8.GetBytes(
            $"{(query.Status is { } s ? s.WireName() : "")}\n{query.Requester?.ToLowerInvariant()}\n{query.Participant?.ToLowerInvariant()}");
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(payload);
        hash.AppendData(filter);
        return hash.GetHashAndReset()[..ChecksumLength];
    }

    private static ArgumentException Invalid() =>
        new("The continuation token is not valid for this query.", nameof(RequestQuery.ContinuationToken));
}
