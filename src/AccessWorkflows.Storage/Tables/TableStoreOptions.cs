using Azure.Core;

namespace AccessWorkflows.Storage.Tables;

/// <summary>
/// Where the table store lives and how it authenticates (SPEC 11 <c>AccessWorkflows:Tables:*</c>). Exactly one of
/// <see cref="ServiceUri"/> (Entra: a bearer token for <c>https://storage.azure.com/.default</c> from
/// <see cref="Credential"/>, the deployment's managed identity by default) or <see cref="ConnectionString"/> (account
/// key, e.g. Azurite's development account) is set.
/// </summary>
public sealed class TableStoreOptions
{
    /// <summary>The Table service endpoint, e.g. <c>https://myaccount.table.core.windows.net</c>.</summary>
    public Uri? ServiceUri { get; set; }

    /// <summary>With <see cref="ServiceUri"/>: the identity; null means <c>DefaultAzureCredential</c> (which picks the
    /// user-assigned managed identity named by <c>AZURE_CLIENT_ID</c> in Azure).</summary>
    public TokenCredential? Credential { get; set; }

    /// <summary>An Azure Storage connection string with an account key (never logged).</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Prefix of every table name (letters and digits), so several deployments or test runs can share an
    /// account. The store uses eight tables: <c>{prefix}Requests</c>, <c>{prefix}RequestIndex</c>, …</summary>
    public string TablePrefix { get; set; } = "AccessWorkflows";

    /// <summary>The account-key scheme for <see cref="ConnectionString"/>.</summary>
    public TableSharedKeyScheme SharedKeyScheme { get; set; } = TableSharedKeyScheme.SharedKey;

    /// <summary>Retries of one HTTP call on 408/429/5xx/network failures (Azure.Core exponential backoff).</summary>
    public int MaxRetries { get; set; } = 5;

    /// <summary>How long one HTTP attempt may take before it counts as failed (and is retried).</summary>
    public TimeSpan NetworkTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
