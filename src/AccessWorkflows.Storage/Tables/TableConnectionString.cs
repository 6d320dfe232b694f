namespace AccessWorkflows.Storage.Tables;

/// <summary>
/// The parts of an Azure Storage connection string the table store needs: the table endpoint and the shared key.
/// Understands <c>UseDevelopmentStorage=true</c> (Azurite on 127.0.0.1:10002), an explicit <c>TableEndpoint</c>, and
/// <c>DefaultEndpointsProtocol</c> + <c>AccountName</c> + <c>EndpointSuffix</c>.
/// </summary>
internal sealed record TableConnectionString(Uri TableEndpoint, string AccountName, byte[] AccountKey)
{
    /// <summary>Azurite's well-known development account (published in the Azurite and Azure Storage docs; not a secret).</summary>
    public const string DevelopmentAccountName = "devstoreaccount1";

    public const string DevelopmentAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <exception cref="ArgumentException">The string has no account key, or no way to find the table endpoint. The
    /// message never repeats the string (it holds a secret).</exception>
    public static TableConnectionString Parse(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var parts = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var segment in connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = segment.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new ArgumentException("The table storage connection string is malformed (expected key=value pairs).", nameof(connectionString));
            }

            parts[segment[..equals].Trim()] = segment[(equals + 1)..].Trim();
        }

        if (parts.TryGetValue("UseDevelopmentStorage", out var development) && bool.TryParse(development, out var isDevelopment) && isDevelopment)
        {
            var proxy = parts.TryGetValue("DevelopmentStorageProxyUri", out var p) ? new Uri(p) : new Uri("http://127.0.0.1");
            return new TableConnectionString(
                new Uri($"{proxy.Scheme}://{proxy.Host}:10002/{DevelopmentAccountName}"),
                DevelopmentAccountName,
                Convert.FromBase64String(DevelopmentAccountKey));
        }

        if (!parts.TryGetValue("AccountName", out var account) || account.Length == 0)
        {
            throw new ArgumentException("The table storage connection string has no AccountName.", nameof(connectionString));
        }

        if (!parts.TryGetValue("AccountKey", out var keyText) || keyText.Length == 0)
        {
            throw new ArgumentException(
                "The table storage connection string has no AccountKey (shared access signatures are not supported: use a key, or AccessWorkflows:Tables:ServiceUri with an identity).",
                nameof(connectionString));
        }

        byte[] key;
        try
        {
            key = Convert.FromBase64String(keyText);
        }
        catch (FormatException)
        {
            throw new ArgumentException("The AccountKey of the table storage connection string is not base64.", nameof(connectionString));
        }

        Uri endpoint;
        if (parts.TryGetValue("TableEndpoint", out var tableEndpoint) && tableEndpoint.Length > 0)
        {
            endpoint = new Uri(tableEndpoint.TrimEnd('/'));
        }
        else
        {
            var protocol = parts.TryGetValue("DefaultEndpointsProtocol", out var proto) && proto.Length > 0 ? proto : "https";
            var suffix = parts.TryGetValue("EndpointSuffix", out var s) && s.Length > 0 ? s : "core.windows.net";
            endpoint = new Uri($"{protocol}://{account}.table.{suffix}");
        }

        return new TableConnectionString(endpoint, account, key);
    }
}
