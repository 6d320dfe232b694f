using System.Security.Cryptography;
using System.Text;

namespace AccessWorkflows.Durable.Embedded;

/// <summary>Name-based UUIDs (RFC 4122 version 5, SHA-1), as the Durable Task Framework makes them for
/// <c>NewGuid</c>: the same name always gives the same GUID, so replays see the same values.</summary>
internal static class DeterministicGuid
{
    /// <summary>The namespace DTFx uses for orchestration GUIDs.</summary>
    private static readonly Guid Namespace = new("9e952958-5e33-4daf-827f-2fa12937b875");

    public static Guid Create(string name)
    {
        Span<byte> namespaceBytes = stackalloc byte[16];
        Namespace.TryWriteBytes(namespaceBytes, bigEndian: true, out _);
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var input = new byte[16 + nameBytes.Length];
        namespaceBytes.CopyTo(input);
        nameBytes.CopyTo(input, 16);

#pragma warning disable CA5350 // SHA-1 is what RFC 4122 v5 specifies; this is an identifier, not a security hash.
        var hash = SHA1.HashData(input);
#pragma warning restore CA5350
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }
}
