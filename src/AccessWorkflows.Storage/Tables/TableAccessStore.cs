using System.Data;
using System.Text.RegularExpressions;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;

namespace AccessWorkflows.Storage.Tables;

/// <summary>
/// Every storage port on Azure Table Storage (SPEC 11 <c>tables</c>): requests with their listing indexes, the audit
/// log, the grant ledger, sandbox IAM users, chat message refs and delivery keys, Teams conversation references.
/// </summary>
/// <remarks>
/// Thread-safe; one instance per deployment is enough, several (in several processes) are safe. Every
/// read-modify-write is optimistic: read the entity with its ETag, apply the change, write with <c>If-Match</c>, and
/// on 412 (another writer got there first) read again and re-apply. Inserts that must happen once (audit events,
/// requests) rely on 409 Conflict. The tables are created on first use. See docs/decisions for the key design.
/// </remarks>
public sealed partial class TableAccessStore
    : IRequestStore, IAuditLog, IGrantLedger, ISandboxIamStore, IMessageRefStore, IConversationStore
{
    /// <summary>Azure Storage's scope for Entra tokens.</summary>
    public const string StorageScope = "https://storage.azure.com/.default";

    /// <summary>How many times a conditional write is retried. Each conflict means another writer succeeded, so
    /// reaching this means pathological contention, not a livelock.</summary>
    private const int MaxConflictRetries = 1000;

    private readonly TableRestClient _client;
    private readonly SemaphoreSlim _tablesGate = new(1, 1);
    private volatile bool _tablesReady;

    public TableAccessStore(TableStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Regex.IsMatch(options.TablePrefix, "^[A-Za-z][A-Za-z0-9]{0,40}$"))
        {
            throw new ArgumentException("The table prefix must start with a letter and hold only letters and digits (at most 41).", nameof(options));
        }

        var clientOptions = new TableClientOptions();
        clientOptions.Retry.Mode = RetryMode.Exponential;
        clientOptions.Retry.MaxRetries = options.MaxRetries;
        clientOptions.Retry.Delay = TimeSpan.FromMilliseconds(200);
        clientOptions.Retry.MaxDelay = TimeSpan.FromSeconds(10);
        clientOptions.Retry.NetworkTimeout = options.NetworkTimeout;

        Uri endpoint;
        HttpPipelinePolicy authentication;
        if (options.ServiceUri is { } serviceUri)
        {
            if (options.ConnectionString is not null)
            {
                throw new ArgumentException("Set either the table service URI (identity) or a connection string (key), not both.", nameof(options));
            }

            endpoint = serviceUri;
            authentication = new BearerTokenAuthenticationPolicy(options.Credential ?? new DefaultAzureCredential(), StorageScope);
        }
        else if (options.ConnectionString is { } connectionString)
        {
            var parsed = TableConnectionString.Parse(connectionString);
            endpoint = parsed.TableEndpoint;
            authentication = new TableSharedKeyPolicy(parsed.AccountName, parsed.AccountKey, options.SharedKeyScheme);
        }
        else
        {
            throw new ArgumentException("The table store needs AccessWorkflows:Tables:ServiceUri or AccessWorkflows:Tables:ConnectionString.", nameof(options));
        }

        _client = new TableRestClient(HttpPipelineBuilder.Build(clientOptions, authentication), endpoint);
        var prefix = options.TablePrefix;
        RequestsTable = prefix + "Requests";
        RequestIndexTable = prefix + "RequestIndex";
        AuditTable = prefix + "Audit";
        AuditByTimeTable = prefix + "AuditByTime";
        GrantsTable = prefix + "Grants";
        SandboxTable = prefix + "SandboxUsers";
        MessageRefsTable = prefix + "MessageRefs";
        DeliveriesTable = prefix + "Deliveries";
        ConversationsTable = prefix + "Conversations";
    }

    internal string RequestsTable { get; }

    internal string RequestIndexTable { get; }

    internal string AuditTable { get; }

    internal string AuditByTimeTable { get; }

    internal string GrantsTable { get; }

    internal string SandboxTable { get; }

    internal string MessageRefsTable { get; }

    internal string DeliveriesTable { get; }

    internal string ConversationsTable { get; }

    /// <summary>Creates the tables now instead of on first use (the server does this at start-up, so a wrong
    /// endpoint or credential shows at once).</summary>
    public async Task EnsureTablesAsync(CancellationToken cancellationToken = default)
    {
        if (_tablesReady)
        {
            return;
        }

        await _tablesGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_tablesReady)
            {
                string[] tables = [RequestsTable, RequestIndexTable, AuditTable, AuditByTimeTable, GrantsTable, SandboxTable, MessageRefsTable, DeliveriesTable, ConversationsTable];
                await Task.WhenAll(tables.Select(t => _client.CreateTableIfNotExistsAsync(t, cancellationToken))).ConfigureAwait(false);
                _tablesReady = true;
            }
        }
        finally
        {
            _tablesGate.Release();
        }
    }

    private async Task<TableRestClient> ClientAsync(CancellationToken cancellationToken)
    {
        await EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        return _client;
    }

    private static DBConcurrencyException TooManyConflicts(string what) =>
        new($"Gave up writing {what} after {MaxConflictRetries} concurrency conflicts.");

    private sealed class TableClientOptions : ClientOptions
    {
    }
}
