namespace AccessWorkflows.Storage.Tables;

/// <summary>
/// One table entity as this store writes it: keys plus string properties. Every property the store writes is an
/// <c>Edm.String</c> (numbers as invariant digits), so nothing depends on OData type annotations, which the
/// <c>odata=nometadata</c> format leaves out.
/// </summary>
internal sealed class TableEntity
{
    public TableEntity(string partitionKey, string rowKey, string? eTag = null)
    {
        PartitionKey = partitionKey;
        RowKey = rowKey;
        ETag = eTag;
    }

    public string PartitionKey { get; }

    public string RowKey { get; }

    /// <summary>The entity's version as the service last reported it (from the <c>ETag</c> header of a single-entity
    /// read or write); null for entities read by a query.</summary>
    public string? ETag { get; set; }

    public Dictionary<string, string> Properties { get; } = new(StringComparer.Ordinal);

    public string? this[string name]
    {
        get => Properties.TryGetValue(name, out var value) ? value : null;
        set
        {
            if (value is null)
            {
                Properties.Remove(name);
            }
            else
            {
                Properties[name] = value;
            }
        }
    }

    public string Required(string name) =>
        this[name] ?? throw new InvalidDataException($"Table entity {PartitionKey}/{RowKey} has no property {name}.");
}

/// <summary>What a conditional write found.</summary>
internal enum TableWriteOutcome
{
    Done,

    /// <summary>409: the entity (or table) already exists.</summary>
    Conflict,

    /// <summary>412: the entity changed since its ETag was read.</summary>
    PreconditionFailed,

    /// <summary>404: the entity does not exist.</summary>
    NotFound,
}

/// <summary>The result of a write: its outcome and, when done, the entity's new ETag.</summary>
internal readonly record struct TableWriteResult(TableWriteOutcome Outcome, string? ETag = null)
{
    public bool Succeeded => Outcome == TableWriteOutcome.Done;
}

/// <summary>One page of a query and where the next one starts (the service's continuation headers), if any.</summary>
internal sealed record TableQueryPage(IReadOnlyList<TableEntity> Entities, string? NextPartitionKey, string? NextRowKey)
{
    public bool HasMore => NextPartitionKey is not null || NextRowKey is not null;
}
